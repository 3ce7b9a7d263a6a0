import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Result } from "../../core/errors";
import { encodeAppendChunks } from "../../core/record-codec";
import type { TransactionMarker } from "../../core/transaction-coordinator";
import type { AppendInfo } from "../../durable-objects/contract";
import type { Partition } from "../../durable-objects/partition";
import { replicaStub } from "../../durable-objects/stubs";
import {
  createTopic,
  describePartition,
  eventually,
  fault,
  fetchRecords,
  produce,
  replicaViews,
  restartObject,
  sendAcrossFailover,
  values,
} from "./helpers";

/**
 * Transactions inside a partition (the coordinator's side comes with the
 * transactions routes): transactional appends and markers sent straight to the
 * leader, reads through the gateway with both isolation levels.
 */

/** Calls the current leader of partition 0 inside its object, with its topic id and epoch. */
async function atLeader<T>(
  topic: string,
  call: (p: Partition, topicId: string, leaderEpoch: number) => Promise<T>,
) {
  const { leader } = await describePartition(topic);
  return runInDurableObject(
    replicaStub(env, topic, 0, leader),
    async (instance: unknown, state: DurableObjectState) => {
      const row = state.storage.sql.exec("SELECT topic_id, leader_epoch FROM partition_state").one();
      return call(instance as Partition, String(row.topic_id), Number(row.leader_epoch));
    },
  );
}

/** The records' timestamp: now, so that retention.ms (7 days by default) never deletes them mid-test. */
const NOW = Date.now();

const sequences = new Map<string, number>();

/**
 * Appends `n` records of a producer at acks=all: in its transaction `transaction`
 * (the coordinator's number), or a plain idempotent append (null); with the next
 * sequence, unless given.
 */
function append(
  topic: string,
  producerId: string,
  epoch: number,
  tag: string,
  n: number,
  transaction: number | null = 1,
  sequence = sequences.get(producerId) ?? 0,
) {
  sequences.set(producerId, sequence + 1);
  const records = Array.from({ length: n }, (_, i) => ({
    key: null,
    valueJson: JSON.stringify(`${tag}-${i}`),
    valueBase64: null,
    headersJson: "{}",
    sizeBytes: 8,
  }));
  return atLeader<Result<AppendInfo>>(topic, (p, topicId, leaderEpoch) =>
    p.append({
      topicId,
      leaderEpoch,
      chunks: encodeAppendChunks(
        records,
        records.map(() => NOW),
      ),
      maxTimestamp: NOW,
      acks: "all",
      producer: { id: producerId, epoch, sequence },
      transactionNumber: transaction ?? undefined,
    }),
  );
}

/** A coordinator's marker, of transaction 1 unless `number` says otherwise. */
function marker(
  topic: string,
  producerId: string,
  m: Omit<TransactionMarker, "number"> & { number?: number },
) {
  return atLeader(topic, (p, topicId, leaderEpoch) =>
    p.writeMarker({ topicId, leaderEpoch, producerId, marker: { number: 1, ...m } }),
  );
}

/** Every record a reader gets from offset 0 with an isolation level, and the answer's offsets. */
async function read(topic: string, isolation: string) {
  const res = await fetchRecords(topic, 0, `offset=0&maxRecords=1000&isolation=${isolation}`);
  expect(res.status).toBe(200);
  return {
    values: res.body.records.map((r: any) => r.value),
    offsets: res.body.records.map((r: any) => r.offset),
    nextOffset: res.body.nextOffset,
    lastStableOffset: res.body.lastStableOffset,
    highWatermark: res.body.highWatermark,
  };
}

