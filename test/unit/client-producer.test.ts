import { describe, expect, it } from "vitest";
import { backoffMs, Edgelog } from "../../client/src/index";
import { partitionForKey } from "../../core/partitioner";

/**
 * The SDK producer against a scripted gateway (a fetch function that answers as
 * API.md says): batching, retries with back-off, ordering, idempotent repeats.
 * The real gateway is exercised end to end in test/e2e/client*.test.ts.
 */

type Sent = { path: string; body: any };

/** A gateway of `partitions` partitions per topic that appends in memory; `fail(n)` answers the nth produce request (0-based) with a fault. */
function scriptedGateway(
  partitions = 4,
  fail: (n: number, sent: Sent) => Response | "drop" | null = () => null,
) {
  const sent: Sent[] = [];
  const logs = new Map<string, unknown[]>();
  const applied = new Map<string, unknown>(); // producer id:sequence → answer (the gateway's dedup)
  let producers = 0;
  let produceCount = 0;
  const fetch = async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const path = new URL(String(url)).pathname + new URL(String(url)).search;
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    if (path === "/v1/producers") return Response.json({ id: `p${producers++}`, epoch: 0 });
    const topic = /^\/v1\/topics\/([^/?]+)/.exec(path)?.[1];
    if (init?.method === "GET") return Response.json({ name: topic, partitions });
    const entry = { path, body };
    const n = produceCount++;
    const fault = fail(n, entry);
    const key = body.producer ? `${body.producer.id}:${body.producer.sequence}` : null;
    const apply = () => {
      if (key && applied.has(key)) return applied.get(key);
      sent.push(entry);
      const results = body.records.map((r: any) => {
        const log = logs.get(`${topic}/${r.partition}`) ?? [];
        logs.set(`${topic}/${r.partition}`, log);
        log.push(r.value);
        return { partition: r.partition, offset: log.length - 1, timestamp: r.timestamp };
      });
      const answer = { topic, results };
      if (key) applied.set(key, answer);
      return answer;
    };
    if (fault === "drop") {
      apply(); // applied, but the answer is lost (a crash after the commit)
      throw new TypeError("fetch failed");
    }
    if (fault) return fault;
    return Response.json(apply());
  };
  return { fetch: fetch as typeof globalThis.fetch, sent, logs };
}

const retriable = (status = 503, code = "LEADER_NOT_AVAILABLE", headers: Record<string, string> = {}) =>
  Response.json({ error: { code, message: "try again", retriable: true } }, { status, headers });
const fastBackoff = { baseMs: 1, maxMs: 5 };

