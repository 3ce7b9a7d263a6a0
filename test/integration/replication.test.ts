import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { replicaStub, topicRegistry } from "../../durable-objects/stubs";
import {
  api,
  createTopic,
  describePartition,
  eventually,
  fault,
  fetchRecords,
  produce,
  readAll,
  replicaViews,
  sendAcrossFailover,
} from "./helpers";

/** RF 3, min.insync 2, short timeouts so that the tests are quick. */
const REPLICATED = {
  replicationFactor: 3,
  configs: { "min.insync.replicas": 2, "replica.lag.time.max.ms": 1000, "replica.ack.timeout.ms": 1500 },
};

/** A long lag time: a follower leaves the ISR only because its calls fail, not for lagging. */
const SLOW_TO_SHRINK = {
  replicationFactor: 3,
  configs: { "min.insync.replicas": 2, "replica.lag.time.max.ms": 60_000, "replica.ack.timeout.ms": 1500 },
};

/** The ISR the registry holds for partition 0 (what an election asks). */
const registryIsr = (topic: string) =>
  runInDurableObject(
    topicRegistry(env),
    (_instance, state) =>
      state.storage.sql
        .exec<{ isr: string }>("SELECT isr FROM partitions WHERE topic = ? AND partition = 0", topic)
        .one().isr,
  );

const values = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ value: `${tag}-${i}` }));

describe("acks=all", () => {
  it("with every replica healthy: acknowledged once two copies exist, and all three replicas hold the log", async () => {
    const topic = await createTopic(REPLICATED);
    for (let i = 0; i < 5; i++) expect((await produce(topic, values(10, `r${i}`), "all")).status).toBe(200);
    const views = await eventually(
      () => replicaViews(topic, 0),
      (v) => v.every((r: any) => r?.logEndOffset === 50),
    );
    expect(views.map((r: any) => r.logEndOffset)).toEqual([50, 50, 50]);
    const info = await describePartition(topic);
    expect(info).toMatchObject({
      leader: 0,
      leaderEpoch: 0,
      isr: [0, 1, 2],
      highWatermark: 50,
      logEndOffset: 50,
    });
    expect((await readAll(topic, 0)).map((r) => r.value)).toEqual(
      [0, 1, 2, 3, 4].flatMap((i) => values(10, `r${i}`).map((v) => v.value)),
    );
  });

  it("with one of three replicas down: succeeds (min.insync 2) and the ISR shrinks to two", async () => {
    const topic = await createTopic(REPLICATED);
    await fault(topic, 0, 2, "fail");
    for (let i = 0; i < 5; i++) {
      const res = await produce(topic, values(3, `x${i}`), "all");
      expect(res.status).toBe(200);
    }
    expect((await describePartition(topic)).isr).toEqual([0, 1]);
    expect((await readAll(topic, 0)).length).toBe(15);
  });

  it("with two of three replicas down: NOT_ENOUGH_REPLICAS, and nothing becomes visible", async () => {
    const topic = await createTopic(REPLICATED);
    expect((await produce(topic, values(2, "before"), "all")).status).toBe(200);
    await fault(topic, 0, 1, "fail");
    await fault(topic, 0, 2, "fail");
    const codes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await produce(topic, values(2, `down${i}`), "all");
      expect(res.status).toBe(503);
      codes.push(res.body.results[0].error.code);
    }
    // The first request finds the ISR whole, appends, then loses it; later ones are refused up front.
    expect(["NOT_ENOUGH_REPLICAS_AFTER_APPEND", "NOT_ENOUGH_REPLICAS"]).toContain(codes[0]);
    expect(codes.slice(1)).toEqual(["NOT_ENOUGH_REPLICAS", "NOT_ENOUGH_REPLICAS", "NOT_ENOUGH_REPLICAS"]);
    const info = await describePartition(topic);
    expect(info.isr).toEqual([0]);
    const fetched = await fetchRecords(topic, 0, "offset=0");
    expect(fetched.body.records.map((r: any) => r.value)).toEqual(["before-0", "before-1"]);
    // Refused requests appended nothing: at most the first request's two records are in the log.
    expect(info.logEndOffset).toBe(codes[0] === "NOT_ENOUGH_REPLICAS" ? 2 : 4);
    expect(info.highWatermark).toBe(2);
  });
});

