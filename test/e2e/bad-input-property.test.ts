import fc from "fast-check";
import { request } from "undici";
import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { ERRORS } from "../../core/errors";
import { testSeed } from "../seed";
import {
  badInputEndpoints,
  JSON_HEADERS,
  type Malformed,
  malformed,
  notJson,
  notObject,
} from "./bad-input-cases";
import { LocalServer, tempStateDir } from "./server";

/**
 * Generated bad input (issue 11): fast-check builds malformed requests for every
 * endpoint (a valid request with one part broken: a field of the wrong type or out
 * of range, an unknown field, a missing one, a body that is not JSON or not an
 * object, a wrong content type, an unknown or repeated query parameter, an illegal
 * path segment) and malformed WebSocket frames. Each must get a 4xx with the error
 * envelope (or an `error` frame), never a 5xx, and change nothing: the topic's
 * offsets, the group's members and committed offsets are the same afterwards.
 * Sent over real HTTP and a real WebSocket to the server `npm start` runs.
 */

/** Generated requests per endpoint: 29 endpoints × 60 = 1,740 a run. */
const RUNS_PER_ENDPOINT = 60;
/** Generated WebSocket frames a run. */
const FRAME_RUNS = 320;
const SEED = testSeed("bad-input-property");

const server = new LocalServer(tempStateDir());

/** One request over real HTTP; the body as text, parsed when it is JSON. */
async function api(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = JSON_HEADERS,
) {
  const res = await request(`${server.url}${path}`, {
    method: method as "GET",
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.statusCode, body: parsed, text };
}

/** A WebSocket whose frames are read one at a time, each within a bound. */
async function openSocket() {
  const ws = new WebSocket(`${server.url.replace("http", "ws")}/v1/ws`);
  const frames: any[] = [];
  const waiting: ((frame: any) => void)[] = [];
  ws.on("message", (data) => {
    const frame = JSON.parse(data.toString());
    const waiter = waiting.shift();
    if (waiter) waiter(frame);
    else frames.push(frame);
  });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  const next = () =>
    frames.length > 0
      ? Promise.resolve(frames.shift())
      : new Promise<any>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error("no frame within 10 s")), 10_000);
          waiting.push((frame) => {
            clearTimeout(timer);
            resolve(frame);
          });
        });
  return { ws, frames, next, send: (text: string) => ws.send(text) };
}

/** What a refused request must not change: the topic's offsets, the group's members and commits. */
async function snapshot(topic: string, group: string) {
  const described = await api("GET", `/v1/topics/${topic}`);
  const groupView = await api("GET", `/v1/groups/${group}`);
  const offsets = await api("GET", `/v1/groups/${group}/offsets`);
  const topics = await api("GET", "/v1/topics");
  return {
    topicNames: topics.body.topics
      .map((t: any) => t.name)
      .filter((n: string) => n.startsWith("bp-"))
      .sort(),
    configs: described.body.configs,
    partitions: described.body.partitionInfo.map((p: any) => [
      p.logStartOffset,
      p.highWatermark,
      p.logEndOffset,
    ]),
    generation: groupView.body.generation,
    members: groupView.body.members.map((m: any) => [m.memberId, JSON.stringify(m.assignments)]),
    committed: offsets.body.offsets.map((o: any) => [o.topic, o.partition, o.committedOffset]),
    acls: (await api("GET", "/v1/acls")).body,
    principals: (await api("GET", "/v1/principals")).body,
    quotas: (await api("GET", "/v1/quotas")).body,
  };
}

function expectRefused(request: Malformed, status: number, body: any, text = ""): void {
  const what = `${request.method} ${request.path} ${request.body?.slice(0, 200) ?? ""} → ${status} ${text.slice(0, 300)}`;
  expect(status, what).toBeGreaterThanOrEqual(400);
  expect(status, what).toBeLessThan(500);
  expect(typeof body?.error?.message, what).toBe("string");
  expect(ERRORS[body.error.code as keyof typeof ERRORS]?.status, what).toBe(status);
  expect(body.error.retriable, what).toBe(ERRORS[body.error.code as keyof typeof ERRORS].retriable);
}

