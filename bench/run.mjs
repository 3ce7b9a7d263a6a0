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
import { LocalServer, tempStateDir } from "../scripts/local-server.mjs";
import { benchAuthCost, printAuthCost } from "./auth.mjs";
import { benchClient, printClient } from "./client.mjs";
import { benchCompare, printCompare } from "./compare.mjs";
import { stopAllPeers } from "./peers.mjs";
import { printSuite, suiteChart, suiteTargets } from "./report.mjs";
import { runSuite } from "./suite.mjs";
import { benchIsolation, benchTransactional, transactionalLog } from "./transactions.mjs";
import {
  benchFetch,
  benchGroup,
  benchProduce,
  benchWsProduce,
  closeAgent,
  e2eLatency,
  FAILOVER_SESSION_MS,
  groupFailover,
  groupTopic,
  QUICK,
  RUN_MS,
  RUNS,
  useServer,
  WS_IN_FLIGHT,
} from "./workloads.mjs";

const args = process.argv.slice(2);
const urlArg = args.indexOf("--url");
let base = "";
/** Alternating pairs of `--idempotence`: the machine's drift is ±15% run to run, so one pair says little. */
const IDEMPOTENCE_PAIRS = 9;

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
  useServer(base);
  const results = [];
  let failoverMs = Number.NaN;
  const latency = [];
  let suite = null;
  const started = performance.now();
  try {
    if (args.includes("--transactions")) {
      // Issue 16: transactional produce vs plain acks=all (RF 3, 4 in flight), read_committed vs
      // read_uncommitted fetch of one log; alternating, ratios of the same run.
      const log = await transactionalLog();
      for (let i = 0; i < 2; i++) {
        const plain = await benchProduce(100, 4, "all", 3);
        const txn = await benchTransactional(4);
        const ru = await benchIsolation(log, "read_uncommitted", 4);
        const rc = await benchIsolation(log, "read_committed", 4);
        for (const r of [plain, txn, ru, rc])
          console.log(`${r.name}: ${r.recordsPerSecond} rec/s p50 ${r.p50Ms} ms`);
        console.log(
          `transactional ÷ plain acks=all ×${(txn.recordsPerSecond / plain.recordsPerSecond).toFixed(2)} (target ≥ 0.6); read_committed ÷ read_uncommitted ×${(rc.recordsPerSecond / ru.recordsPerSecond).toFixed(2)} (target ≥ 0.9)`,
        );
      }
      return;
    }
    if (args.includes("--idempotence")) {
      // A focused comparison: plain and idempotent acks=all, alternating (the order flipped each
      // pair, so that neither side always runs first); the figure is the median of paired ratios.
      const ratios = [];
      for (let i = 0; i < IDEMPOTENCE_PAIRS; i++) {
        const pair = {};
        for (const idem of i % 2 === 0 ? [false, true] : [true, false]) {
          const r = await benchProduce(100, 4, "all", 3, idem);
          pair[idem ? "idem" : "plain"] = r.recordsPerSecond;
          console.log(`${r.name}: ${r.recordsPerSecond} rec/s p50 ${r.p50Ms} ms`);
        }
        ratios.push(pair.idem / pair.plain);
      }
      const sorted = ratios.sort((a, b) => a - b);
      console.log(
        `idempotent ÷ plain: median ×${sorted[Math.floor(sorted.length / 2)].toFixed(3)} of ${sorted.length} pairs (${sorted.map((r) => r.toFixed(2)).join(" ")}); target ≥ ${TARGETS.idempotentRatio}`,
      );
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
    await closeAgent();
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
    `\nedgelog bench — ${QUICK ? "quick" : "full"}: median of ${RUNS} × ${RUN_MS} ms runs, 100-byte values, acks=1 unless named, ${server ? "npm start (Miniflare)" : base}`,
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
    server: server ? "npm start (Miniflare)" : base,
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
