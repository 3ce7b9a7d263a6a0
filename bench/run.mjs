#!/usr/bin/env node
// npm run bench [-- --quick] [-- --url http://127.0.0.1:8787] [-- --auth: only the cost of credentials]
//   [-- --client: only the SDK against raw HTTP, and the CLI]
//   [-- --compare REV: only produce and consume, this tree against commit REV in one run]
// Starts a local edgelog server (unless --url is given), then measures, client-side:
//   produce throughput at batch 1 / 100 / 1000 records × 1 / 4 requests in flight (acks=1,
//   100-byte JSON values), fetch throughput, and single-record produce latency (p50/p99).
// Then acks=1 vs acks=all on a replicated topic (RF 3, min.insync.replicas 2) at batch 1 × 1 and 100 × 4.
// Then the later issues' workloads (groups, WebSocket, end-to-end latency, idempotent produce),
// and last the side-by-side suite of bench/suite.mjs: the same workloads on edgelog and its peers
// (Redis Streams, NATS JetStream), installed and started on loopback by bench/peers.mjs.
// Every figure is the median of RUNS runs; every loop is bounded in count and time.
// Prints tables and targets, writes JSON and an SVG chart under bench/results/.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Agent } from "undici";
import WebSocket from "ws";
import { LocalServer, tempStateDir } from "../scripts/local-server.mjs";
import { benchAuthCost, printAuthCost } from "./auth.mjs";
import { benchClient, printClient } from "./client.mjs";
import { benchCompare, printCompare } from "./compare.mjs";
import { httpCall } from "./http.mjs";
import { stopAllPeers } from "./peers.mjs";
import { printSuite, suiteChart, suiteTargets } from "./report.mjs";
import { runSuite } from "./suite.mjs";
import { edgelog } from "./systems.mjs";

const args = process.argv.slice(2);
const QUICK = args.includes("--quick");
const urlArg = args.indexOf("--url");
const RUNS = QUICK ? 1 : 3;
const RUN_MS = QUICK ? 1_000 : 2_000;
const WARMUP_MS = QUICK ? 500 : 1_000;
const REQUESTS_PER_RUN_MAX = 200_000;
const FETCH_LOG_RECORDS = QUICK ? 50_000 : 200_000;
const FETCH_MAX_RECORDS = 5_000;
const VALUE = "x".repeat(98); // as JSON text: 100 bytes
const GROUP_PARTITIONS = 4;
const GROUP_BATCH = 500;
const GROUP_LOG_RECORDS = QUICK ? 40_000 : 120_000;
const GROUP_RUN_MS_MAX = 30_000;
const FAILOVER_SESSION_MS = 3_000;
const WS_IN_FLIGHT = 8;
const ANSWER_TIMEOUT_MS = 10_000;
const E2E_MS = QUICK ? 2_000 : 3_000;
const TARGETS = {
  produceB100x4: 60_000,
  fetch: 200_000,
  singleP50Ms: 3,
  wsProduce: 100_000,
  e2eP99At1k: 20,
  e2eP99At10k: 50,
  group1: 100_000,
  acksAllRatio: 0.5,
  acksAllP99Ms: 10,
  idempotentRatio: 0.9,
};

const agent = new Agent({ connections: 16, pipelining: 1, keepAliveTimeout: 30_000 });
let base = "";

function call(method, path, body) {
  return httpCall(agent, `${base}${path}`, method, body);
}