describe("generated malformed requests: a 4xx with the envelope, and nothing changes", async () => {
  await server.start();
  afterAll(() => server.stop());
  const topic = `bp-${Date.now().toString(36)}`;
  await api("POST", "/v1/topics", { name: topic, partitions: 2, replicationFactor: 1 });
  await api("POST", `/v1/topics/${topic}/records?acks=1`, {
    records: [
      { value: "a", partition: 0 },
      { value: "b", partition: 1 },
    ],
  });
  const group = "bp-group";
  const joined = await api("POST", `/v1/groups/${group}/members`, {
    topics: [topic],
    sessionTimeoutMs: 300_000,
    autoOffsetReset: "earliest",
  });
  const member: string = joined.body.memberId;
  const generation: number = joined.body.generation;
  await api("POST", `/v1/groups/${group}/offsets`, {
    memberId: member,
    generation,
    offsets: [{ topic, partition: 0, offset: 1 }],
  });
  const endpoints = badInputEndpoints({ topic, group, member, generation });

  const before = await snapshot(topic, group);
  const sent = { count: 0 };

  it.each(endpoints.map((e) => [e.name, e] as const))("%s", async (_name, endpoint) => {
    await fc.assert(
      fc.asyncProperty(malformed(endpoint), async (request) => {
        const res = await api(request.method, request.path, request.body, request.headers ?? {});
        sent.count++;
        expectRefused(request, res.status, res.body, res.text);
      }),
      { seed: SEED, numRuns: RUNS_PER_ENDPOINT },
    );
    expect(await snapshot(topic, group)).toEqual(before);
  });

  it(`sent at least 1,000 generated requests, and the state is as before`, async () => {
    expect(sent.count).toBeGreaterThanOrEqual(1_000);
    expect(await snapshot(topic, group)).toEqual(before);
  });

  it(`${FRAME_RUNS} generated malformed WebSocket frames each get an error frame and change nothing`, async () => {
    const opFrames = fc.oneof(
      fc.record({ op: fc.constantFrom("nope", "", "SUBSCRIBE", "records"), id: fc.integer() }),
      fc.record({
        op: fc.constant("subscribe"),
        id: fc.integer(),
        topic: fc.constantFrom(topic, "bad name", "", 5),
        partition: fc.constantFrom(-1, 9, "0", 1.5),
      }),
      fc.record({
        op: fc.constant("subscribe"),
        id: fc.integer(),
        topic: fc.constant(topic),
        partition: fc.constant(0),
        offset: fc.constantFrom(-1, "x", 99, 1.5),
      }),
      fc.record({
        op: fc.constant("subscribe"),
        id: fc.integer(),
        group: fc.constantFrom(".", "..", "a b", "", 5),
        topics: fc.constant([topic]),
      }),
      fc.record({
        op: fc.constant("credit"),
        subscription: fc.integer(),
        credits: fc.constantFrom(0, -1, "x", 1e9),
      }),
      fc.record({
        op: fc.constant("commit"),
        id: fc.integer(),
        offsets: fc.constant([{ topic, partition: 0, offset: 1 }]),
      }),
      fc.record({
        op: fc.constant("produce"),
        id: fc.integer(),
        topic: fc.constant(topic),
        acks: fc.constantFrom("1", "2", 1),
        records: fc.constantFrom([], "x", [{}], [{ value: 1, partition: 9 }], [{ key: 5, value: 1 }]),
      }),
      fc.record({ op: fc.constant("unsubscribe"), id: fc.integer() }),
    );
    // Valid-looking frames with one field broken, unknown fields, and frames that are not objects.
    const frames = fc.oneof(
      { weight: 6, arbitrary: opFrames.map((f) => JSON.stringify(f)) },
      { weight: 1, arbitrary: opFrames.map((f) => JSON.stringify({ ...f, zzUnknown: 1 })) },
      { weight: 1, arbitrary: notObject.map((v) => JSON.stringify(v)) },
      { weight: 1, arbitrary: notJson },
    );
    const s = await openSocket();
    let frameCount = 0;
    await fc.assert(
      fc.asyncProperty(frames, async (frame) => {
        s.send(frame);
        frameCount++;
        const answer = await s.next();
        expect(answer.op, `${frame} → ${JSON.stringify(answer)}`).toBe("error");
        expect(ERRORS[answer.error.code as keyof typeof ERRORS]?.status, frame).toBeLessThan(500);
        expect(typeof answer.error.message).toBe("string");
        // Not JSON three times in a row closes the socket: a JSON frame in between keeps it open.
        s.send(JSON.stringify({ op: "unsubscribe", id: "keep-open" }));
        expect((await s.next()).id).toBe("keep-open");
      }),
      { seed: SEED, numRuns: FRAME_RUNS },
    );
    expect(frameCount).toBeGreaterThanOrEqual(300);
    expect(s.frames).toEqual([]);
    s.ws.close(1000);
    expect(await snapshot(topic, group)).toEqual(before);
  });
});