describe("ISR management by alarms", () => {
  it("a replica that comes back is caught up by the alarm and rejoins the ISR; held records become visible", async () => {
    const topic = await createTopic(REPLICATED);
    await fault(topic, 0, 1, "fail");
    await fault(topic, 0, 2, "fail");
    const first = await produce(topic, values(3, "held"), "all");
    expect(first.status).toBe(503);
    // acks=1 is still appended (not readable until two copies exist).
    expect((await produce(topic, values(2, "one"), "1")).status).toBe(200);
    expect((await fetchRecords(topic, 0, "offset=0")).body).toMatchObject({ records: [], highWatermark: 0 });
    await fault(topic, 0, 1, "none");
    await fault(topic, 0, 2, "none");
    const info = await eventually(
      () => describePartition(topic),
      (p) => p.isr.length === 3,
    );
    expect(info.isr).toEqual([0, 1, 2]);
    const views = await replicaViews(topic, 0);
    expect(views.map((r: any) => r.logEndOffset)).toEqual([
      info.logEndOffset,
      info.logEndOffset,
      info.logEndOffset,
    ]);
    expect(info.highWatermark).toBe(info.logEndOffset);
    expect((await produce(topic, values(1, "after"), "all")).status).toBe(200);
  });

  it("a hung replica leaves the ISR after replica.lag.time.max.ms without blocking acks=all (quorum of 2)", async () => {
    const topic = await createTopic(REPLICATED);
    await fault(topic, 0, 2, "hang");
    // 200, not 504 REQUEST_TIMED_OUT: replicas 0 and 1 suffice, nobody waits for the hung one (no timing bound:
    // how fast this machine is says nothing about correctness; the bench measures speed).
    expect((await produce(topic, values(5, "a"), "all")).status).toBe(200);
    const info = await eventually(
      () => describePartition(topic),
      (p) => !p.isr.includes(2),
    );
    expect(info.isr).toEqual([0, 1]);
    await fault(topic, 0, 2, "none");
    expect(
      (
        await eventually(
          () => describePartition(topic),
          (p) => p.isr.length === 3,
        )
      ).isr,
    ).toEqual([0, 1, 2]);
  });

  it("during replication lag no fetch returns a record above the high watermark", async () => {
    const topic = await createTopic(REPLICATED);
    expect((await produce(topic, values(4, "ok"), "all")).status).toBe(200);
    await fault(topic, 0, 1, "hang");
    await fault(topic, 0, 2, "hang");
    // acks=1 appends at the leader; with both followers hung (then out of the ISR) the high watermark cannot move.
    expect((await produce(topic, values(6, "lag"), "1")).status).toBe(200);
    const reader = async () => {
      for (let i = 0; i < 20; i++) {
        const res = await fetchRecords(topic, 0, "offset=0");
        expect(res.body.highWatermark).toBe(4);
        expect(res.body.records.map((r: any) => r.offset)).toEqual([0, 1, 2, 3]);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    await Promise.all([reader(), reader()]);
    expect((await describePartition(topic)).logEndOffset).toBe(10);
    // A long-poll parked at the high watermark is woken when the followers return and catch up.
    const waiting = fetchRecords(topic, 0, "offset=4&waitMs=15000");
    await fault(topic, 0, 1, "none");
    await fault(topic, 0, 2, "none");
    const after = await waiting;
    expect(after.body.records.map((r: any) => r.value)).toEqual(values(6, "lag").map((v) => v.value));
    for (const r of after.body.records) expect(r.offset).toBeLessThan(after.body.highWatermark);
  });
});

describe("object resets and visibility", () => {
  it("a reset leader or follower restarts from its SQLite and replication goes on", async () => {
    const topic = await createTopic(REPLICATED);
    expect((await produce(topic, values(3, "a"), "all")).status).toBe(200);
    await fault(topic, 0, 0, "reset"); // the leader loses its memory: offsets, ISR view, follower progress
    // The restarted leader probes its followers before two copies are known again.
    const after = await produce(topic, values(3, "b"), "all");
    expect(after.status).toBe(200);
    expect(after.body.results.map((r: any) => r.offset)).toEqual([3, 4, 5]);
    await fault(topic, 0, 1, "reset");
    expect((await produce(topic, values(3, "c"), "all")).status).toBe(200);
    const info = await eventually(
      () => describePartition(topic),
      (p) => p.isr.length === 3 && p.highWatermark === 9,
    );
    expect(info).toMatchObject({
      leader: 0,
      leaderEpoch: 0,
      isr: [0, 1, 2],
      highWatermark: 9,
      logEndOffset: 9,
    });
    expect((await readAll(topic, 0)).map((r) => r.value)).toEqual(
      ["a", "b", "c"].flatMap((tag) => values(3, tag).map((v) => v.value)),
    );
  });

  it("/metrics shows the ISR size and flags the partition under-replicated while a replica is out", async () => {
    const topic = await createTopic(REPLICATED);
    await fault(topic, 0, 1, "fail");
    expect((await produce(topic, values(1, "m"), "all")).status).toBe(200);
    const labels = `{topic="${topic}",partition="0"}`;
    const sample = (text: string, name: string) =>
      Number(
        text
          .split("\n")
          .find((l) => l.startsWith(`${name}${labels} `))
          ?.split(" ")[1],
      );
    const degraded = (await api("GET", "/metrics")).text;
    expect(sample(degraded, "edgelog_partition_isr_size")).toBe(2);
    expect(sample(degraded, "edgelog_partition_under_replicated")).toBe(1);
    await fault(topic, 0, 1, "none");
    await eventually(
      () => describePartition(topic),
      (p) => p.isr.length === 3,
    );
    const healed = (await api("GET", "/metrics")).text;
    expect(sample(healed, "edgelog_partition_isr_size")).toBe(3);
    expect(sample(healed, "edgelog_partition_under_replicated")).toBe(0);
  });
});

describe("leader failover", () => {
  it("elects a new leader from the ISR; offsets continue densely; the old leader truncates and rejoins", async () => {
    const topic = await createTopic(REPLICATED);
    const acked: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await produce(topic, values(5, `e0-${i}`), "all");
      expect(res.status).toBe(200);
      acked.push(...values(5, `e0-${i}`).map((v) => v.value));
    }
    // The leader stores a batch but fails before replicating it: an unacknowledged suffix only it has.
    await fault(topic, 0, 0, "failAfterCommit");
    const lost = await produce(topic, values(4, "unacked"), "all");
    expect(lost.status).toBe(503);
    expect(lost.body.results[0].error.code).toBe("LEADER_NOT_AVAILABLE");
    await fault(topic, 0, 0, "fail");
    // The next produce finds the old leader unreachable, the registry elects replica 1 or 2 with epoch 1.
    const res = await sendAcrossFailover(() => produce(topic, values(5, "e1-a"), "all"));
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: any) => r.offset)).toEqual([15, 16, 17, 18, 19]);
    acked.push(...values(5, "e1-a").map((v) => v.value));
    const info = await describePartition(topic);
    expect(info.leader).not.toBe(0);
    expect(info.leaderEpoch).toBe(1);
    expect((await readAll(topic, 0)).map((r) => r.value)).toEqual(acked);

    // The old leader comes back: its unacknowledged suffix is truncated and it catches up.
    await fault(topic, 0, 0, "none");
    const healed = await eventually(
      () => describePartition(topic),
      (p) => p.isr.length === 3,
    );
    expect(healed.isr).toEqual([0, 1, 2]);
    const views = await replicaViews(topic, 0);
    expect(views[0]).toMatchObject({ leader: info.leader, leaderEpoch: 1, logEndOffset: 20 });
    expect((await readAll(topic, 0)).map((r) => r.value)).toEqual(acked);

    // And it can lead again with every acknowledged record: fail the new leader.
    await fault(topic, 0, info.leader, "fail");
    const again = await sendAcrossFailover(() => produce(topic, values(1, "e2"), "all"));
    expect(again.status).toBe(200);
    expect(again.body.results[0].offset).toBe(20);
    acked.push("e2-0");
    expect((await readAll(topic, 0)).map((r) => r.value)).toEqual(acked);
    expect((await describePartition(topic)).leaderEpoch).toBe(2);
    await fault(topic, 0, info.leader, "none");
  });

  it("answers LEADER_NOT_AVAILABLE when no in-sync replica is reachable (no unclean election)", async () => {
    const topic = await createTopic(REPLICATED);
    expect((await produce(topic, values(1, "x"), "all")).status).toBe(200);
    for (const r of [0, 1, 2]) await fault(topic, 0, r, "fail");
    const res = await produce(topic, values(1, "y"), "all");
    expect(res.status).toBe(503);
    expect(res.body.results[0].error.code).toBe("LEADER_NOT_AVAILABLE");
    const fetched = await fetchRecords(topic, 0, "offset=0");
    expect(fetched.status).toBe(503);
    expect(fetched.body.error.code).toBe("LEADER_NOT_AVAILABLE");
    for (const r of [0, 1, 2]) await fault(topic, 0, r, "none");
    expect((await readAll(topic, 0)).map((r) => r.value)).toEqual(["x-0"]);
  });

  it("a follower holding acknowledged records the rest lack stays in the ISR, so an election waits for it (found by the chaos checker)", async () => {
    const topic = await createTopic(SLOW_TO_SHRINK);
    expect((await produce(topic, values(2, "all-three"), "all")).status).toBe(200);
    // Replica 2 hangs (in the ISR, lacking what follows); the leader and replica 1 acknowledge.
    await fault(topic, 0, 2, "hang");
    expect((await produce(topic, values(3, "two-copies"), "all")).status).toBe(200);
    // Replica 1 fails: dropping it would leave the acknowledged records on the leader alone.
    await fault(topic, 0, 1, "fail");
    expect((await produce(topic, values(1, "leader-only"), "all")).status).not.toBe(200);
    expect(await registryIsr(topic)).toBe("[0,1,2]");
    // The leader fails too and replica 2 answers again, without the acknowledged records: no election yet.
    await fault(topic, 0, 0, "fail");
    await fault(topic, 0, 2, "none");
    const refused = await produce(topic, values(1, "during"), "all");
    expect(refused.status).toBe(503);
    expect(refused.body.results[0].error.code).toBe("LEADER_NOT_AVAILABLE");
    // Replica 1 returns: it is elected (or the leader keeps leading), and every acknowledged record is there.
    await fault(topic, 0, 1, "none");
    await fault(topic, 0, 0, "none");
    const after = await sendAcrossFailover(() => produce(topic, values(1, "after"), "all"));
    expect(after.status).toBe(200);
    const log = (await readAll(topic, 0)).map((r) => r.value);
    expect(log.slice(0, 5)).toEqual(
      [...values(2, "all-three"), ...values(3, "two-copies")].map((v) => v.value),
    );
  });

  it("does not elect an answering follower that may lack acknowledged records while another does not answer (found by the chaos checker)", async () => {
    // A long lag time: replica 2 stays in the ISR while its calls hang.
    const topic = await createTopic(SLOW_TO_SHRINK);
    expect((await produce(topic, values(2, "both"), "all")).status).toBe(200);
    await fault(topic, 0, 2, "hang");
    // Acknowledged by the leader and replica 1 (min.insync.replicas = 2); replica 2 never gets them.
    expect((await produce(topic, values(3, "two-copies"), "all")).status).toBe(200);
    // The leader and replica 1 fail; replica 2 answers again (its hung call fails: it leaves the ISR).
    await fault(topic, 0, 0, "fail");
    await fault(topic, 0, 1, "fail");
    await fault(topic, 0, 2, "none");
    expect(
      await eventually(
        () => registryIsr(topic),
        (isr) => isr === "[0,1]",
      ),
    ).toBe("[0,1]");
    // The registry still lists replica 2, as when the leader restarted before it could report the
    // shrink: an election must not trust that list to hold the acknowledged records.
    await runInDurableObject(topicRegistry(env), (_instance, state) => {
      state.storage.sql.exec(
        "UPDATE partitions SET isr = '[0,1,2]' WHERE topic = ? AND partition = 0",
        topic,
      );
    });
    const refused = await produce(topic, values(1, "during"), "all");
    expect(refused.status).toBe(503);
    expect(refused.body.results[0].error.code).toBe("LEADER_NOT_AVAILABLE");
    expect(refused.body.results[0].error.message).toContain(
      "1 of the 2 other in-sync replicas answered (2 needed",
    );
    // Replica 1 answers again: it is elected, and every acknowledged record is there.
    await fault(topic, 0, 1, "none");
    const after = await sendAcrossFailover(() => produce(topic, values(1, "after"), "all"));
    expect(after.status).toBe(200);
    expect((await describePartition(topic)).leader).toBe(1);
    const log = (await readAll(topic, 0)).map((r) => r.value);
    expect(log.slice(0, 5)).toEqual([...values(2, "both"), ...values(3, "two-copies")].map((v) => v.value));
    await fault(topic, 0, 0, "none");
  });
});

