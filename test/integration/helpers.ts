import { runInDurableObject, SELF } from "cloudflare:test";
import { expect } from "vitest";

/** Calls the gateway Worker inside workerd, as a client would over HTTP. */
export async function api(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = { "content-type": "application/json" },
): Promise<{ status: number; body: any; text: string; headers: Headers }> {
  const init: RequestInit = { method, headers };
  if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
  const response = await SELF.fetch(`http://localhost${path}`, init);
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, body: parsed, text, headers: response.headers };
}

let counter = 0;
/** A topic name unique to this test run, so tests never share state. */
export function uniqueTopic(prefix = "t"): string {
  counter++;
  return `${prefix}-${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

export async function createTopic(config: Record<string, unknown> = {}): Promise<string> {
  const name = (config.name as string | undefined) ?? uniqueTopic();
  const res = await api("POST", "/v1/topics", { replicationFactor: 1, ...config, name });
  if (res.status !== 201) throw new Error(`create ${name}: ${res.status} ${res.text}`);
  return name;
}

export async function produce(topic: string, records: unknown[], acks = "1") {
  return api("POST", `/v1/topics/${topic}/records?acks=${acks}`, { records });
}

export async function fetchRecords(topic: string, partition: number, query: string) {
  return api("GET", `/v1/topics/${topic}/partitions/${partition}/records?${query}`);
}

/** Every record of a partition from offset 0 up to the high watermark. */
export async function readAll(topic: string, partition: number): Promise<any[]> {
  const records: any[] = [];
  let offset = 0;
  for (let i = 0; i < 1000; i++) {
    const res = await fetchRecords(topic, partition, `offset=${offset}&maxRecords=10000&maxBytes=16777216`);
    if (res.status !== 200) throw new Error(`fetch: ${res.status} ${res.text}`);
    records.push(...res.body.records);
    if (res.body.nextOffset >= res.body.highWatermark) return records;
    offset = res.body.nextOffset;
  }
  throw new Error("readAll did not reach the high watermark");
}

/** logEndOffset of each partition, from describe-topic. */
export async function logEndOffsets(topic: string): Promise<number[]> {
  const res = await api("GET", `/v1/topics/${topic}`);
  return res.body.partitionInfo.map((p: { logEndOffset: number }) => p.logEndOffset);
}

/** Test-only fault injection on one replica (mounted because the test build compiles faults in). */
export async function fault(topic: string, partition: number, replica: number, mode: string) {
  const res = await api("POST", "/v1/_faults", { topic, partition, replica, fault: mode });
  if (res.status !== 200) throw new Error(`fault ${mode}: ${res.status} ${res.text}`);
}

/** Each replica's own view of a partition (null where it did not answer). */
export async function replicaViews(topic: string, partition: number): Promise<any[]> {
  return (await api("GET", `/v1/_faults/replicas/${topic}/${partition}`)).body;
}

/**
 * Waits, bounded in time, for replication to converge (alarms and back-off run
 * on their own clock); answers the last value for the assertion that follows.
 */
export async function eventually<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await probe();
  }
  return value;
}

export async function describePartition(topic: string, partition = 0) {
  return (await api("GET", `/v1/topics/${topic}`)).body.partitionInfo[partition];
}

// ---- consumer groups ----

export async function join(group: string, body: Record<string, unknown>) {
  const res = await api("POST", `/v1/groups/${group}/members`, body);
  if (res.status !== 201) throw new Error(`join ${group}: ${res.status} ${res.text}`);
  return res.body as {
    memberId: string;
    generation: number;
    assignments: { topic: string; partition: number }[];
  };
}

export async function heartbeat(group: string, memberId: string) {
  return api("POST", `/v1/groups/${group}/members/${memberId}/heartbeat`);
}

export async function poll(group: string, memberId: string, query = "maxRecords=500") {
  return api("GET", `/v1/groups/${group}/members/${memberId}/records?${query}`);
}

export async function commit(group: string, memberId: string, generation: number, offsets: unknown[]) {
  return api("POST", `/v1/groups/${group}/offsets`, { memberId, generation, offsets });
}

export async function committedOffsets(group: string): Promise<Record<string, number>> {
  const res = await api("GET", `/v1/groups/${group}/offsets`);
  if (res.status === 404) return {};
  return Object.fromEntries(
    res.body.offsets.map((o: any) => [`${o.topic}/${o.partition}`, o.committedOffset]),
  );
}

let groupCounter = 0;
export function uniqueGroup(): string {
  groupCounter++;
  return `g-${Date.now().toString(36)}-${groupCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

// ---- WebSocket ----

export type TestSocket = {
  ws: WebSocket;
  frames: any[];
  send: (frame: unknown) => void;
  /** The next frame matching `match` (taking it out of `frames`), within `timeoutMs`. */
  next: (match?: (frame: any) => boolean, timeoutMs?: number, label?: string) => Promise<any>;
  closed: Promise<{ code: number; reason: string }>;
};

/**
 * Opens a WebSocket through the gateway, or straight to a `session` object the test
 * holds (so it can reach inside it, e.g. to inject a clock).
 */
export async function openSocket(session?: DurableObjectStub): Promise<TestSocket> {
  const { SELF } = await import("cloudflare:test");
  const init = { headers: { Upgrade: "websocket" } };
  const res = session
    ? await session.fetch("http://localhost/v1/ws", init)
    : await SELF.fetch("http://localhost/v1/ws", init);
  const ws = res.webSocket;
  if (!ws) throw new Error(`no upgrade: ${res.status} ${await res.text()}`);
  ws.accept();
  const frames: any[] = [];
  const listeners = new Set<() => void>();
  ws.addEventListener("message", (event) => {
    frames.push(JSON.parse(event.data as string));
    for (const l of [...listeners]) l();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason })),
  );
  const next = (match: (frame: any) => boolean = () => true, timeoutMs = 10_000, label = "") =>
    new Promise<any>((resolve, reject) => {
      const look = () => {
        for (let i = 0; i < frames.length; i++) {
          if (match(frames[i])) {
            const [frame] = frames.splice(i, 1);
            listeners.delete(look);
            clearTimeout(timer);
            resolve(frame);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        listeners.delete(look);
        reject(
          new Error(
            `no ${label || "matching"} frame within ${timeoutMs} ms; got ${JSON.stringify(frames).slice(0, 500)}`,
          ),
        );
      }, timeoutMs);
      listeners.add(look);
      look();
    });
  return {
    ws,
    frames,
    send: (frame) => ws.send(typeof frame === "string" ? frame : JSON.stringify(frame)),
    next,
    closed,
  };
}

/**
 * Restarts a Durable Object as a crash would: its memory is gone, its storage
 * stays. The call that aborts it may stay unanswered (its output gate breaks), so
 * it is not awaited beyond RESTART_CALL_MS; then waits, bounded, until a fresh
 * instance (one without the marker set before the abort) answers.
 */
export async function restartObject(stubOf: () => DurableObjectStub): Promise<void> {
  type Marked = { restartMarker?: boolean };
  const RESTART_CALL_MS = 1_000;
  const aborting = runInDurableObject(stubOf(), (instance: unknown, state: DurableObjectState) => {
    (instance as Marked).restartMarker = true;
    try {
      state.abort("test: restart");
    } catch {
      // abort throws by design
    }
  }).catch(() => undefined);
  await Promise.race([aborting, new Promise((resolve) => setTimeout(resolve, RESTART_CALL_MS))]);
  for (let i = 0; i < 200; i++) {
    // A new stub each time: a stub of an object that reset stays broken.
    const fresh = await runInDurableObject(
      stubOf(),
      (instance: unknown) => !(instance as Marked).restartMarker,
    ).catch(() => false);
    if (fresh) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("the object did not restart within 2 s");
}

/**
 * Sends a produce whose leader was just failed: the first answer is either accepted
 * or a clean 503 LEADER_NOT_AVAILABLE (asserted here, before the one retry: the
 * caller's offsets then show the refused attempt appended nothing).
 */
export async function sendAcrossFailover<T extends { status: number; body: any }>(
  send: () => Promise<T>,
): Promise<T> {
  const first = await send();
  if (first.status === 200) return first;
  const codes: unknown[] = first.body?.results?.map((r: any) => r.error?.code) ?? [first.body?.error?.code];
  if (first.status !== 503 || codes.some((code) => code !== "LEADER_NOT_AVAILABLE"))
    throw new Error(`the first answer across a failover was ${first.status} ${JSON.stringify(first.body)}`);
  return send();
}

/** `n` records with values `${tag}-0` … `${tag}-(n−1)`. */
export const values = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => ({ value: `${tag}-${i}` }));

/** Produces `perPartition` records to each of `partitions` partitions, values `${tag}-${p}-${i}`. */
export async function fill(topic: string, partitions: number, perPartition: number, tag = "v") {
  for (let p = 0; p < partitions; p++) {
    const records = Array.from({ length: perPartition }, (_, i) => ({
      value: `${tag}-${p}-${i}`,
      partition: p,
    }));
    expect((await produce(topic, records)).status).toBe(200);
  }
}
