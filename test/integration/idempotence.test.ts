import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { replicaStub } from "../../durable-objects/stubs";
import {
  api,
  createTopic,
  describePartition,
  eventually,
  fault,
  logEndOffsets,
  readAll,
  replicaViews,
  restartObject,
  sendAcrossFailover,
} from "./helpers";

const REPLICATED = { replicationFactor: 3, configs: { "min.insync.replicas": 2 } };
const DAY = 24 * 3_600_000;

type Producer = { id: string; epoch: number };

async function newProducer(body?: unknown): Promise<Producer> {
  const res = await api("POST", "/v1/producers", body);
  expect(res.status).toBe(200);
  return res.body;
}

function send(topic: string, producer: Producer, sequence: number, records: unknown[], acks = "all") {
  return api("POST", `/v1/topics/${topic}/records?acks=${acks}`, {
    records,
    producer: { id: producer.id, epoch: producer.epoch, sequence },
  });
}

/** Keyed, keyless and explicitly placed records over several partitions. */
function mixed(tag: string, n = 6) {
  return Array.from({ length: n }, (_, i) =>
    i % 3 === 0
      ? { key: `k-${tag}-${i}`, value: `${tag}-${i}` }
      : i % 3 === 1
        ? { value: `${tag}-${i}` }
        : { partition: 0, value: `${tag}-${i}` },
  );
}

const producerObject = (id: string) => env.PRODUCER.get(env.PRODUCER.idFromString(id));

/** Restarts a producer object: its memory (the recent results) is gone, storage stays. */
async function restartProducer(id: string) {
  await restartObject(() => producerObject(id) as unknown as DurableObjectStub);
}

async function sum(topic: string) {
  return (await logEndOffsets(topic)).reduce((a, b) => a + b, 0);
}

