// The workloads of npm run bench (bench/run.mjs): produce, fetch, groups, WebSocket and
// end-to-end latency against one edgelog server, each a median of RUNS bounded runs.
import { Agent } from "undici";
import WebSocket from "ws";
import { httpCall, KEEP_ALIVE_MS } from "./http.mjs";
import { median, percentile } from "./stats.mjs";
import { edgelog } from "./systems.mjs";

export const QUICK = process.argv.slice(2).includes("--quick");
export const RUNS = QUICK ? 1 : 3;
export const RUN_MS = QUICK ? 1_000 : 2_000;
export const WARMUP_MS = QUICK ? 500 : 1_000;
const REQUESTS_PER_RUN_MAX = 200_000;
const FETCH_LOG_RECORDS = QUICK ? 50_000 : 200_000;
const FETCH_MAX_RECORDS = 5_000;
const VALUE = "x".repeat(98); // as JSON text: 100 bytes
const GROUP_PARTITIONS = 4;
const GROUP_BATCH = 500;
const GROUP_LOG_RECORDS = QUICK ? 40_000 : 120_000;
const GROUP_RUN_MS_MAX = 30_000;
export const FAILOVER_SESSION_MS = 3_000;
export const WS_IN_FLIGHT = 8;
const ANSWER_TIMEOUT_MS = 10_000;
const E2E_MS = QUICK ? 2_000 : 3_000;

const agent = new Agent({ connections: 16, pipelining: 1, keepAliveTimeout: KEEP_ALIVE_MS });
let base = "";

/** Where the workloads send their requests. */
export function useServer(url) {
  base = url;
}

export function closeAgent() {
  return agent.close();
}

export function call(method, path, body) {
  return httpCall(agent, `${base}${path}`, method, body);
}