describe("group reads above a lagging high watermark (found by the chaos checker)", () => {
  it("a group position between the high watermark and the log end reads nothing yet; a plain fetch there is 416", async () => {
    const topic = await createTopic(REPLICATED);
    expect((await produce(topic, values(2, "both"), "all")).status).toBe(200);
    // Both followers hang: acks=1 records go past the high watermark (as on a newly elected leader).
    await fault(topic, 0, 1, "hang");
    await fault(topic, 0, 2, "hang");
    expect((await produce(topic, values(3, "leader-only"), "1")).status).toBe(200);
    const info = await describePartition(topic);
    expect(info.highWatermark).toBe(2);
    expect(info.logEndOffset).toBe(5);
    const leader = replicaStub(env, topic, 0, 0);
    const { topicId, leaderEpoch } = await runInDurableObject(leader, (instance: unknown) => {
      const state = (instance as { log: { state: { topicId: string; leaderEpoch: number } } }).log.state;
      return { topicId: state.topicId, leaderEpoch: state.leaderEpoch };
    });
    const read = await leader.fetchForConsumer({
      topicId,
      leaderEpoch,
      position: { kind: "offset", offset: 4 },
      maxRecords: 10,
      maxBytes: 1_000_000,
      waitMs: 0,
    });
    expect(read).toMatchObject({
      ok: true,
      value: { records: "", count: 0, nextOffset: 4, highWatermark: 2, logStartOffset: 0 },
    });
    expect((await fetchRecords(topic, 0, "offset=4")).status).toBe(416);
    // Past the log end it is still out of range (a re-created topic, a truncated log).
    const beyond = await leader.fetchForConsumer({
      topicId,
      leaderEpoch,
      position: { kind: "offset", offset: 6 },
      maxRecords: 10,
      maxBytes: 1_000_000,
      waitMs: 0,
    });
    expect(beyond.ok ? null : beyond.error.code).toBe("OFFSET_OUT_OF_RANGE");
    await fault(topic, 0, 1, "none");
    await fault(topic, 0, 2, "none");
  });
});
