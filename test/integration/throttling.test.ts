import { describe, expect, it } from "vitest";
import { PRODUCER_QUEUE_MAX } from "../../core/limits";
import { api, createTopic, fault, logEndOffsets } from "./helpers";

describe("every 429 carries retry-after (API.md)", () => {
  it("an idempotent producer with too many requests waiting: 429 with retry-after ≥ 1, nothing appended", async () => {
    const topic = await createTopic();
    const producer = (await api("POST", "/v1/producers")).body;
    // The leader hangs: the first request holds the producer's turn, the next ones wait behind it.
    // Every request repeats sequence 0 (a client retrying), so the order in which they reach the
    // producer cannot matter: no request can be refused as out of order before the queue fills.
    await fault(topic, 0, 0, "hang");
    const before = await logEndOffsets(topic);
    const requests = Array.from({ length: PRODUCER_QUEUE_MAX + 2 }, () =>
      api("POST", `/v1/topics/${topic}/records?acks=1`, {
        records: [{ value: "once", partition: 0 }],
        producer: { ...producer, sequence: 0 },
      }),
    );
    // The refusals come back at once, while the others still wait on the hung leader.
    const first = await Promise.race(requests);
    expect(first.status).toBe(429);
    expect(first.body.error).toMatchObject({ code: "THROTTLING_QUOTA_EXCEEDED", retriable: true });
    expect(Number(first.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number.isInteger(Number(first.headers.get("retry-after")))).toBe(true);
    await fault(topic, 0, 0, "none");
    const answers = await Promise.all(requests);
    const throttled = answers.filter((a) => a.status === 429);
    expect(throttled.length).toBe(2);
    for (const a of throttled) expect(a.headers.get("retry-after")).toBe("1");
    // A refused request appended nothing. The hung request fails (retriable) when the fault is
    // lifted; the first repeat behind it appends, the others are answered from it: one record
    // appended, every 200 names its offset.
    // (Unless the first request had not reached the leader yet when the fault was lifted, as on a
    // loaded machine: then it appends, and every other is answered from it.)
    const hung = answers.filter((a) => a.status !== 429 && a.status !== 200);
    expect(hung.length).toBeLessThanOrEqual(1);
    for (const a of hung) expect(a.body.results[0].error.retriable).toBe(true);
    const answered = answers.filter((a) => a.status === 200);
    expect(answered.length).toBe(PRODUCER_QUEUE_MAX - hung.length);
    expect(new Set(answered.map((a) => a.body.results[0].offset))).toEqual(new Set([before[0]]));
    expect((await logEndOffsets(topic))[0]).toBe(before[0]! + 1);
  });
});
