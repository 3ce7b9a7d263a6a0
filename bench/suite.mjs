// The side-by-side suite (in the spirit of the OpenMessaging Benchmark): the same workloads,
// record size and client-side measurement for edgelog and its peers, in one run on one machine.
//   produce: batches of 1 / 100 / 1000 records × 1 / 4 partitions × 1 / 8 requests in flight,
//            closed loop for maximum throughput (median of RUNS runs);
//   latency: open loop at 50% and 80% of that maximum (batch 100), from each request's intended
//            send time, so a stall counts against every request scheduled during it;
//   consume: a pre-filled log read by one consumer with acknowledgements (500 records a read);
//   end-to-end: produce → consumer at 1,000 records/s.

import { startNats, startRedis } from "./peers.mjs";
import { latencyFigures, median } from "./stats.mjs";
import { edgelog, natsJetStream, redisStreams, VALUE_BYTES } from "./systems.mjs";

const REQUESTS_PER_RUN_MAX = 200_000;
/** Unanswered requests an open loop tolerates before it calls the system saturated (bounded memory). */
const OPEN_LOOP_OUTSTANDING_MAX = 2_000;

function suiteSettings(quick) {
  return {
    runs: quick ? 1 : 3,
    runMs: quick ? 400 : 1_000,
    warmupMs: quick ? 200 : 500,
    openLoopMs: quick ? 1_000 : 3_000,
    loads: quick ? [0.8] : [0.5, 0.8],
    consumeRecords: quick ? 10_000 : 100_000,
    e2eRate: 1_000,
    e2eMs: quick ? 1_000 : 3_000,
    cells: quick
      ? [
          { batch: 1, partitions: 1, inFlight: 1 },
          { batch: 100, partitions: 4, inFlight: 8 },
        ]
      : [1, 100, 1000].flatMap((batch) =>
          [1, 4].flatMap((partitions) => [1, 8].map((inFlight) => ({ batch, partitions, inFlight }))),
        ),
  };
}

/** `inFlight` workers send back to back for `runMs`; records/s and request latencies. */
export async function closedLoop(handle, { batch, inFlight }, runMs) {
  const latencies = [];
  let requests = 0;
  let records = 0;
  const started = performance.now();
  const deadline = started + runMs;
  const worker = async (w) => {
    while (performance.now() < deadline && requests < REQUESTS_PER_RUN_MAX) {
      requests++;
      const t0 = performance.now();
      await handle.produce(w, batch);
      records += batch;
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, (_, w) => worker(w)));
  const seconds = (performance.now() - started) / 1000;
  return {
    recordsPerSecond: records / seconds,
    requestsPerSecond: requests / seconds,
    ...latencyFigures(latencies),
  };
}

/** Requests sent at a fixed rate whatever the answers; latency from each intended send time. */
async function openLoop(handle, batch, requestsPerSecond, durationMs) {
  const interval = 1000 / requestsPerSecond;
  const count = Math.min(REQUESTS_PER_RUN_MAX, Math.floor(durationMs / interval));
  const latencies = [];
  const pending = [];
  let outstanding = 0;
  let saturated = false;
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const at = started + i * interval;
    const wait = at - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, Math.ceil(wait)));
    if (outstanding >= OPEN_LOOP_OUTSTANDING_MAX) {
      saturated = true;
      break;
    }
    outstanding++;
    pending.push(
      handle.produce(i % 8, batch).then(() => {
        outstanding--;
        latencies.push(performance.now() - at);
      }),
    );
  }
  await Promise.all(pending);
  return { recordsPerSecond: Math.round(requestsPerSecond * batch), saturated, ...latencyFigures(latencies) };
}

async function startPeers(log) {
  const peers = [];
  const skipped = [];
  const tryStart = async (label, start, adapt) => {
    try {
      const server = await start();
      peers.push({ server, system: await adapt(server.port) });
    } catch (error) {
      skipped.push({ system: label, reason: error.message });
      log(`SKIPPED ${label}: ${error.message}`);
    }
  };
  await tryStart(
    "Redis Streams durable",
    () => startRedis("always"),
    (port) => redisStreams(port, "durable", "durable (appendonly, appendfsync always)"),
  );
  await tryStart(
    "Redis Streams lazy",
    () => startRedis("everysec"),
    (port) => redisStreams(port, "lazy", "lazy (appendonly, appendfsync everysec)"),
  );
  await tryStart("NATS JetStream", startNats, (port) => natsJetStream(port));
  return { peers, skipped };
}

