#!/usr/bin/env node
// npm run bench -- --scale [--quick]   (or: node bench/scale.mjs [--quick] [--only topics|partitions|log])
// Scale figures for docs/performance.md (issue 15), each on a fresh local server as `npm start` runs it:
//   topics:     creating a topic at API.md's limits (1,024 partitions × RF 3, then × RF 1): time to the
//               answer, /healthz latency (p50/p99/max) sampled while its partitions are initialised, RSS;
//   partitions: produce b100 × 8 in flight spread over 1, 16, 256 and 1,024 partitions: rate and RSS;
//   log:        a long log (10 M records; 1 M with --quick): append and fetch cost at its start and its end;
//   memory:     RSS per consumer group (one HTTP member) and per idle WebSocket (open, no subscription).
// Every loop is bounded in count and time; only loopback addresses.
import { execSync } from "node:child_process";
import { Agent } from "undici";
import WebSocket from "ws";
import { LocalServer, tempStateDir } from "../scripts/local-server.mjs";
import { httpCall, KEEP_ALIVE_MS } from "./http.mjs";
import { latencyFigures, median } from "./stats.mjs";

const QUICK = process.argv.includes("--quick");
const onlyArg = process.argv.indexOf("--only");
const ONLY = onlyArg >= 0 ? process.argv[onlyArg + 1] : null;
/** How long /healthz is sampled after a large topic is created. */
const HEALTH_SAMPLE_MS = QUICK ? 6_000 : 15_000;
const HEALTH_SAMPLE_EVERY_MS = 50;
const PARTITION_COUNTS = [1, 16, 256, 1024];
const RATE_RUN_MS = QUICK ? 2_000 : 4_000;
const LOG_RECORDS = QUICK ? 1_000_000 : 10_000_000;
const LOG_BATCH = 1_000;
/** Wall-clock cap on filling the long log (the figure is reported for what was written). */
const LOG_FILL_MS_MAX = QUICK ? 120_000 : 600_000;
const PROBE_REQUESTS = 200;
const IDLE_SOCKETS = QUICK ? 200 : 1_000;
const GROUPS = QUICK ? 50 : 200;
/** Time for the server's memory to settle before RSS is read. */
const SETTLE_MS = 3_000;
const VALUE = "x".repeat(98);

const agent = new Agent({ connections: 16, pipelining: 1, keepAliveTimeout: KEEP_ALIVE_MS });

/** RSS of the server's whole process group (node + workerd), MiB. */
function rssMiB(server) {
  const lines = execSync(`ps -o rss= -g ${server.child?.pid}`).toString().trim().split("\n");
  return Math.round(lines.reduce((n, l) => n + Number(l.trim()), 0) / 1024);
}

async function withServer(run) {
  const server = new LocalServer(tempStateDir());
  await server.start();
  try {
    return await run(server, (method, path, body) => httpCall(agent, `${server.url}${path}`, method, body));
  } finally {
    await server.stop("SIGTERM");
  }
}

/** Times a topic creation at the limits and samples /healthz while its partitions initialise. */
async function topicAtLimits(partitions, replicationFactor) {
  return withServer(async (server, call) => {
    const rssBefore = rssMiB(server);
    let rssMax = rssBefore;
    const health = [];
    let sampling = true;
    const sampler = (async () => {
      const deadline = performance.now() + HEALTH_SAMPLE_MS;
      while (sampling && performance.now() < deadline) {
        const t0 = performance.now();
        await call("GET", "/healthz");
        health.push(performance.now() - t0);
        rssMax = Math.max(rssMax, rssMiB(server));
        await new Promise((resolve) => setTimeout(resolve, HEALTH_SAMPLE_EVERY_MS));
      }
    })();
    const t0 = performance.now();
    const body = JSON.stringify({ name: "at-limits", partitions, replicationFactor });
    const created = JSON.parse(await call("POST", "/v1/topics", body));
    const createMs = performance.now() - t0;
    if (created.error) throw new Error(`create: ${JSON.stringify(created.error)}`);
    // The last partition serves at once (initialised on first use if the alarm has not reached it).
    const t1 = performance.now();
    const produced = JSON.parse(
      await call(
        "POST",
        "/v1/topics/at-limits/records",
        JSON.stringify({ records: [{ partition: partitions - 1, value: "v" }] }),
      ),
    );
    const firstProduceMs = performance.now() - t1;
    if (produced.error) throw new Error(`produce: ${JSON.stringify(produced.error)}`);
    await sampler;
    sampling = false;
    return {
      workload: `create ${partitions} × RF ${replicationFactor}`,
      createMs: Math.round(createMs),
      firstProduceLastPartitionMs: Math.round(firstProduceMs),
      healthzWhileInitialising: latencyFigures(health),
      healthSamples: health.length,
      rssBeforeMiB: rssBefore,
      rssMaxMiB: rssMax,
      rssAfterMiB: rssMiB(server),
    };
  });
}