export async function createTopic(partitions, replicationFactor = 1) {
  const name = `bench-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
  const configs = { "min.insync.replicas": Math.min(2, replicationFactor) };
  await call("POST", "/v1/topics", JSON.stringify({ name, partitions, replicationFactor, configs }));
  return name;
}

export function produceBody(batch) {
  return JSON.stringify({ records: Array.from({ length: batch }, () => ({ value: VALUE })) });
}

/** Closed loop: `inFlight` workers send `send()` back to back for `runMs`; returns rate and latencies. */
export async function closedLoop(inFlight, send, runMs = RUN_MS) {
  const latencies = [];
  let units = 0;
  let requests = 0;
  const started = performance.now();
  const deadline = started + runMs;
  const worker = async () => {
    while (performance.now() < deadline && requests < REQUESTS_PER_RUN_MAX) {
      requests++;
      const t0 = performance.now();
      // Not `units += await send()`: that reads `units` before the await and loses concurrent updates.
      const sent = await send();
      units += sent;
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const meanMs = latencies.reduce((a, b) => a + b, 0) / latencies.length;
  return {
    perSecond: units / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    maxMs: latencies[latencies.length - 1],
    meanMs,
    requests,
  };
}

export async function benchProduce(batch, inFlight, acks = "1", replicationFactor = 1, idempotent = false) {
  const topic = await createTopic(1, replicationFactor);
  const body = produceBody(batch);
  const path = `/v1/topics/${topic}/records?acks=${acks}`;
  let acknowledged = 0;
  // Idempotent: one producer per request in flight (a producer applies its requests one at a time).
  const free = [];
  if (idempotent)
    for (let i = 0; i < inFlight; i++)
      free.push({ ...JSON.parse(await call("POST", "/v1/producers")), sequence: 0 });
  const records = JSON.parse(body).records;
  const send = async () => {
    if (!idempotent) await call("POST", path, body);
    else {
      const producer = free.pop();
      await call("POST", path, JSON.stringify({ records, producer }));
      producer.sequence++;
      free.push(producer);
    }
    acknowledged += batch;
    return batch;
  };
  await closedLoop(inFlight, send, WARMUP_MS); // warm-up run, not counted
  const runs = [];
  for (let r = 0; r < RUNS; r++) runs.push(await closedLoop(inFlight, send));
  // The figure counts only what the log really holds: every acknowledged record, no more.
  const { partitionInfo } = JSON.parse(await call("GET", `/v1/topics/${topic}`));
  if (partitionInfo[0].logEndOffset !== acknowledged)
    throw new Error(
      `${topic}: logEndOffset ${partitionInfo[0].logEndOffset} ≠ ${acknowledged} acknowledged records`,
    );
  const label =
    (replicationFactor === 1
      ? `produce b${batch} × ${inFlight}`
      : `acks=${acks} rf${replicationFactor} b${batch} × ${inFlight}`) + (idempotent ? " idem" : "");
  return summarise(label, runs, 100);
}

export async function benchFetch(inFlight) {
  const topic = await createTopic(1);
  const body = produceBody(1000);
  for (let n = 0; n < FETCH_LOG_RECORDS; n += 1000)
    await call("POST", `/v1/topics/${topic}/records?acks=1`, body);
  let next = 0;
  const send = async () => {
    const offset = next;
    next = (next + FETCH_MAX_RECORDS) % FETCH_LOG_RECORDS;
    const text = await call(
      "GET",
      `/v1/topics/${topic}/partitions/0/records?offset=${offset}&maxRecords=${FETCH_MAX_RECORDS}`,
    );
    return JSON.parse(text).records.length;
  };
  await closedLoop(inFlight, send, WARMUP_MS);
  const runs = [];
  for (let r = 0; r < RUNS; r++) runs.push(await closedLoop(inFlight, send));
  return summarise(`fetch ${FETCH_MAX_RECORDS}/req × ${inFlight}`, runs, 100);
}

/** Fills a 4-partition topic for the group benchmarks (bounded: GROUP_LOG_RECORDS). */
export async function groupTopic() {
  const topic = await createTopic(GROUP_PARTITIONS);
  for (let p = 0; p < GROUP_PARTITIONS; p++) {
    const body = JSON.stringify({
      records: Array.from({ length: 1000 }, () => ({ value: VALUE, partition: p })),
    });
    for (let n = 0; n < GROUP_LOG_RECORDS / GROUP_PARTITIONS; n += 1000)
      await call("POST", `/v1/topics/${topic}/records?acks=1`, body);
  }
  return topic;
}

/**
 * Consumes the whole topic through a fresh group of `members` members, each
 * polling 500 records and committing after every batch; records/s from the first
 * poll to the last record. Bounded by GROUP_RUN_MS_MAX.
 */
async function consumeOnce(topic, members) {
  const group = `bench-g-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
  const joined = [];
  for (let i = 0; i < members; i++)
    joined.push(
      JSON.parse(
        await call(
          "POST",
          `/v1/groups/${group}/members`,
          JSON.stringify({ topics: [topic], autoOffsetReset: "earliest" }),
        ),
      ),
    );
  let consumed = 0;
  const started = performance.now();
  const deadline = started + GROUP_RUN_MS_MAX;
  await Promise.all(
    joined.map(async (m) => {
      let generation = JSON.parse(
        await call("POST", `/v1/groups/${group}/members/${m.memberId}/heartbeat`),
      ).generation;
      while (consumed < GROUP_LOG_RECORDS && performance.now() < deadline) {
        const res = JSON.parse(
          await call("GET", `/v1/groups/${group}/members/${m.memberId}/records?maxRecords=${GROUP_BATCH}`),
        );
        generation = res.generation;
        if (res.records.length === 0) continue;
        consumed += res.records.length;
        const next = new Map();
        for (const r of res.records) next.set(r.partition, r.offset + 1);
        const offsets = [...next].map(([partition, offset]) => ({ topic, partition, offset }));
        await call(
          "POST",
          `/v1/groups/${group}/offsets`,
          JSON.stringify({ memberId: m.memberId, generation, offsets }),
        );
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  // Members leave when done, as a real consumer closes: no session expiry fires later, inside another workload.
  for (const m of joined) await call("DELETE", `/v1/groups/${group}/members/${m.memberId}`);
  if (consumed < GROUP_LOG_RECORDS)
    throw new Error(`group consumed ${consumed} of ${GROUP_LOG_RECORDS} records in time`);
  // Throughput only: per-request latencies of a consume loop are not a figure anyone asked for.
  return { perSecond: consumed / seconds, p50: null, p99: null, maxMs: null, meanMs: null, requests: 0 };
}

export async function benchGroup(topic, members) {
  await consumeOnce(topic, members); // warm-up
  const runs = [];
  for (let r = 0; r < RUNS; r++) runs.push(await consumeOnce(topic, members));
  return summarise(`group ${members} member${members > 1 ? "s" : ""} × ${GROUP_PARTITIONS}p`, runs, 100);
}

/**
 * A member goes silent; how long until another member is handed its partitions
 * and receives their records (target: within sessionTimeoutMs + 2 s).
 */
export async function groupFailover(topic) {
  const group = `bench-f-${Date.now().toString(36)}`;
  const join = async (sessionTimeoutMs) =>
    JSON.parse(
      await call(
        "POST",
        `/v1/groups/${group}/members`,
        JSON.stringify({ topics: [topic], autoOffsetReset: "earliest", sessionTimeoutMs }),
      ),
    );
  const dying = await join(FAILOVER_SESSION_MS);
  const live = await join(30_000);
  const owned = new Set(
    JSON.parse(await call("POST", `/v1/groups/${group}/members/${dying.memberId}/heartbeat`)).assignments.map(
      (a) => a.partition,
    ),
  );
  const silentAt = performance.now(); // the dying member sends nothing from now on
  while (performance.now() - silentAt < FAILOVER_SESSION_MS + 10_000) {
    const res = JSON.parse(
      await call("GET", `/v1/groups/${group}/members/${live.memberId}/records?maxRecords=100&waitMs=100`),
    );
    if (res.records.some((r) => owned.has(r.partition))) {
      const elapsed = performance.now() - silentAt;
      await call("DELETE", `/v1/groups/${group}/members/${live.memberId}`);
      return elapsed;
    }
  }
  throw new Error("the silent member's partitions were not delivered to the other member");
}

/** A WebSocket to the gateway. Errors after it opened are recorded on `ws.failure`, never left unhandled. */
function openSocket() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace("http", "ws")}/v1/ws`);
    ws.failure = null;
    ws.once("open", () => {
      ws.on("error", (error) => {
        ws.failure = error;
      });
      resolve(ws);
    });
    ws.once("error", reject);
  });
}

/** Produce over one WebSocket: 100-record frames, WS_IN_FLIGHT unanswered at a time, for RUN_MS. */
async function wsProduceOnce(topic, ws) {
  const frame = (id) =>
    JSON.stringify({
      op: "produce",
      id,
      topic,
      acks: "1",
      records: Array.from({ length: 100 }, () => ({ value: VALUE })),
    });
  let next = 0;
  let acked = 0;
  const pending = new Map();
  let failure = null;
  ws.on("message", (data) => {
    const f = JSON.parse(String(data));
    if (f.op === "error")
      failure = new Error(`produce over WebSocket refused: ${String(data).slice(0, 200)}`);
    const done = pending.get(f.id);
    if (!done) return;
    pending.delete(f.id);
    if (f.op !== "produced" || f.status !== 200)
      failure = new Error(`produce over WebSocket failed: ${String(data).slice(0, 200)}`);
    else acked += f.results.length;
    done();
  });
  const started = performance.now();
  const deadline = started + RUN_MS;
  const lane = async () => {
    while (performance.now() < deadline && next < REQUESTS_PER_RUN_MAX && failure === null) {
      const id = next++;
      // Bounded: an answer that does not come within ANSWER_TIMEOUT_MS fails the benchmark.
      await new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no answer to produce frame ${id}`)),
          ANSWER_TIMEOUT_MS,
        );
        pending.set(id, () => {
          clearTimeout(timer);
          resolve();
        });
        ws.send(frame(id));
      });
    }
  };
  await Promise.all(Array.from({ length: WS_IN_FLIGHT }, lane));
  ws.removeAllListeners("message");
  if (failure) throw failure;
  return {
    perSecond: acked / ((performance.now() - started) / 1000),
    p50: null,
    p99: null,
    maxMs: null,
    meanMs: null,
    requests: next,
    acked,
  };
}