/** Runs every workload on edgelog (acks=1 and acks=all) and each peer; answers the figures. */
export async function runSuite({ quick, base, log = console.error }) {
  const settings = suiteSettings(quick);
  const { peers, skipped } = await startPeers(log);
  const systems = [edgelog(base, "1"), edgelog(base, "all"), ...peers.map((p) => p.system)];
  const results = [];
  try {
    for (const system of systems) {
      const entry = {
        system: system.name,
        tier: system.tier,
        produce: [],
        latency: [],
        consume: null,
        e2e: null,
      };
      for (const cell of settings.cells) {
        const handle = await system.open(cell.partitions);
        try {
          await closedLoop(handle, cell, settings.warmupMs);
          const runs = [];
          for (let r = 0; r < settings.runs; r++) runs.push(await closedLoop(handle, cell, settings.runMs));
          const figures = {
            ...cell,
            recordsPerSecond: Math.round(median(runs.map((r) => r.recordsPerSecond))),
            requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
            p50Ms: median(runs.map((r) => r.p50Ms)),
            p99Ms: median(runs.map((r) => r.p99Ms)),
            p999Ms: median(runs.map((r) => r.p999Ms)),
            runs: runs.map((r) => Math.round(r.recordsPerSecond)),
          };
          entry.produce.push(figures);
          log(
            `${system.name} b${cell.batch} p${cell.partitions} ×${cell.inFlight}: ${figures.recordsPerSecond} rec/s, p99 ${figures.p99Ms} ms`,
          );
          if (cell.batch === 100 && cell.partitions === 4 && cell.inFlight === 8)
            for (const load of settings.loads) {
              const rate = figures.requestsPerSecond * load;
              const open = await openLoop(handle, cell.batch, rate, settings.openLoopMs);
              entry.latency.push({ load, batch: cell.batch, partitions: cell.partitions, ...open });
              log(
                `${system.name} open loop ${load * 100}%: p50 ${open.p50Ms} p99 ${open.p99Ms} p99.9 ${open.p999Ms} ms`,
              );
            }
        } finally {
          await handle.close();
        }
      }
      entry.consume = await consumeThroughput(system, settings.consumeRecords);
      log(`${system.name} consume: ${entry.consume.recordsPerSecond} rec/s`);
      const e2eHandle = await system.open(1);
      try {
        entry.e2e = {
          rate: settings.e2eRate,
          ...latencyFigures(await e2eHandle.e2e(settings.e2eRate, settings.e2eMs)),
        };
      } finally {
        await e2eHandle.close();
      }
      log(
        `${system.name} end-to-end @${settings.e2eRate}/s: p50 ${entry.e2e.p50Ms} p99 ${entry.e2e.p99Ms} ms`,
      );
      results.push(entry);
    }
  } finally {
    for (const system of systems) await system.shutdown().catch(() => undefined);
    for (const p of peers) await p.server.stop();
  }
  return { settings, results, skipped, valueBytes: VALUE_BYTES };
}

/** Fills 4 partitions with `n` records (batches of 1,000), then times one consumer reading them all. */
async function consumeThroughput(system, n) {
  const handle = await system.open(4);
  try {
    const fillers = Array.from({ length: 4 }, async (_, w) => {
      for (let sent = w * 1000; sent < n; sent += 4000) await handle.produce(w, 1000);
    });
    await Promise.all(fillers);
    const started = performance.now();
    const got = await handle.consume(n);
    const seconds = (performance.now() - started) / 1000;
    if (got < n) throw new Error(`${system.name}: consumed ${got} of ${n} records`);
    return { records: got, recordsPerSecond: Math.round(got / seconds) };
  } finally {
    await handle.close();
  }
}
