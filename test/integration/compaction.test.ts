import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { replicaStub } from "../../durable-objects/stubs";
import {
  api,
  createTopic,
  describePartition,
  eventually,
  fault,
  fetchRecords,
  join,
  poll,
  produce,
  readAll,
  replicaViews,
  sendAcrossFailover,
  uniqueGroup,
} from "./helpers";

const leader = (topic: string) => replicaStub(env, topic, 0, 0);
const replica = (topic: string, r: number) => replicaStub(env, topic, 0, r);
const HOUR = 3_600_000;

/** Runs the leader's alarm until the compaction pass under way is done (bounded). */
async function compactNow(stub: ReturnType<typeof leader>) {
  for (let i = 0; i < 20; i++) await runDurableObjectAlarm(stub as unknown as DurableObjectStub);
}

describe("log compaction (cleanup.policy=compact)", () => {
  it("keeps exactly the latest record per key, at its original offset", async () => {
    const topic = await createTopic({ replicationFactor: 1, configs: { "cleanup.policy": "compact" } });
    const sent: { key: string; value: number }[] = [];
    for (let round = 0; round < 5; round++) {
      const records = ["a", "b", "c", "d"]
        .slice(0, 4 - (round % 3))
        .map((key, i) => ({ key, value: round * 10 + i }));
      expect((await produce(topic, records)).status).toBe(200);
      sent.push(...records);
    }
    expect((await produce(topic, [{ key: "z", value: "last" }])).status).toBe(200);
    sent.push({ key: "z", value: "last" as never });
    const before = await readAll(topic, 0);
    expect(before.length).toBe(sent.length);
    await compactNow(leader(topic));
    const after = await readAll(topic, 0);
    // The model: each key's last offset.
    const latest = new Map<string, number>();
    for (const r of before) latest.set(r.key, r.offset);
    expect(after.map((r) => r.offset)).toEqual([...latest.values()].sort((a, b) => a - b));
    for (const r of after) expect(r).toEqual(before.find((b) => b.offset === r.offset));
    // Offsets and the log end are unchanged; new records continue after it.
    const info = await describePartition(topic);
    expect(info).toMatchObject({ logStartOffset: 0, logEndOffset: sent.length, highWatermark: sent.length });
    const next = await produce(topic, [{ key: "a", value: "new" }]);
    expect(next.body.results[0].offset).toBe(sent.length);
  });

  it("a fetch across a compacted gap moves on (never stuck on an empty range); maxRecords counts records", async () => {
    const topic = await createTopic({ replicationFactor: 1, configs: { "cleanup.policy": "compact" } });
    const records = Array.from({ length: 50 }, (_, i) => ({ key: i < 45 ? "same" : `k${i}`, value: i }));
    expect((await produce(topic, records)).status).toBe(200);
    await compactNow(leader(topic));
    const first = await fetchRecords(topic, 0, "offset=0&maxRecords=3");
    expect(first.body.records.map((r: any) => r.offset)).toEqual([44, 45, 46]);
    expect(first.body.nextOffset).toBe(47);
    // Starting inside the compacted range: the read moves on to the next kept record.
    const insideGap = await fetchRecords(topic, 0, "offset=10&maxRecords=3");
    expect(insideGap.body.records.map((r: any) => r.offset)).toEqual([44, 45, 46]);
    expect(insideGap.body.nextOffset).toBe(47);
    const rest = await fetchRecords(topic, 0, "offset=47&maxRecords=100");
    expect(rest.body.records.map((r: any) => r.offset)).toEqual([47, 48, 49]);
    expect(rest.body.nextOffset).toBe(50);
    // A group consumer reads through the gaps too.
    const group = uniqueGroup();
    const member = await join(group, { topics: [topic], autoOffsetReset: "earliest" });
    const polled = await poll(group, member.memberId, "maxRecords=100");
    expect(polled.body.records.map((r: any) => r.offset)).toEqual([44, 45, 46, 47, 48, 49]);
  });

  it("removes a tombstone only after delete.retention.ms, and the older values of its key with it", async () => {
    const topic = await createTopic({
      replicationFactor: 1,
      configs: { "cleanup.policy": "compact", "delete.retention.ms": HOUR },
    });
    const old = Date.now() - 2 * HOUR;
    expect(
      (
        await produce(topic, [
          { key: "gone", value: 1, timestamp: old },
          { key: "kept", value: 1 },
        ])
      ).status,
    ).toBe(200);
    expect(
      (
        await produce(topic, [
          { key: "gone", value: null, timestamp: old + 1 },
          { key: "fresh", value: null },
        ])
      ).status,
    ).toBe(200);
    expect((await produce(topic, [{ key: "tail", value: "end" }])).status).toBe(200);
    await compactNow(leader(topic));
    // "gone": its value is superseded, its tombstone is older than delete.retention.ms. "fresh": a recent tombstone stays.
    expect((await readAll(topic, 0)).map((r) => [r.key, r.value])).toEqual([
      ["kept", 1],
      ["fresh", null],
      ["tail", "end"],
    ]);
  });

  it("compact,delete also deletes by retention; compact alone does not", async () => {
    const compactOnly = await createTopic({
      replicationFactor: 1,
      configs: { "cleanup.policy": "compact", "retention.ms": HOUR },
    });
    const both = await createTopic({
      replicationFactor: 1,
      configs: { "cleanup.policy": "compact,delete", "retention.ms": HOUR },
    });
    const old = Date.now() - 2 * HOUR;
    for (const t of [compactOnly, both]) {
      expect((await produce(t, [{ key: "a", value: 1, timestamp: old }])).status).toBe(200);
      expect((await produce(t, [{ key: "b", value: 2 }])).status).toBe(200);
      await compactNow(leader(t));
    }
    expect((await readAll(compactOnly, 0)).map((r) => r.key)).toEqual(["a", "b"]);
    const kept = await fetchRecords(both, 0, "offset=earliest");
    expect(kept.body.records.map((r: any) => r.key)).toEqual(["b"]);
    expect((await describePartition(both)).logStartOffset).toBe(1);
  });

  it("refuses keyless records on a compacted topic with INVALID_RECORD, appending nothing", async () => {
    const topic = await createTopic({
      replicationFactor: 1,
      partitions: 2,
      configs: { "cleanup.policy": "compact" },
    });
    const res = await produce(topic, [{ key: "a", value: 1 }, { value: 2 }]);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("INVALID_RECORD");
    expect(
      (await api("GET", `/v1/topics/${topic}`)).body.partitionInfo.map((p: any) => p.logEndOffset),
    ).toEqual([0, 0]);
  });

  it("a compacted log reaches a lagging replica with its gaps; every replica compacts to the same records", async () => {
    const topic = await createTopic({
      replicationFactor: 3,
      configs: { "cleanup.policy": "compact", "min.insync.replicas": 2 },
    });
    await fault(topic, 0, 2, "fail");
    for (let round = 0; round < 4; round++)
      expect(
        (
          await produce(
            topic,
            ["a", "b", "c"].map((key) => ({ key, value: round })),
            "all",
          )
        ).status,
      ).toBe(200);
    expect((await produce(topic, [{ key: "end", value: 0 }], "all")).status).toBe(200);
    await compactNow(leader(topic));
    const compacted = await readAll(topic, 0);
    expect(compacted.map((r) => r.offset)).toEqual([9, 10, 11, 12]);
    // Replica 2 was down: it is caught up from the compacted leader log (records at their offsets).
    await fault(topic, 0, 2, "none");
    await eventually(
      () => describePartition(topic),
      (p) => p.isr.length === 3,
    );
    for (const r of [1, 2]) await compactNow(replica(topic, r));
    const views = await replicaViews(topic, 0);
    for (const v of views) expect(v).toMatchObject({ logEndOffset: 13 });
    // Fail the leader: the new one serves the same compacted records at the same offsets.
    await fault(topic, 0, 0, "fail");
    const res = await sendAcrossFailover(() => produce(topic, [{ key: "a", value: "after" }], "all"));
    expect(res.body.results[0].offset).toBe(13);
    const served = await readAll(topic, 0);
    expect(served.slice(0, 4)).toEqual(compacted);
    await fault(topic, 0, 0, "none");
  });

  it("readers see a consistent log while a pass runs in steps", async () => {
    const topic = await createTopic({ replicationFactor: 1, configs: { "cleanup.policy": "compact" } });
    const keys = 20;
    for (let round = 0; round < 3; round++) {
      const records = Array.from({ length: 5_000 }, (_, i) => ({
        key: `k${i % keys}`,
        value: round * 5000 + i,
      }));
      expect((await produce(topic, records)).status).toBe(200);
    }
    // Between steps, every key still has its latest value and offsets only ever grow.
    for (let step = 0; step < 4; step++) {
      await runDurableObjectAlarm(leader(topic));
      const all = await readAll(topic, 0);
      const byKey = new Map<string, number>();
      let last = -1;
      for (const r of all) {
        expect(r.offset).toBeGreaterThan(last);
        last = r.offset;
        byKey.set(r.key, r.value);
      }
      for (let k = 0; k < keys; k++) expect(byKey.get(`k${k}`)).toBe(10_000 + 4_980 + k);
    }
    await compactNow(leader(topic));
    expect((await readAll(topic, 0)).length).toBe(keys);
  });
});