describe("POST /v1/producers", () => {
  it("hands out a fresh id at epoch 0; a transactionalId keeps its id and bumps the epoch", async () => {
    const a = await newProducer();
    const b = await newProducer({});
    expect(a.id).toMatch(/^[0-9a-f]{64}$/);
    expect(a.epoch).toBe(0);
    expect(b.id).not.toBe(a.id);
    const tid = `tx-${Math.random().toString(36).slice(2)}`;
    const t0 = await newProducer({ transactionalId: tid });
    const t1 = await newProducer({ transactionalId: tid });
    const t2 = await newProducer({ transactionalId: tid });
    expect([t0.epoch, t1.epoch, t2.epoch]).toEqual([0, 1, 2]);
    expect(new Set([t0.id, t1.id, t2.id]).size).toBe(1);
  });

  it.each([
    ["transactionalId a number", { transactionalId: 7 }],
    ["transactionalId empty", { transactionalId: "" }],
    ["transactionalId too long", { transactionalId: "x".repeat(250) }],
    ["unknown field", { transactionalId: "a", epoch: 1 }],
    ["array body", [1]],
    ["string body", "x"],
  ])("refuses a bad body (%s) with 400", async (_name, body) => {
    const res = await api("POST", "/v1/producers", body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("INVALID_REQUEST");
  });

  it("refuses malformed JSON and a wrong content type", async () => {
    expect((await api("POST", "/v1/producers", "{nope")).status).toBe(400);
    expect((await api("POST", "/v1/producers", "{}", { "content-type": "text/plain" })).status).toBe(400);
  });
});

describe("idempotent produce", () => {
  it("the same request sent 5 times concurrently is appended once; every answer has the original offsets", async () => {
    const topic = await createTopic({ ...REPLICATED, partitions: 3 });
    const producer = await newProducer();
    const records = mixed("c", 9);
    const answers = await Promise.all(Array.from({ length: 5 }, () => send(topic, producer, 0, records)));
    for (const a of answers) expect(a.status).toBe(200);
    for (const a of answers.slice(1)) expect(a.body).toEqual(answers[0]!.body);
    expect(await sum(topic)).toBe(9);
    // Each result points at its own record.
    for (const [i, r] of answers[0]!.body.results.entries()) {
      const all = await readAll(topic, r.partition);
      expect(all.find((x) => x.offset === r.offset)?.value).toBe(`c-${i}`);
    }
  });

  it("sent 5 times sequentially, and again after the producer object restarts: appended once, same answers", async () => {
    const topic = await createTopic({ ...REPLICATED, partitions: 3 });
    const producer = await newProducer();
    const first = await send(topic, producer, 0, mixed("s"));
    expect(first.status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await send(topic, producer, 0, mixed("s"))).body).toEqual(first.body);
    await restartProducer(producer.id);
    // The producer's memory is gone: the partition leaders answer from the batches they keep.
    expect((await send(topic, producer, 0, mixed("s"))).body).toEqual(first.body);
    expect(await sum(topic)).toBe(6);
    const next = await send(topic, producer, 1, mixed("t"));
    expect(next.status).toBe(200);
    expect(await sum(topic)).toBe(12);
  });

  it("keyless records of a request go to one partition fixed by its sequence, for retries too", async () => {
    const topic = await createTopic({ partitions: 8, replicationFactor: 1 });
    const producer = await newProducer();
    const keyless = Array.from({ length: 4 }, (_, i) => ({ value: i }));
    const first = await send(topic, producer, 0, keyless, "1");
    const partitions = new Set(first.body.results.map((r: { partition: number }) => r.partition));
    expect(partitions.size).toBe(1);
    await restartProducer(producer.id);
    expect((await send(topic, producer, 0, keyless, "1")).body).toEqual(first.body);
    expect(await sum(topic)).toBe(4);
  });

  it("restarted before its next sequence was written: the partitions tell it where it was (next accepted, gap refused, repeat answered)", async () => {
    const topic = await createTopic({ partitions: 2, replicationFactor: 1 });
    const producer = await newProducer();
    const answers = [];
    for (let s = 0; s < 3; s++) answers.push((await send(topic, producer, s, mixed(`r${s}`, 2), "1")).body);
    await restartProducer(producer.id); // within the 200 ms checkpoint delay: storage still says 0
    expect((await send(topic, producer, 2, mixed("r2", 2), "1")).body).toEqual(answers[2]);
    const gap = await send(topic, producer, 4, mixed("r4", 2), "1");
    expect(gap.body.error.code).toBe("OUT_OF_ORDER_SEQUENCE_NUMBER");
    expect((await send(topic, producer, 3, mixed("r3", 2), "1")).status).toBe(200);
    expect(await sum(topic)).toBe(8);
  });

  it("a gap answers OUT_OF_ORDER_SEQUENCE_NUMBER; a repeat older than the last 5 answers DUPLICATE_SEQUENCE_NUMBER", async () => {
    const topic = await createTopic({ partitions: 2, replicationFactor: 1 });
    const producer = await newProducer();
    const gap = await send(topic, producer, 1, mixed("g"), "1");
    expect(gap.status).toBe(409);
    expect(gap.body.error.code).toBe("OUT_OF_ORDER_SEQUENCE_NUMBER");
    expect(await sum(topic)).toBe(0);
    const answers = [];
    for (let s = 0; s < 7; s++) {
      const res = await send(topic, producer, s, mixed(`q${s}`, 2), "1");
      expect(res.status).toBe(200);
      answers.push(res.body);
    }
    expect(await sum(topic)).toBe(14);
    // Sequences 2..6 are kept; 0 and 1 are not.
    for (const s of [0, 1]) {
      const old = await send(topic, producer, s, mixed(`q${s}`, 2), "1");
      expect(old.status).toBe(409);
      expect(old.body.error.code).toBe("DUPLICATE_SEQUENCE_NUMBER");
    }
    await restartProducer(producer.id);
    for (const s of [2, 6])
      expect((await send(topic, producer, s, mixed(`q${s}`, 2), "1")).body).toEqual(answers[s]);
    const far = await send(topic, producer, 9, mixed("far", 2), "1");
    expect(far.body.error.code).toBe("OUT_OF_ORDER_SEQUENCE_NUMBER");
    expect(await sum(topic)).toBe(14);
  });

  it("a new epoch of a transactionalId fences the old one; a future epoch is refused", async () => {
    const topic = await createTopic({ replicationFactor: 1 });
    const tid = `tx-${Math.random().toString(36).slice(2)}`;
    const old = await newProducer({ transactionalId: tid });
    expect((await send(topic, old, 0, [{ value: "a" }], "1")).status).toBe(200);
    const current = await newProducer({ transactionalId: tid });
    expect(current).toMatchObject({ id: old.id, epoch: 1 });
    const fenced = await send(topic, old, 1, [{ value: "zombie" }], "1");
    expect(fenced.status).toBe(409);
    expect(fenced.body.error.code).toBe("PRODUCER_FENCED");
    const future = await send(topic, { id: old.id, epoch: 2 }, 0, [{ value: "x" }], "1");
    expect(future.status).toBe(409);
    expect(future.body.error.code).toBe("INVALID_PRODUCER_EPOCH");
    // A new epoch numbers its requests from 0 again.
    const fresh = await send(topic, current, 0, [{ value: "b" }], "1");
    expect(fresh.status).toBe(200);
    expect(fresh.body.results[0].offset).toBe(1);
    expect((await readAll(topic, 0)).map((r) => r.value)).toEqual(["a", "b"]);
  });

  it("partitions fence an older epoch even if the producer object were bypassed", async () => {
    const topic = await createTopic({ replicationFactor: 1 });
    const tid = `tx-${Math.random().toString(36).slice(2)}`;
    const p0 = await newProducer({ transactionalId: tid });
    const p1 = await newProducer({ transactionalId: tid });
    expect((await send(topic, p1, 0, [{ value: "new" }], "1")).status).toBe(200);
    const meta = (await api("GET", `/v1/topics/${topic}`)).body;
    const leader = replicaStub(env, topic, 0, 0);
    const topicId = await runInDurableObject(leader, (_i, state) =>
      String(state.storage.sql.exec("SELECT topic_id FROM partition_state").one().topic_id),
    );
    const answer: { ok: boolean; error?: { code: string } } = await (leader as any).append({
      topicId,
      leaderEpoch: meta.partitionInfo[0].leaderEpoch,
      chunks: [],
      maxTimestamp: 0,
      acks: "1",
      producer: { id: p0.id, epoch: 0, sequence: 5 },
    });
    expect(answer.ok).toBe(false);
    expect(answer.error?.code).toBe("PRODUCER_FENCED");
  });

  it.each([
    ["producer not an object", 5, 400],
    ["id malformed", { id: "p-1", epoch: 0, sequence: 0 }, 400],
    ["epoch negative", { id: "a".repeat(64), epoch: -1, sequence: 0 }, 400],
    ["sequence a string", { id: "a".repeat(64), epoch: 0, sequence: "0" }, 400],
    ["sequence fractional", { id: "a".repeat(64), epoch: 0, sequence: 0.5 }, 400],
    ["missing sequence", { id: "a".repeat(64), epoch: 0 }, 400],
    ["unknown field", { id: "a".repeat(64), epoch: 0, sequence: 0, txn: 1 }, 400],
    ["id never handed out", { id: "a".repeat(64), epoch: 0, sequence: 0 }, 404],
  ])("refuses a bad producer (%s) and appends nothing", async (_name, producer, status) => {
    const topic = await createTopic({ replicationFactor: 1 });
    const res = await api("POST", `/v1/topics/${topic}/records?acks=1`, {
      records: [{ value: 1 }],
      producer,
    });
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(status === 404 ? "UNKNOWN_PRODUCER_ID" : "INVALID_REQUEST");
    expect(await sum(topic)).toBe(0);
  });

  it("a producer object that fails answers 503 COORDINATOR_NOT_AVAILABLE; the same sequence then goes through once", async () => {
    const topic = await createTopic({ replicationFactor: 1 });
    const producer = await newProducer();
    await runInDurableObject(producerObject(producer.id), (instance: unknown) => {
      (instance as { apply: () => never }).apply = () => {
        throw new Error("test: producer object failing");
      };
    });
    const failed = await send(topic, producer, 0, [{ value: "x" }], "1");
    expect(failed.status).toBe(503);
    expect(failed.body.error).toMatchObject({ code: "COORDINATOR_NOT_AVAILABLE", retriable: true });
    expect(await sum(topic)).toBe(0);
    await restartProducer(producer.id);
    const retried = await send(topic, producer, 0, [{ value: "x" }], "1");
    expect(retried.status).toBe(200);
    expect((await send(topic, producer, 0, [{ value: "x" }], "1")).body).toEqual(retried.body);
    expect(await sum(topic)).toBe(1);
  });

  it("refuses acks=0 for an idempotent producer", async () => {
    const topic = await createTopic({ replicationFactor: 1 });
    const producer = await newProducer();
    const res = await send(topic, producer, 0, [{ value: 1 }], "0");
    expect(res.status).toBe(400);
    expect(await sum(topic)).toBe(0);
    expect((await send(topic, producer, 0, [{ value: 1 }], "1")).status).toBe(200);
  });

  it("a request that failed on one partition is not applied; its retry appends nothing twice", async () => {
    const topic = await createTopic({ ...REPLICATED, partitions: 2 });
    const producer = await newProducer();
    const records = [
      { partition: 0, value: "p0" },
      { partition: 1, value: "p1" },
    ];
    await fault(topic, 1, 1, "fail");
    await fault(topic, 1, 2, "fail");
    // Partition 1 loses its followers: its part is not acknowledged; partition 0's is.
    const partial = await send(topic, producer, 0, records);
    expect([503, 504]).toContain(partial.status);
    expect(partial.body.results[0]).toMatchObject({ partition: 0, offset: 0 });
    expect(partial.body.results[1].error.code).toMatch(/NOT_ENOUGH_REPLICAS|REQUEST_TIMED_OUT/);
    // Not applied: the next sequence is still 0.
    const gap = await send(topic, producer, 1, records);
    expect(gap.body.error.code).toBe("OUT_OF_ORDER_SEQUENCE_NUMBER");
    await fault(topic, 1, 1, "none");
    await fault(topic, 1, 2, "none");
    await eventually(
      () => describePartition(topic, 1),
      (p) => p.isr.length === 3,
    );
    const retried = await send(topic, producer, 0, records);
    expect(retried.status).toBe(200);
    expect(retried.body.results).toEqual([
      { partition: 0, offset: 0, timestamp: partial.body.results[0].timestamp },
      { partition: 1, offset: 0, timestamp: expect.any(Number) },
    ]);
    expect(await logEndOffsets(topic)).toEqual([1, 1]);
    expect((await send(topic, producer, 1, records)).status).toBe(200);
    expect(await logEndOffsets(topic)).toEqual([2, 2]);
  });

  it("answers the original offsets after a leader failover (producer state is replicated)", async () => {
    const topic = await createTopic(REPLICATED);
    const producer = await newProducer();
    const first = await send(topic, producer, 0, [{ value: "a" }, { value: "b" }]);
    expect(first.status).toBe(200);
    // Every replica holds the producer's batch with the records.
    for (const r of [1, 2]) {
      const stub = replicaStub(env, topic, 0, r);
      const rows = await runInDurableObject(stub, (_i, state) =>
        state.storage.sql
          .exec("SELECT producer_id, epoch, sequence, base_offset, count FROM producer_batches")
          .toArray(),
      );
      expect(rows).toEqual([{ producer_id: producer.id, epoch: 0, sequence: 0, base_offset: 0, count: 2 }]);
    }
    await restartProducer(producer.id);
    await fault(topic, 0, 0, "fail");
    const again = await sendAcrossFailover(() => send(topic, producer, 0, [{ value: "a" }, { value: "b" }]));
    expect(again.body).toEqual(first.body);
    const info = await describePartition(topic);
    expect(info.leader).not.toBe(0);
    expect(info.logEndOffset).toBe(2);
    const next = await send(topic, producer, 1, [{ value: "c" }]);
    expect(next.status).toBe(200);
    expect(next.body.results[0].offset).toBe(2);
    await fault(topic, 0, 0, "none");
    expect((await replicaViews(topic, 0)).length).toBe(3);
  });

  it("producer state expires after producer.id.expiration.ms, by alarm, in the producer and the partitions", async () => {
    const topic = await createTopic({ replicationFactor: 1 });
    const producer = await newProducer();
    expect((await send(topic, producer, 0, [{ value: 1 }], "1")).status).toBe(200);
    const leader = replicaStub(env, topic, 0, 0);
    const count = () =>
      runInDurableObject(
        leader,
        (_i, state) => state.storage.sql.exec("SELECT * FROM producer_batches").toArray().length,
      );
    // A silent week: move the recorded activity back rather than the clock.
    await runInDurableObject(leader, (_i, state) => {
      state.storage.sql.exec("UPDATE producer_batches SET appended_ms = appended_ms - ?", 8 * DAY);
    });
    expect(await count()).toBe(1);
    await runDurableObjectAlarm(leader);
    expect(await count()).toBe(0);
    await runInDurableObject(producerObject(producer.id), (_i, state) => {
      state.storage.sql.exec("UPDATE producer SET last_used_ms = last_used_ms - ?", 8 * DAY);
    });
    await restartProducer(producer.id); // it reads its activity back from storage
    await runDurableObjectAlarm(producerObject(producer.id));
    const gone = await send(topic, producer, 1, [{ value: 2 }], "1");
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe("UNKNOWN_PRODUCER_ID");
    expect(await sum(topic)).toBe(1);
  });

  it("works over WebSocket produce frames too", async () => {
    const topic = await createTopic({ replicationFactor: 1, partitions: 2 });
    const producer = await newProducer();
    const { openSocket } = await import("./helpers");
    const socket = await openSocket();
    const frame = (id: number) => ({
      op: "produce",
      id,
      topic,
      acks: "1",
      records: [{ value: "w" }],
      producer: { id: producer.id, epoch: 0, sequence: 0 },
    });
    socket.send(frame(1));
    const a = await socket.next();
    socket.send(frame(2));
    const b = await socket.next();
    expect(a.op).toBe("produced");
    expect(b.results).toEqual(a.results);
    expect(await sum(topic)).toBe(1);
    socket.ws.close();
  });
});