/** produce b100 × 8 in flight, round-robin over `partitions` partitions of one topic. */
async function partitionsRate(partitions) {
  return withServer(async (server, call) => {
    await call("POST", "/v1/topics", JSON.stringify({ name: "scale", partitions, replicationFactor: 1 }));
    const bodies = Array.from({ length: Math.min(partitions, 1024) }, (_, p) =>
      JSON.stringify({ records: Array.from({ length: 100 }, () => ({ partition: p, value: VALUE })) }),
    );
    let next = 0;
    let records = 0;
    const loop = async (ms) => {
      const deadline = performance.now() + ms;
      const t0 = performance.now();
      let n = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (performance.now() < deadline) {
            const res = JSON.parse(
              await call("POST", "/v1/topics/scale/records", bodies[next++ % partitions]),
            );
            if (res.error) throw new Error(JSON.stringify(res.error));
            n += 100;
          }
        }),
      );
      records += n;
      return n / ((performance.now() - t0) / 1000);
    };
    // Warm-up: every partition written once (a large topic's partitions initialise on first use).
    for (let p = 0; p < partitions; p += 8)
      await Promise.all(bodies.slice(p, p + 8).map((body) => call("POST", "/v1/topics/scale/records", body)));
    await loop(RATE_RUN_MS / 2);
    const rates = [await loop(RATE_RUN_MS), await loop(RATE_RUN_MS)];
    return {
      workload: `produce b100 × 8 over ${partitions} partition(s)`,
      recordsPerSecond: Math.round(median(rates)),
      rssMiB: rssMiB(server),
      records,
    };
  });
}

/** Latency of PROBE_REQUESTS sequential single-record produces and 100-record fetches at `offset`. */
async function probeCost(call, offset) {
  const produce = [];
  const fetch = [];
  const body = JSON.stringify({ records: [{ partition: 0, value: VALUE }] });
  for (let i = 0; i < PROBE_REQUESTS; i++) {
    let t0 = performance.now();
    await call("POST", "/v1/topics/long/records", body);
    produce.push(performance.now() - t0);
    t0 = performance.now();
    await call("GET", `/v1/topics/long/partitions/0/records?offset=${offset + i}&maxRecords=100`);
    fetch.push(performance.now() - t0);
  }
  return { produce: latencyFigures(produce), fetch100: latencyFigures(fetch) };
}

/** A long log: append and fetch cost near its start and after LOG_RECORDS records. */
async function longLog() {
  return withServer(async (server, call) => {
    await call("POST", "/v1/topics", JSON.stringify({ name: "long", partitions: 1, replicationFactor: 1 }));
    const batch = JSON.stringify({
      records: Array.from({ length: LOG_BATCH }, () => ({ partition: 0, value: VALUE })),
    });
    for (let i = 0; i < 10; i++) await call("POST", "/v1/topics/long/records", batch);
    const early = await probeCost(call, 0);
    const t0 = performance.now();
    let written = 10 * LOG_BATCH + PROBE_REQUESTS;
    while (written < LOG_RECORDS && performance.now() - t0 < LOG_FILL_MS_MAX) {
      await Promise.all(Array.from({ length: 4 }, () => call("POST", "/v1/topics/long/records", batch)));
      written += 4 * LOG_BATCH;
    }
    const fillSeconds = (performance.now() - t0) / 1000;
    const late = await probeCost(call, written - 10 * PROBE_REQUESTS);
    return {
      workload: `log of ${written.toLocaleString("en")} records`,
      fillRecordsPerSecond: Math.round((written - 10 * LOG_BATCH) / fillSeconds),
      atStart: early,
      atEnd: late,
      rssMiB: rssMiB(server),
    };
  });
}

const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

/** RSS per idle WebSocket and per consumer group (one member each, HTTP), against a fresh server. */
async function memory() {
  return withServer(async (server, call) => {
    await call("POST", "/v1/topics", JSON.stringify({ name: "mem", partitions: 4, replicationFactor: 1 }));
    await settle();
    const base = rssMiB(server);
    // Groups first, on the fresh server: closed sockets' objects linger until evicted.
    for (let g = 0; g < GROUPS; g++) {
      const joined = JSON.parse(
        await call(
          "POST",
          `/v1/groups/mem-g${g}/members`,
          JSON.stringify({ topics: ["mem"], sessionTimeoutMs: 300_000 }),
        ),
      );
      if (joined.error) throw new Error(JSON.stringify(joined.error));
    }
    await settle();
    const withGroups = rssMiB(server);
    const sockets = [];
    for (let i = 0; i < IDLE_SOCKETS; i += 50)
      sockets.push(
        ...(await Promise.all(
          Array.from(
            { length: 50 },
            () =>
              new Promise((resolve, reject) => {
                const ws = new WebSocket(`${server.url.replace("http", "ws")}/v1/ws`);
                ws.once("open", () => resolve(ws));
                ws.once("error", reject);
              }),
          ),
        )),
      );
    await settle();
    const withSockets = rssMiB(server);
    for (const ws of sockets) ws.close(1000);
    await settle();
    const afterSockets = rssMiB(server);
    return {
      workload: `${GROUPS} consumer groups (one member each), then ${IDLE_SOCKETS} idle WebSockets`,
      rssBaseMiB: base,
      rssWithGroupsMiB: withGroups,
      kibPerGroup: Math.round(((withGroups - base) * 1024) / GROUPS),
      rssWithSocketsMiB: withSockets,
      kibPerIdleSocket: Math.round(((withSockets - withGroups) * 1024) / IDLE_SOCKETS),
      rssAfterSocketsClosedMiB: afterSockets,
    };
  });
}

export async function benchScale() {
  const results = {};
  if (!ONLY || ONLY === "topics")
    results.topics = [await topicAtLimits(1024, 3), await topicAtLimits(1024, 1)];
  if (!ONLY || ONLY === "partitions") {
    results.partitions = [];
    for (const n of PARTITION_COUNTS) results.partitions.push(await partitionsRate(n));
  }
  if (!ONLY || ONLY === "memory") results.memory = await memory();
  if (!ONLY || ONLY === "log") results.log = await longLog();
  await agent.close();
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const results = await benchScale();
  console.log(JSON.stringify(results, null, 2));
}