describe("SDK producer (scripted gateway)", () => {
  it("batches records per partition within lingerMs; keys go where the gateway's murmur2 puts them", async () => {
    const gw = scriptedGateway(4);
    const producer = new Edgelog({ url: "http://gw", fetch: gw.fetch }).producer({
      lingerMs: 20,
      maxInFlight: 1,
    });
    const keys = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    const results = await Promise.all(keys.map((key, i) => producer.send({ topic: "t", key, value: i })));
    for (const [i, r] of results.entries()) expect(r.partition).toBe(partitionForKey(keys[i]!, 4));
    // One lane, one topic: everything lingered into one request.
    expect(gw.sent).toHaveLength(1);
    expect(gw.sent[0]!.body.records).toHaveLength(40);
    await producer.close();
  });

  it("a batch never exceeds batchMaxRecords or batchMaxBytes (one record over the bytes still goes alone)", async () => {
    const gw = scriptedGateway(1);
    const producer = new Edgelog({ url: "http://gw", fetch: gw.fetch }).producer({
      lingerMs: 50,
      maxInFlight: 1,
      batchMaxRecords: 7,
      batchMaxBytes: 400,
    });
    const sends = Array.from({ length: 30 }, (_, i) =>
      producer.send({ topic: "t", partition: 0, value: "x".repeat(i === 3 ? 600 : 40) }),
    );
    await Promise.all(sends);
    for (const { body } of gw.sent) {
      expect(body.records.length).toBeLessThanOrEqual(7);
      const bytes = body.records.reduce((n: number, r: unknown) => n + JSON.stringify(r).length, 0);
      if (body.records.length > 1) expect(bytes).toBeLessThanOrEqual(400);
    }
    expect(gw.sent.flatMap((s) => s.body.records)).toHaveLength(30);
  });

  it("keeps send order per partition across retries, and answers each record its own offset", async () => {
    // Every third request fails retriably: the lane repeats it before anything after it.
    const gw = scriptedGateway(3, (n) => (n % 3 === 1 ? retriable() : null));
    const producer = new Edgelog({ url: "http://gw", fetch: gw.fetch }).producer({
      lingerMs: 1,
      batchMaxRecords: 5,
      backoff: fastBackoff,
    });
    const sends = [];
    for (let i = 0; i < 300; i++) sends.push(producer.send({ topic: "t", partition: i % 3, value: i }));
    const results = await Promise.all(sends);
    for (let p = 0; p < 3; p++) {
      const expected = Array.from({ length: 100 }, (_, j) => j * 3 + p);
      expect(gw.logs.get(`t/${p}`)).toEqual(expected);
    }
    for (const [i, r] of results.entries())
      expect(r).toMatchObject({ partition: i % 3, offset: Math.floor(i / 3) });
  });

  it("idempotent: an answer lost after the append is repeated with the same sequence and body, and appended once", async () => {
    const gw = scriptedGateway(1, (n) => (n === 0 || n === 2 ? "drop" : null));
    const producer = new Edgelog({ url: "http://gw", fetch: gw.fetch }).producer({
      lingerMs: 1,
      backoff: fastBackoff,
    });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => producer.send({ topic: "t", partition: 0, value: i })),
    );
    expect(gw.logs.get("t/0")).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]); // each once, in order
    expect(results.map((r) => r.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("a plain (non-idempotent) producer repeats too, and so may duplicate, as Kafka's without idempotence", async () => {
    const gw = scriptedGateway(1, (n) => (n === 0 ? "drop" : null));
    const producer = new Edgelog({ url: "http://gw", fetch: gw.fetch }).producer({
      idempotent: false,
      acks: "1",
      backoff: fastBackoff,
    });
    await producer.send({ topic: "t", partition: 0, value: "once?" });
    expect(gw.logs.get("t/0")).toEqual(["once?", "once?"]);
  });

  it("gives up at deliveryTimeoutMs with the last error; a non-retriable error fails at once", async () => {
    const gw = scriptedGateway(1, () => retriable());
    const producer = new Edgelog({ url: "http://gw", fetch: gw.fetch }).producer({
      deliveryTimeoutMs: 100,
      backoff: fastBackoff,
    });
    const started = Date.now();
    await expect(producer.send({ topic: "t", partition: 0, value: 1 })).rejects.toMatchObject({
      code: "LEADER_NOT_AVAILABLE",
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    const refusing = scriptedGateway(1, () =>
      Response.json(
        { error: { code: "TOPIC_AUTHORIZATION_FAILED", message: "no", retriable: false } },
        { status: 403 },
      ),
    );
    const p2 = new Edgelog({ url: "http://gw", fetch: refusing.fetch }).producer({ backoff: fastBackoff });
    await expect(p2.send({ topic: "t", partition: 0, value: 1 })).rejects.toMatchObject({
      code: "TOPIC_AUTHORIZATION_FAILED",
      status: 403,
    });
  });

  it("waits at least the retry-after a 429 asks for", async () => {
    const gw = scriptedGateway(1, (n) =>
      n === 0 ? retriable(429, "THROTTLING_QUOTA_EXCEEDED", { "retry-after": "1" }) : null,
    );
    const producer = new Edgelog({ url: "http://gw", fetch: gw.fetch }).producer({ backoff: fastBackoff });
    const started = Date.now();
    await producer.send({ topic: "t", partition: 0, value: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
  });

  it("back-off: exponential ceiling, full jitter, never below the floor", () => {
    const high = { baseMs: 100, maxMs: 1_000, random: () => 0.999 };
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffMs(high, a))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoffMs({ ...high, random: () => 0 }, 5)).toBe(0);
    expect(backoffMs({ ...high, random: () => 0 }, 5, 2_000)).toBe(2_000);
  });

  it("acks=0 answers offset -1 and refuses idempotence", async () => {
    const gw = scriptedGateway(1, () => Response.json({ accepted: 1 }, { status: 202 }));
    const producer = new Edgelog({ url: "http://gw", fetch: gw.fetch }).producer({ acks: "0" });
    expect(await producer.send({ topic: "t", partition: 0, value: 1 })).toMatchObject({
      offset: -1,
      partition: 0,
    });
    expect(() =>
      new Edgelog({ url: "http://gw", fetch: gw.fetch }).producer({ acks: "0", idempotent: true }),
    ).toThrow();
  });
});
