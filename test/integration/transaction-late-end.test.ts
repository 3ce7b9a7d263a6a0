import { describe, expect, it } from "vitest";
import { api, createTopic, fetchRecords, uniqueTopic } from "./helpers";

/**
 * A late copy of a commit or abort (its connection cut, the client retried and was answered,
 * then the first copy arrives) must not end the next transaction. Found by the chaos checker
 * (seed 1672531222): an abort of one transaction, arriving after the next one's first write,
 * aborted that write while the client went on to commit the rest. With the producer's next
 * sequence in the end request, the coordinator tells an end sent before the open transaction
 * began, and refuses it without a change.
 */

type Producer = { id: string; epoch: number };

describe("transactions: a late end request", () => {
  it("an abort sent before the open transaction's first write does not end it; the commit then keeps every record", async () => {
    const topic = await createTopic({ partitions: 2 });
    const transactionalId = uniqueTopic("late-end");
    const init = await api("POST", "/v1/producers", { transactionalId });
    const producer: Producer = { id: init.body.id, epoch: init.body.epoch };
    const send = (sequence: number, value: string, partition: number) =>
      api("POST", `/v1/topics/${topic}/records?acks=all`, {
        records: [{ value, partition }],
        producer: { ...producer, sequence },
        transactional: true,
      });
    const end = (verb: "commit" | "abort", sequence: number) =>
      api("POST", `/v1/transactions/${transactionalId}/${verb}`, { producer: { ...producer, sequence } });

    // Transaction 1: one write (sequence 0), aborted with next sequence 1.
    expect((await send(0, "first", 0)).status).toBe(200);
    expect((await end("abort", 1)).body.state).toBe("CompleteAbort");
    // Transaction 2 begins with sequence 1 … and the abort's late copy arrives (also sent at 1).
    expect((await send(1, "second-a", 1)).status).toBe(200);
    const late = await end("abort", 1);
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe("INVALID_TXN_STATE");
    const state = await api("GET", `/v1/transactions/${transactionalId}`);
    expect(state.body.state).toBe("Ongoing");
    expect((await send(2, "second-b", 0)).status).toBe(200);
    expect((await end("commit", 3)).body.state).toBe("CompleteCommit");
    const values: string[] = [];
    for (const p of [0, 1]) {
      const res = await fetchRecords(topic, p, "offset=0&isolation=read_committed");
      values.push(...res.body.records.map((r: { value: string }) => r.value));
    }
    expect(values.sort()).toEqual(["second-a", "second-b"]);
  });

  it("a sequence in an end request is checked like any field", async () => {
    const producer = { id: "0".repeat(64), epoch: 0 };
    for (const sequence of [-1, 1.5, "1", 2 ** 60]) {
      const res = await api("POST", "/v1/transactions/x/commit", { producer: { ...producer, sequence } });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toContain("body.producer.sequence");
    }
  });
});
