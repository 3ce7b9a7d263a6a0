#!/usr/bin/env node
// npm run bench [-- --quick] [-- --url http://127.0.0.1:8787]
// Starts a local edgelog server (unless --url is given), then measures, client-side:
//   produce throughput at batch 1 / 100 / 1000 records × 1 / 4 requests in flight (acks=1,
//   100-byte JSON values), fetch throughput, and single-record produce latency (p50/p99).
// Then acks=1 vs acks=all on a replicated topic (RF 3, min.insync.replicas 2) at batch 1 × 1 and 100 × 4.
// Every figure is the median of RUNS runs; every loop is bounded in count and time.
// Prints a table and writes JSON under bench/results/.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Agent, request } from "undici";
import { LocalServer, tempStateDir } from "../scripts/local-server.mjs";

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
const TARGETS = {
  produceB100x4: 60_000,
  fetch: 200_000,
  singleP50Ms: 3,
  acksAllRatio: 0.5,
  acksAllP99Ms: 10,
};

const agent = new Agent({ connections: 16, pipelining: 1, keepAliveTimeout: 30_000 });
let base = "";

async function call(method, path, body) {
  const res = await request(`${base}${path}`, {
    method,
    dispatcher: agent,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body,
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${method} ${path} → ${res.statusCode} ${text.slice(0, 200)}`);
  return text;
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

async function benchProduce(batch, inFlight, acks = "1", replicationFactor = 1) {
  const topic = await createTopic(1, replicationFactor);
  const body = produceBody(batch);
  const path = `/v1/topics/${topic}/records?acks=${acks}`;
  let acknowledged = 0;
  const send = async () => {
    await call("POST", path, body);
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
    replicationFactor === 1
      ? `produce b${batch} × ${inFlight}`
      : `acks=${acks} rf${replicationFactor} b${batch} × ${inFlight}`;
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

function summarise(name, runs, bytesPerUnit) {
  const perSecond = median(runs.map((r) => r.perSecond));
  return {
    name,
    recordsPerSecond: Math.round(perSecond),
    megabytesPerSecond: +((perSecond * bytesPerUnit) / 1e6).toFixed(1),
    p50Ms: +median(runs.map((r) => r.p50)).toFixed(2),
    p99Ms: +median(runs.map((r) => r.p99)).toFixed(2),
    runs: runs.map((r) => ({
      recordsPerSecond: Math.round(r.perSecond),
      p50Ms: +r.p50.toFixed(2),
      p99Ms: +r.p99.toFixed(2),
      meanMs: +r.meanMs.toFixed(2),
      maxMs: +r.maxMs.toFixed(1),
      requests: r.requests,
    })),
  };
}

async function main() {
  let server = null;
  if (urlArg >= 0) base = args[urlArg + 1];
  else {
    server = new LocalServer(tempStateDir());
    await server.start();
    base = server.url;
  }
  const results = [];
  try {
    for (const batch of [1, 100, 1000])
      for (const inFlight of [1, 4]) {
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
    for (const inFlight of [1, 4]) {
      const r = await benchFetch(inFlight);
      results.push(r);
      console.error(`${r.name}: ${r.recordsPerSecond} rec/s`);
    }
  } finally {
    await agent.close();
    if (server) await server.stop("SIGTERM");
  }

  const byName = Object.fromEntries(results.map((r) => [r.name, r]));
  const single = byName["produce b1 × 1"];
  const fetchBest = Math.max(
    ...results.filter((r) => r.name.startsWith("fetch")).map((r) => r.recordsPerSecond),
  );
  const all100 = byName["acks=all rf3 b100 × 4"];
  const one100 = byName["acks=1 rf3 b100 × 4"];
  const allSingle = byName["acks=all rf3 b1 × 1"];
  const ratio = +(all100.recordsPerSecond / one100.recordsPerSecond).toFixed(2);
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
      `${r.name.padEnd(26)} ${String(r.recordsPerSecond).padStart(11)} ${String(r.megabytesPerSecond).padStart(9)} ${String(r.p50Ms).padStart(9)} ${String(r.p99Ms).padStart(9)}`,
    );
  console.log("\ntargets");
  for (const t of targets) console.log(`  ${t.met ? "met   " : "MISSED"} ${t.target}: ${t.measured}`);

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
    targets,
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(dir, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${file}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
