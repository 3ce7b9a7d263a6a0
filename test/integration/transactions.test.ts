import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { producerFor } from "../../durable-objects/stubs";
import {
  api,
  commit,
  committedOffsets,
  createTopic,
  eventually,
  fault,
  fetchRecords,
  join,
  openSocket,
  poll,
  restartObject,
  uniqueGroup,
  uniqueTopic,
} from "./helpers";

/** API.md "Transactions" through the gateway: coordinator, markers, read_committed, group offsets. */

type Producer = { id: string; epoch: number };

async function transactional(
  transactionalId: string,
  extra: Record<string, unknown> = {},
): Promise<Producer> {
  const res = await api("POST", "/v1/producers", { transactionalId, ...extra });
  expect(res.status).toBe(200);
  return res.body;
}

function send(topic: string, producer: Producer, sequence: number, records: unknown[], transactional = true) {
  return api("POST", `/v1/topics/${topic}/records?acks=all`, {
    records,
    producer: { id: producer.id, epoch: producer.epoch, sequence },
    transactional,
  });
}

function end(transactionalId: string, producer: Producer, verb: "commit" | "abort") {
  return api("POST", `/v1/transactions/${transactionalId}/${verb}`, { producer });
}

/** Values a reader of every partition sees with an isolation level. */
async function visible(topic: string, partitions: number, isolation: string): Promise<string[]> {
  const values: string[] = [];
  for (let p = 0; p < partitions; p++) {
    const res = await fetchRecords(topic, p, `offset=0&maxRecords=1000&isolation=${isolation}`);
    expect(res.status).toBe(200);
    values.push(...res.body.records.map((r: any) => r.value));
  }
  return values.sort();
}

const records = (tag: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ value: `${tag}-${i}`, partition: i % 2 }));