async function createTopic(partitions, replicationFactor = 1) {
  const name = `bench-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
  const configs = { "min.insync.replicas": Math.min(2, replicationFactor) };
  await call("POST", "/v1/topics", JSON.stringify({ name, partitions, replicationFactor, configs }));
  return name;
}

function produceBody(batch) {
  return JSON.stringify({ records: Array.from({ length: batch }, () => ({ value: VALUE })) });
}

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Closed loop: `inFlight` workers send `send()` back to back for `runMs`; returns rate and latencies. */
async function closedLoop(inFlight, send, runMs = RUN_MS) {
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

async function benchProduce(batch, inFlight, acks = "1", replicationFactor = 1, idempotent = false) {
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

async function benchFetch(inFlight) {
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
async function groupTopic() {
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

async function benchGroup(topic, members) {
  await consumeOnce(topic, members); // warm-up
  const runs = [];
  for (let r = 0; r < RUNS; r++) runs.push(await consumeOnce(topic, members));
  return summarise(`group ${members} member${members > 1 ? "s" : ""} × ${GROUP_PARTITIONS}p`, runs, 100);
}

/**
 * A member goes silent; how long until another member is handed its partitions
 * and receives their records (target: within sessionTimeoutMs + 2 s).
 */
async function groupFailover(topic) {
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

async function benchWsProduce() {
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
async function e2eLatency(rate) {
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

function summarise(name, runs, bytesPerUnit) {
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

async function main() {
  if (args.includes("--auth")) {
    // Focused: the cost of credentials alone (bench/auth.mjs starts its own two servers).
    const auth = await benchAuthCost({ quick: QUICK });
    printAuthCost(auth);
    for (const t of auth.targets) console.log(`  ${t.met ? "met   " : "MISSED"} ${t.target}: ${t.measured}`);
    return;
  }
  const compareArg = args.indexOf("--compare");
  if (compareArg >= 0) {
    // Focused: this tree against an earlier commit, on two servers of one run (bench/compare.mjs).
    const c = await benchCompare({ rev: args[compareArg + 1] ?? "HEAD", quick: QUICK });
    printCompare(c);
    for (const t of c.targets) console.log(`  ${t.met ? "met   " : "MISSED"} ${t.target}: ${t.measured}`);
    return;
  }
  if (args.includes("--client")) {
    const c = await benchClient({ quick: QUICK });
    printClient(c);
    for (const t of c.targets) console.log(`  ${t.met ? "met   " : "MISSED"} ${t.target}: ${t.measured}`);
    return;
  }
  let server = null;
  if (urlArg >= 0) base = args[urlArg + 1];
  else {
    server = new LocalServer(tempStateDir());
    // Whatever happens, the server (its own process group) must not outlive the benchmark.
    const stopAndExit = (reason) => {
      console.error(reason);
      stopAllPeers();
      server?.stop("SIGKILL").finally(() => process.exit(1));
    };
    process.once("uncaughtException", stopAndExit);
    process.once("unhandledRejection", stopAndExit);
    process.once("SIGINT", () => stopAndExit("interrupted"));
    process.once("SIGTERM", () => stopAndExit("terminated"));
    await server.start();
    base = server.url;
  }
  const results = [];
  let failoverMs = Number.NaN;
  const latency = [];
  let suite = null;
  const started = performance.now();
  try {
    if (args.includes("--idempotence")) {
      // A focused comparison for profiling: plain and idempotent acks=all, alternating.
      for (let i = 0; i < 3; i++)
        for (const idem of [false, true]) {
          const r = await benchProduce(100, 4, "all", 3, idem);
          console.log(`${r.name}: ${r.recordsPerSecond} rec/s p50 ${r.p50Ms} ms`);
        }
      return;
    }
    // The quick run keeps the cells its targets need (the side-by-side suite covers the rest).
    const cells = QUICK
      ? [
          [1, 1],
          [100, 4],
        ]
      : [1, 100, 1000].flatMap((batch) => [1, 4].map((inFlight) => [batch, inFlight]));
    for (const [batch, inFlight] of cells) {
      const r = await benchProduce(batch, inFlight);
      results.push(r);
      console.error(`${r.name}: ${r.recordsPerSecond} rec/s ${JSON.stringify(r.runs)}`);
    }
    // Replication (issue 3): acks=1 and acks=all on the same settings, RF 3, min.insync.replicas 2.
    for (const acks of ["1", "all"])
      for (const [batch, inFlight] of [
        [1, 1],
        [100, 4],
      ]) {
        const r = await benchProduce(batch, inFlight, acks, 3);
        results.push(r);
        console.error(`${r.name}: ${r.recordsPerSecond} rec/s ${JSON.stringify(r.runs)}`);
      }
    // Idempotent producers (issue 6): the same acks=all workload with a producer id per request in flight.
    const idem = await benchProduce(100, 4, "all", 3, true);
    results.push(idem);
    console.error(`${idem.name}: ${idem.recordsPerSecond} rec/s ${JSON.stringify(idem.runs)}`);
    const topic = await groupTopic();
    for (const members of [1, 3]) {
      const r = await benchGroup(topic, members);
      results.push(r);
      console.error(`${r.name}: ${r.recordsPerSecond} rec/s ${JSON.stringify(r.runs)}`);
    }
    failoverMs = Math.round(await groupFailover(topic));
    console.error(`group failover: ${failoverMs} ms (session ${FAILOVER_SESSION_MS} ms)`);
    const wsProduce = await benchWsProduce();
    results.push(wsProduce);
    console.error(`${wsProduce.name}: ${wsProduce.recordsPerSecond} rec/s`);
    for (const rate of [1_000, 10_000]) {
      // Median of RUNS runs, by p99, as every other figure.
      const runs = [];
      for (let r = 0; r < RUNS; r++) runs.push(await e2eLatency(rate));
      runs.sort((a, b) => a.p99Ms - b.p99Ms);
      const e = {
        ...runs[Math.floor(runs.length / 2)],
        runs: runs.map(({ histogram, ...figures }) => figures),
      };
      latency.push(e);
      console.error(`${e.name}: p50 ${e.p50Ms} ms, p99 ${e.p99Ms} ms, p99.9 ${e.p999Ms} ms`);
    }
    for (const inFlight of [1, 4]) {
      const r = await benchFetch(inFlight);
      results.push(r);
      console.error(`${r.name}: ${r.recordsPerSecond} rec/s`);
    }
    // Issue 7: the same workloads on edgelog and its peers, side by side.
    suite = await runSuite({ quick: QUICK, base });
  } finally {
    await agent.close();
    if (server) await server.stop("SIGTERM");
  }
  // Issue 12: the cost of credentials, on two servers of its own (alternating runs).
  const auth = urlArg >= 0 ? null : await benchAuthCost({ quick: QUICK });
  // Issue 13: the SDK and the CLI, on a server of their own.
  const clientCost = urlArg >= 0 ? null : await benchClient({ quick: QUICK });

  const byName = Object.fromEntries(results.map((r) => [r.name, r]));
  const single = byName["produce b1 × 1"];
  const fetchBest = Math.max(
    ...results.filter((r) => r.name.startsWith("fetch")).map((r) => r.recordsPerSecond),
  );
  const all100 = byName["acks=all rf3 b100 × 4"];
  const one100 = byName["acks=1 rf3 b100 × 4"];
  const allSingle = byName["acks=all rf3 b1 × 1"];
  const ratio = +(all100.recordsPerSecond / one100.recordsPerSecond).toFixed(2);
  const idemRatio = +(
    byName["acks=all rf3 b100 × 4 idem"].recordsPerSecond / all100.recordsPerSecond
  ).toFixed(2);
  const targets = [
    {
      target: "produce b100 × 4 ≥ 60,000 rec/s",
      measured: byName["produce b100 × 4"].recordsPerSecond,
      met: byName["produce b100 × 4"].recordsPerSecond >= TARGETS.produceB100x4,
    },
    { target: "fetch ≥ 200,000 rec/s", measured: fetchBest, met: fetchBest >= TARGETS.fetch },
    {
      target: "single-record produce p50 ≤ 3 ms",
      measured: single.p50Ms,
      met: single.p50Ms <= TARGETS.singleP50Ms,
    },
    {
      target: "acks=all b100 × 4 ≥ 50% of acks=1 (RF 3, same run)",
      measured: ratio,
      met: ratio >= TARGETS.acksAllRatio,
    },
    {
      target: "idempotent produce b100 × 4 ≥ 90% of plain (acks=all, RF 3, same run)",
      measured: idemRatio,
      met: idemRatio >= TARGETS.idempotentRatio,
    },
    {
      target: "group consume, 1 member × 4 partitions, batch 500 ≥ 100,000 rec/s",
      measured: byName["group 1 member × 4p"].recordsPerSecond,
      met: byName["group 1 member × 4p"].recordsPerSecond >= TARGETS.group1,
    },
    {
      target: `a silent member's partitions delivered again within sessionTimeoutMs + 2 s (${FAILOVER_SESSION_MS + 2000} ms)`,
      measured: failoverMs,
      met: failoverMs <= FAILOVER_SESSION_MS + 2000,
    },
    {
      target: "produce over WebSocket ≥ 100,000 rec/s at 100 records a frame",
      measured: byName[`ws produce b100 × ${WS_IN_FLIGHT}`].recordsPerSecond,
      met: byName[`ws produce b100 × ${WS_IN_FLIGHT}`].recordsPerSecond >= TARGETS.wsProduce,
    },
    {
      target: "end-to-end produce → WebSocket p99 ≤ 20 ms at 1,000 rec/s",
      measured: latency[0]?.p99Ms,
      met: latency[0]?.p99Ms <= TARGETS.e2eP99At1k,
    },
    {
      target: "end-to-end produce → WebSocket p99 ≤ 50 ms at 10,000 rec/s",
      measured: latency[1]?.p99Ms,
      met: latency[1]?.p99Ms <= TARGETS.e2eP99At10k,
    },
    {
      target: "acks=all single-record p99 ≤ 10 ms",
      measured: allSingle.p99Ms,
      met: allSingle.p99Ms <= TARGETS.acksAllP99Ms,
    },
  ];

  console.log(
    `\nedgelog bench — ${QUICK ? "quick" : "full"}: median of ${RUNS} × ${RUN_MS} ms runs, 100-byte values, acks=1 unless named, ${server ? "wrangler dev (npm start)" : base}`,
  );
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}\n`,
  );
  console.log("workload                     records/s      MB/s    p50 ms    p99 ms");
  for (const r of results)
    console.log(
      `${r.name.padEnd(26)} ${String(r.recordsPerSecond).padStart(11)} ${String(r.megabytesPerSecond).padStart(9)} ${String(r.p50Ms ?? "-").padStart(9)} ${String(r.p99Ms ?? "-").padStart(9)}`,
    );
  console.log(
    "\nend-to-end latency (open loop, from intended send time)       p50 ms    p99 ms  p99.9 ms    max ms",
  );
  for (const e of latency)
    console.log(
      `${e.name.padEnd(58)} ${String(e.p50Ms).padStart(9)} ${String(e.p99Ms).padStart(9)} ${String(e.p999Ms).padStart(9)} ${String(e.maxMs).padStart(9)}`,
    );
  printSuite(suite);
  targets.push(...suiteTargets(suite));
  if (auth) {
    printAuthCost(auth);
    targets.push(...auth.targets);
  }
  if (clientCost) {
    printClient(clientCost);
    targets.push(...clientCost.targets);
  }
  console.log("\ntargets");
  for (const t of targets)
    console.log(`  ${t.met === null ? "n/a   " : t.met ? "met   " : "MISSED"} ${t.target}: ${t.measured}`);

  const dir = join(dirname(fileURLToPath(import.meta.url)), "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  const report = {
    date: new Date().toISOString(),
    quick: QUICK,
    runs: RUNS,
    runMs: RUN_MS,
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    server: server ? "wrangler dev" : base,
    results,
    groupFailoverMs: failoverMs,
    latency,
    targets,
    sideBySide: suite,
    authCost: auth,
    client: clientCost,
    durationSeconds: Math.round((performance.now() - started) / 1000),
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(dir, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
  const chart = suiteChart(suite);
  writeFileSync(file.replace(/\.json$/, ".svg"), chart);
  writeFileSync(join(dir, "latest.svg"), chart);
  console.log(
    `\nwrote ${file} and the chart ${file.replace(/\.json$/, ".svg")} (${report.durationSeconds} s)`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
