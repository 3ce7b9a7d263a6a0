import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { RECORD_HEADERS_MAX } from "../../core/limits";
import { api, createTopic, fetchRecords, join, poll, uniqueGroup } from "./helpers";

/** API.md "Events and tracing": a produce request's trace context goes into its records. */

const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

function produceTraced(topic: string, records: unknown[], headers: Record<string, string>) {
  return api(
    "POST",
    `/v1/topics/${topic}/records?acks=1`,
    { records },
    {
      "content-type": "application/json",
      ...headers,
    },
  );
}

/** The records of the first `records` event of the partition's SSE tail from offset 0 (bounded in time). */
async function sseRecords(topic: string): Promise<unknown[]> {
  const res = await SELF.fetch(`http://localhost/v1/topics/${topic}/partitions/0/records?offset=0`, {
    headers: { accept: "text/event-stream" },
  });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const deadline = Date.now() + 10_000;
  let text = "";
  try {
    while (Date.now() < deadline) {
      const event = text.split("\n\n").find((block) => block.includes("event: records"));
      if (event) return JSON.parse(event.slice(event.indexOf("data:") + 5)).records;
      const chunk = await reader.read();
      if (chunk.done) break;
      text += chunk.value;
    }
  } finally {
    await reader.cancel();
  }
  throw new Error(`no records event within 10 s: ${text}`);
}

describe("trace context", () => {
  it("copies traceparent and tracestate into records without their own; reads return them", async () => {
    const topic = await createTopic();
    const own = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const produced = await produceTraced(
      topic,
      [
        { value: "plain" },
        { value: "other headers", headers: { app: "x", tracestate: "stale=1" } },
        { value: "own trace", headers: { traceparent: own } },
      ],
      { traceparent: TRACEPARENT, tracestate: "congo=t61rcWkgMzE" },
    );
    expect(produced.status).toBe(200);
    const expected = [
      { traceparent: TRACEPARENT, tracestate: "congo=t61rcWkgMzE" },
      { app: "x", traceparent: TRACEPARENT, tracestate: "congo=t61rcWkgMzE" },
      { traceparent: own },
    ];
    const fetched = await fetchRecords(topic, 0, "offset=0");
    expect(fetched.body.records.map((r: any) => r.headers)).toEqual(expected);
    const group = uniqueGroup();
    const member = await join(group, { topics: [topic], autoOffsetReset: "earliest" });
    const polled = await poll(group, member.memberId);
    expect(polled.body.records.map((r: any) => r.headers)).toEqual(expected);
    expect((await sseRecords(topic)).map((r: any) => r.headers)).toEqual(expected);
  });

  it("ignores an invalid traceparent (the request is not refused, nothing is copied)", async () => {
    const topic = await createTopic();
    for (const traceparent of ["garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"]) {
      const produced = await produceTraced(topic, [{ value: 1 }], { traceparent, tracestate: "a=b" });
      expect(produced.status).toBe(200);
    }
    const fetched = await fetchRecords(topic, 0, "offset=0");
    expect(fetched.body.records.map((r: any) => r.headers)).toEqual([{}, {}]);
  });

  it("counts the copied headers against the record's limits, saying so", async () => {
    const topic = await createTopic();
    const full = Object.fromEntries(Array.from({ length: RECORD_HEADERS_MAX }, (_, i) => [`h${i}`, "v"]));
    const refused = await produceTraced(topic, [{ value: 1, headers: full }], { traceparent: TRACEPARENT });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain("traceparent");
    // Without the request's trace context the same record fits; nothing was appended before.
    const accepted = await produceTraced(topic, [{ value: 1, headers: full }], {});
    expect(accepted.status).toBe(200);
    expect(accepted.body.results[0].offset).toBe(0);
  });
});