describe("transactions", () => {
  it("records become visible to read_committed readers on commit, never on abort; the state is reported", async () => {
    const topic = await createTopic({ partitions: 2 });
    const tid = uniqueTopic("txn");
    const producer = await transactional(tid);
    expect(producer.epoch).toBe(0);
    expect((await api("GET", `/v1/transactions/${tid}`)).body).toMatchObject({
      state: "Empty",
      partitions: [],
    });

    expect((await send(topic, producer, 0, records("c", 4))).status).toBe(200);
    expect(await visible(topic, 2, "read_committed")).toEqual([]);
    expect(await visible(topic, 2, "read_uncommitted")).toEqual(["c-0", "c-1", "c-2", "c-3"]);
    // While it is open, the producer writes only inside it.
    const outside = await send(topic, producer, 1, records("outside", 1), false);
    expect(outside.status).toBe(409);
    expect(outside.body.error.code).toBe("INVALID_TXN_STATE");
    const ongoing = (await api("GET", `/v1/transactions/${tid}`)).body;
    expect(ongoing).toMatchObject({
      state: "Ongoing",
      producer: { id: producer.id, epoch: 0 },
      partitions: [
        { topic, partition: 0 },
        { topic, partition: 1 },
      ],
      transactionTimeoutMs: 60_000,
    });
    expect(Date.parse(ongoing.startedAt)).toBeGreaterThan(0);

    const committed = await end(tid, producer, "commit");
    expect(committed.status).toBe(200);
    expect(committed.body).toEqual({ state: "CompleteCommit" });
    expect(await visible(topic, 2, "read_committed")).toEqual(["c-0", "c-1", "c-2", "c-3"]);
    // A retried commit is answered as the first; the other verb is refused.
    expect((await end(tid, producer, "commit")).body).toEqual({ state: "CompleteCommit" });
    expect((await end(tid, producer, "abort")).body.error.code).toBe("INVALID_TXN_STATE");

    expect((await send(topic, producer, 1, records("a", 2))).status).toBe(200);
    expect((await end(tid, producer, "abort")).body).toEqual({ state: "CompleteAbort" });
    expect(await visible(topic, 2, "read_committed")).toEqual(["c-0", "c-1", "c-2", "c-3"]);
    expect(await visible(topic, 2, "read_uncommitted")).toEqual(["a-0", "a-1", "c-0", "c-1", "c-2", "c-3"]);
    expect((await end(tid, producer, "commit")).body.error.code).toBe("INVALID_TXN_STATE");
    const last = await fetchRecords(topic, 0, "offset=0&isolation=read_committed");
    expect(last.body.lastStableOffset).toBe(last.body.highWatermark);
  });

  it("a new epoch aborts the open transaction before answering and fences the old producer everywhere", async () => {
    const topic = await createTopic({ partitions: 2 });
    const tid = uniqueTopic("txn");
    const zombie = await transactional(tid);
    expect((await send(topic, zombie, 0, records("z", 2))).status).toBe(200);
    const fresh = await transactional(tid);
    expect(fresh).toEqual({ id: zombie.id, epoch: 1 });
    // The zombie's transaction is aborted already: nothing holds read_committed readers back.
    expect(await visible(topic, 2, "read_committed")).toEqual([]);
    const lso = await fetchRecords(topic, 1, "offset=0&isolation=read_committed");
    expect(lso.body.lastStableOffset).toBe(lso.body.highWatermark);
    const write = await send(topic, zombie, 1, records("late", 2));
    expect(write.status).toBe(409);
    expect(write.body.error.code).toBe("PRODUCER_FENCED");
    expect((await end(tid, zombie, "commit")).body.error.code).toBe("PRODUCER_FENCED");
    expect((await send(topic, fresh, 0, records("f", 2))).status).toBe(200);
    expect((await end(tid, fresh, "commit")).body).toEqual({ state: "CompleteCommit" });
    expect(await visible(topic, 2, "read_committed")).toEqual(["f-0", "f-1"]);
  });

  it("the coordinator aborts a transaction past its timeout and fences its epoch", async () => {
    const topic = await createTopic();
    const tid = uniqueTopic("txn");
    const producer = await transactional(tid, { transactionTimeoutMs: 1_000 });
    expect((await send(topic, producer, 0, [{ value: "slow" }])).status).toBe(200);
    const state = await eventually(
      async () => (await api("GET", `/v1/transactions/${tid}`)).body,
      (t) => t.state === "CompleteAbort",
      10_000,
    );
    expect(state).toMatchObject({ state: "CompleteAbort", producer: { epoch: 1 } });
    expect(await visible(topic, 1, "read_committed")).toEqual([]);
    expect((await send(topic, producer, 1, [{ value: "after" }])).body.error.code).toBe("PRODUCER_FENCED");
  });

  it("offsets sent to a transaction are committed with it, and dropped when it aborts", async () => {
    const input = await createTopic();
    const output = await createTopic();
    for (let i = 0; i < 6; i++) await api("POST", `/v1/topics/${input}/records`, { records: [{ value: i }] });
    const group = uniqueGroup();
    const member = await join(group, { topics: [input], autoOffsetReset: "earliest" });
    expect(
      (await commit(group, member.memberId, member.generation, [{ topic: input, partition: 0, offset: 1 }]))
        .status,
    ).toBe(200);
    const polled = await poll(group, member.memberId);
    expect(polled.body.records).toHaveLength(5);
    const tid = uniqueTopic("txn");
    const producer = await transactional(tid);
    const offsets = (offset: number) => ({
      producer,
      group,
      memberId: member.memberId,
      generation: member.generation,
      offsets: [{ topic: input, partition: 0, offset }],
    });

    expect((await send(output, producer, 0, [{ value: "out-1" }])).status).toBe(200);
    const sent = await api("POST", `/v1/transactions/${tid}/offsets`, offsets(3));
    expect(sent.status).toBe(200);
    expect(await committedOffsets(group)).toEqual({ [`${input}/0`]: 1 }); // not before the commit
    expect((await api("GET", `/v1/transactions/${tid}`)).body.groups).toEqual([group]);
    expect((await end(tid, producer, "abort")).body).toEqual({ state: "CompleteAbort" });
    expect(await committedOffsets(group)).toEqual({ [`${input}/0`]: 1 });

    expect((await send(output, producer, 1, [{ value: "out-2" }])).status).toBe(200);
    expect((await api("POST", `/v1/transactions/${tid}/offsets`, offsets(4))).status).toBe(200);
    // The member leaves; a new one must not start from the committed offset (1) while the
    // transaction may still move it (Kafka's UNSTABLE_OFFSET_COMMIT): it reads nothing yet.
    expect((await api("DELETE", `/v1/groups/${group}/members/${member.memberId}`)).status).toBe(204);
    const next = await join(group, { topics: [input], autoOffsetReset: "earliest" });
    expect((await poll(group, next.memberId, "maxRecords=100")).body.records).toEqual([]);
    expect((await end(tid, producer, "commit")).body).toEqual({ state: "CompleteCommit" });
    expect(await committedOffsets(group)).toEqual({ [`${input}/0`]: 4 });
    const resumed = await poll(group, next.memberId, "maxRecords=100");
    expect(resumed.body.records.map((r: any) => r.offset)).toEqual([4, 5]);
    expect(await visible(output, 1, "read_committed")).toEqual(["out-2"]);

    // Fenced like an ordinary commit: a stale generation is refused and nothing is held.
    const stale = await api("POST", `/v1/transactions/${tid}/offsets`, {
      ...offsets(5),
      memberId: next.memberId,
      generation: next.generation + 7,
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe("ILLEGAL_GENERATION");
  });

  it("refuses what the contract does not allow, changing nothing", async () => {
    const topic = await createTopic();
    const tid = uniqueTopic("txn");
    const producer = await transactional(tid);
    const plain = (await api("POST", "/v1/producers")).body as Producer;
    const cases: [unknown, number, string][] = [
      [
        await api("POST", `/v1/topics/${topic}/records`, { records: [{ value: 1 }], transactional: true }),
        400,
        "INVALID_REQUEST",
      ],
      [
        await api("POST", `/v1/topics/${topic}/records`, {
          records: [{ value: 1 }],
          producer: { ...producer, sequence: 0 },
          transactional: "yes",
        }),
        400,
        "INVALID_REQUEST",
      ],
      [await send(topic, plain, 0, [{ value: 1 }]), 409, "INVALID_TXN_STATE"],
      [await end(tid, producer, "commit"), 409, "INVALID_TXN_STATE"],
      [await end(tid, plain, "commit"), 400, "INVALID_REQUEST"],
      [await end(tid, { ...producer, epoch: 3 }, "abort"), 409, "INVALID_PRODUCER_EPOCH"],
      [
        await api("POST", `/v1/transactions/${tid}/commit`, { producer: { id: producer.id } }),
        400,
        "INVALID_REQUEST",
      ],
      [await api("POST", `/v1/transactions/${tid}/commit`, { producer, extra: 1 }), 400, "INVALID_REQUEST"],
      [await api("POST", `/v1/transactions/${"x".repeat(250)}/commit`, { producer }), 400, "INVALID_REQUEST"],
      [
        await api("POST", "/v1/producers", { transactionalId: "t", transactionTimeoutMs: 999 }),
        400,
        "INVALID_REQUEST",
      ],
      [
        await api("POST", "/v1/producers", { transactionalId: "t", transactionTimeoutMs: 900_001 }),
        400,
        "INVALID_REQUEST",
      ],
      [await api("POST", "/v1/producers", { transactionTimeoutMs: 5_000 }), 400, "INVALID_REQUEST"],
      [await api("GET", `/v1/transactions/${uniqueTopic("none")}`), 404, "TRANSACTIONAL_ID_NOT_FOUND"],
      [
        await api("POST", `/v1/transactions/${tid}/offsets`, { producer, group: "g" }),
        400,
        "INVALID_REQUEST",
      ],
    ];
    for (const [res, status, code] of cases as [any, number, string][]) {
      expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
    }
    expect((await api("GET", `/v1/transactions/${tid}`)).body.state).toBe("Empty");
    expect((await fetchRecords(topic, 0, "offset=0")).body.records).toEqual([]);
  });

  it("read_committed group members and WebSocket tails get a transaction's records once it commits, never aborted ones", async () => {
    const topic = await createTopic();
    const tid = uniqueTopic("txn");
    const producer = await transactional(tid);
    const group = uniqueGroup();
    const member = await join(group, {
      topics: [topic],
      autoOffsetReset: "earliest",
      isolation: "read_committed",
    });
    const s = await openSocket();
    s.send({
      op: "subscribe",
      id: "rc",
      topic,
      partition: 0,
      offset: "earliest",
      isolation: "read_committed",
    });
    s.send({ op: "subscribe", id: "ru", topic, partition: 0, offset: "earliest" });
    for (const id of ["rc", "ru"]) await s.next((f) => f.op === "subscribed" && f.id === id);
    const pushed = async (id: string, n: number) => {
      const got: any[] = [];
      while (got.length < n)
        got.push(...(await s.next((f) => f.op === "records" && f.subscription === id)).records);
      return got.map((r) => r.value);
    };

    expect((await send(topic, producer, 0, [{ value: "t-0" }, { value: "t-1" }])).status).toBe(200);
    expect((await api("POST", `/v1/topics/${topic}/records`, { records: [{ value: "plain" }] })).status).toBe(
      200,
    );
    expect(await pushed("ru", 3)).toEqual(["t-0", "t-1", "plain"]);
    expect((await poll(group, member.memberId, "maxRecords=100")).body.records).toEqual([]);
    // A read_committed group's lag is measured to the last stable offset (0 here), not the high watermark (3).
    expect(
      (await commit(group, member.memberId, member.generation, [{ topic, partition: 0, offset: 0 }])).status,
    ).toBe(200);
    expect((await api("GET", `/v1/groups/${group}/offsets`)).body.offsets[0]).toMatchObject({
      committedOffset: 0,
      highWatermark: 3,
      lag: 0,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(s.frames.filter((f) => f.op === "records" && f.subscription === "rc")).toEqual([]);

    expect((await end(tid, producer, "commit")).body).toEqual({ state: "CompleteCommit" });
    expect(await pushed("rc", 3)).toEqual(["t-0", "t-1", "plain"]);
    const polled = await poll(group, member.memberId, "maxRecords=100");
    expect(polled.body.records.map((r: any) => r.value)).toEqual(["t-0", "t-1", "plain"]);
    expect((await api("GET", `/v1/groups/${group}/offsets`)).body.offsets[0]).toMatchObject({ lag: 4 });

    expect((await send(topic, producer, 1, [{ value: "gone" }])).status).toBe(200);
    expect((await end(tid, producer, "abort")).body).toEqual({ state: "CompleteAbort" });
    expect((await api("POST", `/v1/topics/${topic}/records`, { records: [{ value: "last" }] })).status).toBe(
      200,
    );
    expect(await pushed("rc", 1)).toEqual(["last"]);
    expect(
      (await poll(group, member.memberId, "maxRecords=100")).body.records.map((r: any) => r.value),
    ).toEqual(["last"]);
    expect(await pushed("ru", 2)).toEqual(["gone", "last"]);
    const described = (await api("GET", `/v1/groups/${group}`)).body;
    expect(described.members[0].isolation).toBe("read_committed");
    const bad = await api("POST", `/v1/groups/${group}/members`, { topics: [topic], isolation: "dirty" });
    expect(bad.status).toBe(400);
    s.send({ op: "subscribe", id: "bad", topic, partition: 0, isolation: 1 });
    expect((await s.next((f) => f.id === "bad")).error.code).toBe("INVALID_REQUEST");
    s.ws.close(1000);
  });

  it("a commit decided but interrupted (a partition unreachable, the coordinator restarted) completes by the alarm", async () => {
    const topic = await createTopic({ partitions: 2 });
    const tid = uniqueTopic("txn");
    const producer = await transactional(tid);
    expect((await send(topic, producer, 0, records("d", 4))).status).toBe(200);
    // Partition 1 fails: its marker cannot be written; partition 0's is.
    await fault(topic, 1, 0, "fail");
    const first = await end(tid, producer, "commit");
    expect(first.status).toBe(409);
    expect(first.body.error).toMatchObject({ code: "CONCURRENT_TRANSACTIONS", retriable: true });
    expect((await api("GET", `/v1/transactions/${tid}`)).body.state).toBe("PrepareCommit");
    // The decision is durable: the coordinator restarts and still owes the marker; nothing may abort it now.
    await restartObject(() => producerFor(env, tid));
    expect((await api("GET", `/v1/transactions/${tid}`)).body.state).toBe("PrepareCommit");
    expect((await end(tid, producer, "abort")).body.error.code).toBe("INVALID_TXN_STATE");
    const p0 = await fetchRecords(topic, 0, "offset=0&isolation=read_committed");
    expect(p0.body.records.map((r: any) => r.value)).toEqual(["d-0", "d-2"]);
    await fault(topic, 1, 0, "none");
    const done = await eventually(
      async () => (await api("GET", `/v1/transactions/${tid}`)).body.state,
      (state) => state === "CompleteCommit",
      10_000,
    );
    expect(done).toBe("CompleteCommit");
    expect(await visible(topic, 2, "read_committed")).toEqual(["d-0", "d-1", "d-2", "d-3"]);
    expect((await end(tid, producer, "commit")).body).toEqual({ state: "CompleteCommit" });
  });

  it("a request that failed on a partition blocks the commit; after the abort its sequence begins the next transaction afresh", async () => {
    const topic = await createTopic({ partitions: 2 });
    const tid = uniqueTopic("txn");
    const producer = await transactional(tid);
    await fault(topic, 1, 0, "fail");
    // Partition 0 takes r-0 and r-2, partition 1 fails: the request is not applied.
    expect((await send(topic, producer, 0, records("r", 4))).status).not.toBe(200);
    const refused = await end(tid, producer, "commit");
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("INVALID_TXN_STATE");
    expect(refused.body.error.message).toContain("request 0");
    await fault(topic, 1, 0, "none");
    expect((await end(tid, producer, "abort")).body).toEqual({ state: "CompleteAbort" });
    // The same sequence with other records: written, not answered from the aborted transaction's batch.
    const next = await send(topic, producer, 0, records("s", 4));
    expect(next.status).toBe(200);
    expect(next.body.results.map((r: any) => r.offset)).toEqual([3, 0, 4, 1]);
    expect((await end(tid, producer, "commit")).body).toEqual({ state: "CompleteCommit" });
    expect(await visible(topic, 2, "read_committed")).toEqual(["s-0", "s-1", "s-2", "s-3"]);
  });

  it("a sequence applied in a transaction that ended cannot start the next one (a client reusing an unanswered sequence)", async () => {
    const topic = await createTopic({ partitions: 2 });
    const tid = uniqueTopic("txn");
    const producer = await transactional(tid);
    expect((await send(topic, producer, 0, records("first", 2))).status).toBe(200);
    expect((await end(tid, producer, "abort")).status).toBe(200);
    // The client never got that answer and sends other records with the same sequence: refused.
    const reused = await send(topic, producer, 0, records("second", 2));
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe("INVALID_TXN_STATE");
    expect(reused.body.error.message).toContain("new epoch");
    expect((await api("GET", `/v1/transactions/${tid}`)).body.state).toBe("CompleteAbort");
    // A new epoch starts clean.
    const next = await transactional(tid);
    expect((await send(topic, next, 0, records("third", 2))).status).toBe(200);
    expect((await end(tid, next, "commit")).status).toBe(200);
    expect(await visible(topic, 2, "read_committed")).toEqual(["third-0", "third-1"]);
  });

  it("a transactionalId producer from before transactions keeps counting its epochs", async () => {
    const tid = uniqueTopic("txn");
    expect((await transactional(tid)).epoch).toBe(0);
    // As stored before transactions existed: the producer's epoch, no transaction state.
    await runInDurableObject(producerFor(env, tid), (_instance, state: DurableObjectState) => {
      state.storage.sql.exec("DELETE FROM txn");
      state.storage.sql.exec("UPDATE producer SET epoch = 5");
    });
    await restartObject(() => producerFor(env, tid));
    expect((await transactional(tid)).epoch).toBe(6);
  });
});