export async function benchWsProduce() {
  const topic = await createTopic(1);
  const ws = await openSocket();
  let acked = (await wsProduceOnce(topic, ws)).acked; // warm-up
  const runs = [];
  for (let r = 0; r < RUNS; r++) {
    const run = await wsProduceOnce(topic, ws);
    acked += run.acked;
    runs.push(run);
  }
  ws.close();
  const { partitionInfo } = JSON.parse(await call("GET", `/v1/topics/${topic}`));
  if (partitionInfo[0].logEndOffset !== acked)
    throw new Error(`WebSocket produce: log holds ${partitionInfo[0].logEndOffset}, acknowledged ${acked}`);
  return summarise(`ws produce b100 × ${WS_IN_FLIGHT}`, runs, 100);
}

/**
 * Open loop (bench/systems.mjs e2eRun): every 10 ms a batch of rate / 100 records is produced
 * over HTTP (acks=1) whether or not earlier ones were answered; a WebSocket tail
 * receives them. Latency = arrival − the batch's intended send time, so a stall
 * counts against every record scheduled during it (no coordinated omission).
 */
export async function e2eLatency(rate) {
  // The side-by-side suite's edgelog end-to-end run: HTTP produce (acks=1) → WebSocket tail.
  const system = edgelog(base, "1");
  const handle = await system.open(1);
  let latencies;
  try {
    latencies = await handle.e2e(rate, E2E_MS);
  } finally {
    await handle.close();
    await system.shutdown();
  }
  latencies.sort((a, b) => a - b);
  const buckets = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000];
  return {
    name: `e2e produce→ws @ ${rate}/s`,
    rate,
    records: latencies.length,
    p50Ms: +percentile(latencies, 50).toFixed(2),
    p99Ms: +percentile(latencies, 99).toFixed(2),
    p999Ms: +percentile(latencies, 99.9).toFixed(2),
    maxMs: +latencies[latencies.length - 1].toFixed(2),
    histogram: buckets.map((le) => ({ le, count: latencies.filter((l) => l <= le).length })),
  };
}

export function summarise(name, runs, bytesPerUnit) {
  const perSecond = median(runs.map((r) => r.perSecond));
  return {
    name,
    recordsPerSecond: Math.round(perSecond),
    megabytesPerSecond: +((perSecond * bytesPerUnit) / 1e6).toFixed(1),
    p50Ms: runs[0].p50 === null ? null : +median(runs.map((r) => r.p50)).toFixed(2),
    p99Ms: runs[0].p99 === null ? null : +median(runs.map((r) => r.p99)).toFixed(2),
    runs: runs.map((r) => ({
      recordsPerSecond: Math.round(r.perSecond),
      p50Ms: r.p50 === null ? null : +r.p50.toFixed(2),
      p99Ms: r.p99 === null ? null : +r.p99.toFixed(2),
      meanMs: r.meanMs === null ? null : +r.meanMs.toFixed(2),
      maxMs: r.maxMs === null ? null : +r.maxMs.toFixed(1),
      requests: r.requests,
    })),
  };
}
