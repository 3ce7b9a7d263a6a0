import { describe, expect, it } from "vitest";
import { PRODUCER_QUEUE_MAX } from "../../core/limits";
import { api, createTopic, fault, logEndOffsets } from "./helpers";

describe("every 429 carries retry-after (API.md)", () => {
  it("an idempotent producer with too many requests waiting: 429 with retry-after ≥ 1, nothing appended", async () => {
    const topic = await createTopic();
    const producer = (await api("POST", "/v1/producers")).body;
    // The leader hangs: the first request holds the producer's turn, the next ones wait behind it.
    await fault(topic, 0, 0, "hang");
    const before = await logEndOffsets(topic);
    const requests = Array.from({ length: PRODUCER_QUEUE_MAX + 2 }, (_, sequence) =>
      api("POST", `/v1/topics/${topic}/records?acks=1`, {
        records: [{ value: sequence, partition: 0 }],
        producer: { ...producer, sequence },
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
    // A refused request appended nothing: the log holds exactly the records of the answered ones.
    const appended = answers.filter((a) => a.status === 200).length;
    expect((await logEndOffsets(topic))[0]).toBe(before[0]! + appended);
  });
});