describe("transactions in a partition", () => {
  it("read_committed stops at the oldest open transaction, skips aborted records, and never sees markers", async () => {
    const topic = await createTopic();
    expect((await produce(topic, values(2, "plain"))).status).toBe(200); // 0, 1
    expect((await append(topic, "A", 0, "a1", 3)).ok).toBe(true); // 2..4
    expect((await produce(topic, values(1, "mid"))).status).toBe(200); // 5
    expect((await append(topic, "B", 0, "b1", 2)).ok).toBe(true); // 6, 7
    expect((await append(topic, "A", 0, "a2", 1)).ok).toBe(true); // 8

    let committed = await read(topic, "read_committed");
    expect(committed).toMatchObject({
      values: ["plain-0", "plain-1"],
      nextOffset: 2,
      lastStableOffset: 2,
      highWatermark: 9,
    });
    const uncommitted = await read(topic, "read_uncommitted");
    expect(uncommitted.offsets).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(uncommitted.lastStableOffset).toBe(2);
    expect(await describePartition(topic)).toMatchObject({ lastStableOffset: 2, highWatermark: 9 });
    // Without the parameter: read_uncommitted, as Kafka; the answer carries the LSO too.
    expect((await fetchRecords(topic, 0, "offset=0")).body).toMatchObject({
      lastStableOffset: 2,
      highWatermark: 9,
    });

    // A producer with a transaction open may not write outside it; a stale epoch is fenced.
    const plain = await append(topic, "A", 0, "outside", 1, null);
    expect(!plain.ok && plain.error.code).toBe("INVALID_TXN_STATE");

    expect(await marker(topic, "A", { epoch: 0, commit: true })).toEqual({ ok: true, value: { offset: 9 } });
    committed = await read(topic, "read_committed");
    expect(committed).toMatchObject({ lastStableOffset: 6, nextOffset: 6 });
    expect(committed.values).toEqual(["plain-0", "plain-1", "a1-0", "a1-1", "a1-2", "mid-0"]);

    const fenced = await marker(topic, "B", { epoch: -1, commit: false });
    expect(!fenced.ok && fenced.error.code).toBe("PRODUCER_FENCED");
    expect(await marker(topic, "B", { epoch: 0, commit: false })).toEqual({
      ok: true,
      value: { offset: 10 },
    });
    // A repeated marker finds nothing open: answered with the first one's offset, no new offset taken.
    expect(await marker(topic, "B", { epoch: 0, commit: false })).toEqual({
      ok: true,
      value: { offset: 10 },
    });
    expect((await produce(topic, values(1, "after"))).body.results[0].offset).toBe(11);

    committed = await read(topic, "read_committed");
    expect(committed.values).toEqual([
      "plain-0",
      "plain-1",
      "a1-0",
      "a1-1",
      "a1-2",
      "mid-0",
      "a2-0",
      "after-0",
    ]);
    expect(committed.offsets).toEqual([0, 1, 2, 3, 4, 5, 8, 11]);
    expect(committed).toMatchObject({ lastStableOffset: 12, highWatermark: 12, nextOffset: 12 });
    // read_uncommitted sees the aborted records too, never the markers (offsets 9 and 10).
    expect((await read(topic, "read_uncommitted")).offsets).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 11]);
    // A read from inside the aborted range skips it and moves on.
    const mid = await fetchRecords(topic, 0, "offset=6&maxRecords=2&isolation=read_committed");
    expect(mid.body).toMatchObject({ records: [], nextOffset: 8 });
    const bad = await fetchRecords(topic, 0, "offset=0&isolation=serializable");
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain("isolation");
  });

  it("open transactions, aborted ranges and markers survive a restart and a failover, on every replica", async () => {
    const topic = await createTopic({ replicationFactor: 3, configs: { "min.insync.replicas": 2 } });
    expect((await append(topic, "C", 0, "c", 2)).ok).toBe(true); // 0, 1
    expect((await append(topic, "D", 0, "d", 2)).ok).toBe(true); // 2, 3
    expect((await marker(topic, "D", { epoch: 0, commit: false })).ok).toBe(true); // 4
    expect((await produce(topic, values(1, "p"), "all")).status).toBe(200); // 5
    expect((await append(topic, "E", 0, "e", 1)).ok).toBe(true); // 6
    expect((await marker(topic, "E", { epoch: 0, commit: true })).ok).toBe(true); // 7
    const views = await eventually(
      () => replicaViews(topic, 0),
      (v) => v.every((r: any) => r?.logEndOffset === 8),
    );
    expect(views.map((v: any) => v.logEndOffset)).toEqual([8, 8, 8]);
    expect(await read(topic, "read_committed")).toMatchObject({ values: [], lastStableOffset: 0 });

    const { leader } = await describePartition(topic);
    await restartObject(() => replicaStub(env, topic, 0, leader));
    expect(await read(topic, "read_committed")).toMatchObject({
      values: [],
      lastStableOffset: 0,
      highWatermark: 8,
    });
    // The log ends after the last marker, not the last record.
    expect((await produce(topic, values(1, "r"), "all")).body.results[0].offset).toBe(8);

    // The leader fails: the new one holds the same transactions.
    await fault(topic, 0, leader, "fail");
    const moved = await sendAcrossFailover(() => produce(topic, values(1, "q"), "all"));
    expect(moved.body.results[0].offset).toBe(9);
    expect((await describePartition(topic)).leader).not.toBe(leader);
    expect(await read(topic, "read_committed")).toMatchObject({ values: [], lastStableOffset: 0 });
    expect(await marker(topic, "C", { epoch: 0, commit: true })).toEqual({ ok: true, value: { offset: 10 } });
    const after = await read(topic, "read_committed");
    expect(after.values).toEqual(["c-0", "c-1", "p-0", "e-0", "r-0", "q-0"]);
    expect(after).toMatchObject({ lastStableOffset: 11, nextOffset: 11 });
    await fault(topic, 0, leader, "none");
    // The old leader rejoins and mirrors the marker written without it.
    const healed = await eventually(
      () => replicaViews(topic, 0),
      (v) => v.every((r: any) => r?.logEndOffset === 11),
    );
    expect(healed.map((v: any) => v.logEndOffset)).toEqual([11, 11, 11]);
  });

  it("a marker committed in one group with appends keeps its offset on the followers", async () => {
    const topic = await createTopic({ replicationFactor: 3, configs: { "min.insync.replicas": 2 } });
    const { leader } = await describePartition(topic);
    const batch = (tag: string, n: number) =>
      encodeAppendChunks(
        Array.from({ length: n }, (_, i) => ({
          key: null,
          valueJson: JSON.stringify(`${tag}-${i}`),
          valueBase64: null,
          headersJson: "{}",
          sizeBytes: 8,
        })),
        Array.from({ length: n }, () => NOW),
      );
    // Submitted in one turn inside the leader: the first commits alone, the rest share the next commit
    // (the replicas get them as one live call but for the marker, which takes an offset and no record).
    const answers = await atLeader(topic, (p, topicId, leaderEpoch) => {
      const base = { topicId, leaderEpoch, maxTimestamp: NOW, acks: "all" as const };
      return Promise.all([
        p.append({ ...base, chunks: batch("first", 1) }),
        p.append({
          ...base,
          chunks: batch("f", 2),
          producer: { id: "F", epoch: 0, sequence: 0 },
          transactionNumber: 1,
        }),
        p.writeMarker({
          topicId,
          leaderEpoch,
          producerId: "F",
          marker: { epoch: 0, commit: false, number: 1 },
        }),
        p.append({ ...base, chunks: batch("after", 2) }),
      ]);
    });
    expect(
      answers.map((a) => a.ok && ("baseOffset" in a.value ? a.value.baseOffset : a.value.offset)),
    ).toEqual([0, 1, 3, 4]);
    await fault(topic, 0, leader, "fail");
    await sendAcrossFailover(() => produce(topic, values(1, "new"), "all"));
    expect((await read(topic, "read_uncommitted")).offsets).toEqual([0, 1, 2, 4, 5, 6]);
    expect(await read(topic, "read_committed")).toMatchObject({
      values: ["first-0", "after-0", "after-1", "new-0"],
      offsets: [0, 4, 5, 6],
      lastStableOffset: 7,
    });
    await fault(topic, 0, leader, "none");
  });

  it("a newer epoch's first write aborts an older epoch's transaction left open (a write landed after its marker)", async () => {
    const topic = await createTopic();
    sequences.set("G", 0);
    expect((await append(topic, "G", 0, "orphan", 2)).ok).toBe(true); // 0, 1: no marker will come
    // A new epoch numbers its requests from 0 again; its transaction is the next one.
    expect((await append(topic, "G", 1, "next", 1, 2, 0)).ok).toBe(true); // 2
    expect(await read(topic, "read_committed")).toMatchObject({ values: [], lastStableOffset: 2 });
    const done = await marker(topic, "G", { epoch: 1, commit: true, number: 2 });
    expect(done).toEqual({ ok: true, value: { offset: 3 } });
    expect(await read(topic, "read_committed")).toMatchObject({ values: ["next-0"], lastStableOffset: 4 });
  });

  it("a late marker of an earlier transaction leaves the next one open; a late write of a closed one is refused", async () => {
    const topic = await createTopic();
    expect((await append(topic, "K", 0, "k1", 2, 1)).ok).toBe(true); // 0, 1
    expect(await marker(topic, "K", { epoch: 0, commit: false })).toEqual({ ok: true, value: { offset: 2 } });
    expect((await append(topic, "K", 0, "k2", 1, 2)).ok).toBe(true); // 3
    // Transaction 1's abort again (a retry whose first try was slow): answered as before, nothing closed.
    expect(await marker(topic, "K", { epoch: 0, commit: false })).toEqual({ ok: true, value: { offset: 2 } });
    expect(await read(topic, "read_committed")).toMatchObject({ values: [], lastStableOffset: 3 });
    // A write of transaction 1 arriving after its marker: refused, nothing appended.
    const late = await append(topic, "K", 0, "late", 1, 1);
    expect(!late.ok && late.error.code).toBe("INVALID_TXN_STATE");
    const done = await marker(topic, "K", { epoch: 0, commit: true, number: 2 });
    expect(done).toEqual({ ok: true, value: { offset: 4 } });
    expect(await read(topic, "read_committed")).toMatchObject({ values: ["k2-0"], lastStableOffset: 5 });
    expect((await read(topic, "read_uncommitted")).offsets).toEqual([0, 1, 3]);
  });

  it("compaction drops decided transactions' markers, and aborted records with theirs, after delete.retention.ms; never an open one", async () => {
    const topic = await createTopic({ configs: { "cleanup.policy": "compact", "delete.retention.ms": 0 } });
    const keyed = (tag: string, keys: string[]) => keys.map((key) => ({ key, value: tag }));
    expect((await append(topic, "H", 0, "h", 1)).ok).toBe(true); // 0 (keyless: compaction keeps it)
    expect((await marker(topic, "H", { epoch: 0, commit: true })).ok).toBe(true); // 1
    expect((await append(topic, "I", 0, "i", 2)).ok).toBe(true); // 2, 3
    expect((await marker(topic, "I", { epoch: 0, commit: false })).ok).toBe(true); // 4
    expect((await produce(topic, keyed("plain", ["k1"]))).status).toBe(200); // 5
    expect((await append(topic, "J", 0, "j", 1)).ok).toBe(true); // 6: stays open
    expect((await produce(topic, keyed("last", ["k2"]))).status).toBe(200); // 7
    await new Promise((resolve) => setTimeout(resolve, 5));
    const { leader } = await describePartition(topic);
    for (let i = 0; i < 10; i++)
      await runDurableObjectAlarm(replicaStub(env, topic, 0, leader) as unknown as DurableObjectStub);
    const tables = await runInDurableObject(
      replicaStub(env, topic, 0, leader),
      (_i, state: DurableObjectState) => ({
        markers: state.storage.sql
          .exec('SELECT "offset" FROM txn_markers')
          .toArray()
          .map((r) => r.offset),
        aborted: state.storage.sql.exec("SELECT last_offset FROM txn_aborted").toArray().length,
      }),
    );
    expect(tables).toEqual({ markers: [], aborted: 0 });
    // The aborted records are gone for every reader; offsets of the rest never change; J is still open.
    expect((await read(topic, "read_uncommitted")).offsets).toEqual([0, 5, 6, 7]);
    expect(await read(topic, "read_committed")).toMatchObject({
      values: ["h-0", "plain"],
      lastStableOffset: 6,
    });
    expect((await describePartition(topic)).logEndOffset).toBe(8);
  });
});
