import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  api,
  commit,
  createTopic,
  describePartition,
  eventually,
  fault,
  fetchRecords,
  join,
  poll,
  produce,
  replicaViews,
  uniqueGroup,
} from "./helpers";

const leader = (topic: string) => env.PREFERRED_REPLICA.get(env.PREFERRED_REPLICA.idFromName(`${topic}/0`));
const HOUR = 3_600_000;

describe("retention by alarm", () => {
  it("retention.ms deletes exactly the batches older than it; offsets are never reused", async () => {
    const topic = await createTopic();
    const old = Date.now() - 2 * HOUR;
    expect(
      (
        await produce(
          topic,
          Array.from({ length: 5 }, (_, i) => ({ value: `old-${i}`, timestamp: old + i })),
        )
      ).status,
    ).toBe(200);
    expect(
      (
        await produce(
          topic,
          Array.from({ length: 5 }, (_, i) => ({ value: `new-${i}` })),
        )
      ).status,
    ).toBe(200);
    // Nothing expires under the default 7 days.
    await runDurableObjectAlarm(leader(topic));
    expect((await describePartition(topic)).logStartOffset).toBe(0);
    // PATCH takes effect at the next alarm.
    expect((await api("PATCH", `/v1/topics/${topic}`, { configs: { "retention.ms": HOUR } })).status).toBe(
      200,
    );
    await runDurableObjectAlarm(leader(topic));
    expect(await describePartition(topic)).toMatchObject({
      logStartOffset: 5,
      logEndOffset: 10,
      highWatermark: 10,
    });
    const below = await fetchRecords(topic, 0, "offset=4");
    expect(below.status).toBe(416);
    expect(below.body.error).toMatchObject({
      code: "OFFSET_OUT_OF_RANGE",
      logStartOffset: 5,
      highWatermark: 10,
    });
    const earliest = await fetchRecords(topic, 0, "offset=earliest");
    expect(earliest.body.records.map((r: any) => r.value)).toEqual([
      "new-0",
      "new-1",
      "new-2",
      "new-3",
      "new-4",
    ]);
    expect((await fetchRecords(topic, 0, "timestamp=0")).body.records[0].offset).toBe(5);
    expect((await produce(topic, [{ value: "after" }])).body.results[0].offset).toBe(10);
  });

  it("retention.bytes keeps the newest batches that fit", async () => {
    const topic = await createTopic();
    // Each record: a 100-byte JSON value + "{}" headers = 102 bytes; one record a batch.
    for (let i = 0; i < 10; i++) expect((await produce(topic, [{ value: "x".repeat(98) }])).status).toBe(200);
    expect((await api("PATCH", `/v1/topics/${topic}`, { configs: { "retention.bytes": 350 } })).status).toBe(
      200,
    );
    await runDurableObjectAlarm(leader(topic));
    expect(await describePartition(topic)).toMatchObject({ logStartOffset: 7, logEndOffset: 10 });
  });

  it("deletes in bounded steps of 10,000 records, and alarms finish the job", async () => {
    const bounded = await createTopic({ configs: { "retention.ms": -1 } }); // no alarm interferes here
    for (let i = 0; i < 3; i++)
      expect(
        (
          await produce(
            bounded,
            Array.from({ length: 6000 }, () => ({ value: 1 })),
          )
        ).status,
      ).toBe(200);
    const step = () =>
      runInDurableObject(leader(bounded), (instance, state) => {
        // The same step the retention alarm takes, on the log itself.
        (
          instance as unknown as { cleanup: { deleteBelow(offset: number, rowsMax: number): void } }
        ).cleanup.deleteBelow(18_000, 10_000);
        return state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM log").one().n;
      });
    expect(await step()).toBe(8_000);
    expect(await step()).toBe(0);

    const topic = await createTopic({ configs: { "retention.ms": HOUR } });
    const old = Date.now() - 2 * HOUR;
    for (let i = 0; i < 3; i++)
      expect(
        (
          await produce(
            topic,
            Array.from({ length: 6000 }, () => ({ value: 1, timestamp: old })),
          )
        ).status,
      ).toBe(200);
    await produce(topic, [{ value: "kept" }]);
    await runDurableObjectAlarm(leader(topic));
    expect((await describePartition(topic)).logStartOffset).toBe(18_000);
    const rows = await eventually(
      () =>
        runInDurableObject(
          leader(topic),
          (_i, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM log").one().n,
        ),
      (n) => n === 1,
    );
    expect(rows).toBe(1);
    expect((await fetchRecords(topic, 0, "offset=earliest")).body.records.map((r: any) => r.value)).toEqual([
      "kept",
    ]);
  });

  it("never passes the high watermark: records not yet replicated do not expire", async () => {
    const topic = await createTopic({
      replicationFactor: 3,
      configs: { "min.insync.replicas": 2, "replica.lag.time.max.ms": 1000, "replica.ack.timeout.ms": 1000 },
    });
    const old = Date.now() - 2 * HOUR;
    expect((await produce(topic, [{ value: "a", timestamp: old }], "all")).status).toBe(200);
    await fault(topic, 0, 1, "fail");
    await fault(topic, 0, 2, "fail");
    expect((await produce(topic, [{ value: "b", timestamp: old }], "1")).status).toBe(200); // stored, not replicated
    await api("PATCH", `/v1/topics/${topic}`, { configs: { "retention.ms": HOUR } });
    await runDurableObjectAlarm(leader(topic));
    expect(await describePartition(topic)).toMatchObject({
      logStartOffset: 1,
      highWatermark: 1,
      logEndOffset: 2,
    });
    await fault(topic, 0, 1, "none");
    await fault(topic, 0, 2, "none");
    // Once the high watermark covers it, the expired record goes too (the held-back retention retries by itself).
    const healed = await eventually(
      () => describePartition(topic),
      (p) => p.highWatermark === 2 && p.logStartOffset === 2,
    );
    expect(healed).toMatchObject({ highWatermark: 2, logStartOffset: 2 });
    // Followers delete below the leader's logStartOffset too.
    await produce(topic, [{ value: "c" }], "all");
    const views = await eventually(
      () => replicaViews(topic, 0),
      (v) => v.every((r: any) => r?.logStartOffset === 2),
    );
    expect(views.map((r: any) => r.logStartOffset)).toEqual([2, 2, 2]);
  });

  it("a replica that was down while retention ran catches up from logStartOffset, records at their offsets", async () => {
    const topic = await createTopic({
      replicationFactor: 3,
      configs: { "min.insync.replicas": 2, "replica.lag.time.max.ms": 1000, "replica.ack.timeout.ms": 1000 },
    });
    await fault(topic, 0, 2, "fail");
    const old = Date.now() - 2 * HOUR;
    expect(
      (
        await produce(
          topic,
          [0, 1, 2].map((i) => ({ value: `old-${i}`, timestamp: old })),
          "all",
        )
      ).status,
    ).toBe(200);
    expect((await produce(topic, [{ value: "new-0" }, { value: "new-1" }], "all")).status).toBe(200);
    await api("PATCH", `/v1/topics/${topic}`, { configs: { "retention.ms": HOUR } });
    await runDurableObjectAlarm(leader(topic));
    expect((await describePartition(topic)).logStartOffset).toBe(3);
    await fault(topic, 0, 2, "none");
    await eventually(
      () => describePartition(topic),
      (p) => p.isr.includes(2),
    );
    const replica2 = env.SECONDARY_REPLICA.get(env.SECONDARY_REPLICA.idFromName(`${topic}/0/r2`));
    const rows = await runInDurableObject(replica2, (_i, state) =>
      state.storage.sql
        .exec<{ offset: number; value: string }>('SELECT "offset", value FROM log ORDER BY "offset"')
        .toArray(),
    );
    expect(rows).toEqual([
      { offset: 3, value: '"new-0"' },
      { offset: 4, value: '"new-1"' },
    ]);
    expect((await replicaViews(topic, 0))[2]).toMatchObject({ logStartOffset: 3, logEndOffset: 5 });
  });

  it("a group whose committed offset expired resets per its autoOffsetReset", async () => {
    const topic = await createTopic();
    const old = Date.now() - 2 * HOUR;
    await produce(
      topic,
      Array.from({ length: 4 }, (_, i) => ({ value: `old-${i}`, timestamp: old })),
    );
    await produce(topic, [{ value: "fresh" }]);
    const group = uniqueGroup();
    const m = await join(group, { topics: [topic], autoOffsetReset: "earliest" });
    expect((await commit(group, m.memberId, m.generation, [{ topic, partition: 0, offset: 2 }])).status).toBe(
      200,
    );
    await api("DELETE", `/v1/groups/${group}/members/${m.memberId}`);
    await api("PATCH", `/v1/topics/${topic}`, { configs: { "retention.ms": HOUR } });
    await runDurableObjectAlarm(leader(topic));
    const n = await join(group, { topics: [topic], autoOffsetReset: "earliest" });
    expect((await poll(group, n.memberId)).body.records.map((r: any) => r.value)).toEqual(["fresh"]);
  });
});
