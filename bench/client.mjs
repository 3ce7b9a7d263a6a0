// The SDK's cost (issue 13): its producer against raw HTTP at batch-equivalent load in the same
// run (4 partitions, 100-byte values, acks=1; raw: 5 requests of 100 records in flight, the SDK:
// its lanes with batchMaxRecords 100 and maxInFlight 5), alternating; and the CLI producing
// 100,000 stdin lines. Run by `npm run bench` and alone with `npm run bench -- --client`.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { Edgelog } from "@edgelog/client";
import { LocalServer, tempStateDir } from "../scripts/local-server.mjs";
import { httpCall } from "./http.mjs";
import { median } from "./stats.mjs";

/** Issue 13: the SDK producer reaches at least 90% of raw HTTP at the same batching. */
export const CLIENT_TARGET_RATIO = 0.9;
const VALUE = "x".repeat(98); // as JSON text: 100 bytes
const BATCH = 100;
/** Requests in flight: one per partition, which is what the SDK's lanes do at most. */
const IN_FLIGHT = 4;
const PARTITIONS = 4;
/** Records the SDK loop keeps unacknowledged at most (its own buffer bounds it too). */
const OUTSTANDING_MAX = 20_000;
const CLI_LINES = 100_000;

async function topicOn(base, name) {
  await httpCall(
    undefined,
    `${base}/v1/topics`,
    "POST",
    JSON.stringify({ name, partitions: PARTITIONS, replicationFactor: 1 }),
  );
  return name;
}

/**
 * Raw HTTP: IN_FLIGHT workers post BATCH records to partitions round-robin for runMs; records/s.
 * `prebuilt`: the same request bodies, made once, through undici (the bench's own client: the
 * ceiling). Otherwise hand-written code as a user writes it: each request's records made and
 * encoded for it, sent with the global fetch (as in a browser or a Worker, and as the SDK does).
 */
async function rawRun(base, topic, runMs, prebuilt) {
  const made = Array.from({ length: PARTITIONS }, (_, p) =>
    JSON.stringify({ records: Array.from({ length: BATCH }, () => ({ value: VALUE, partition: p })) }),
  );
  const post = async (path, p) => {
    if (prebuilt) return httpCall(undefined, `${base}${path}`, "POST", made[p]);
    const records = Array.from({ length: BATCH }, () => ({
      value: VALUE,
      partition: p,
      timestamp: Date.now(),
    }));
    const res = await fetch(`${base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", "accept-encoding": "identity" },
      body: JSON.stringify({ records }),
    });
    const answer = await res.json();
    if (!res.ok) throw new Error(`${path} → ${res.status}`);
    return answer;
  };
  let records = 0;
  let next = 0;
  const started = performance.now();
  const deadline = started + runMs;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() < deadline) {
        await post(`/v1/topics/${topic}/records?acks=1`, next++ % PARTITIONS);
        records += BATCH;
      }
    }),
  );
  return records / ((performance.now() - started) / 1000);
}

/** The SDK: keyless records sent as fast as the producer takes them for runMs, then drained; records/s. */
async function sdkRun(producer, topic, runMs) {
  const cpu = process.cpuUsage();
  let acked = 0;
  const outstanding = [];
  const started = performance.now();
  const deadline = started + runMs;
  while (performance.now() < deadline) {
    outstanding.push(producer.send({ topic, value: VALUE }).then(() => acked++));
    if (outstanding.length >= OUTSTANDING_MAX) await outstanding.splice(0, OUTSTANDING_MAX / 2).at(-1);
    if (outstanding.length % 1_000 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await producer.flush();
  const elapsed = performance.now() - started;
  const used = process.cpuUsage(cpu);
  if (process.env.BENCH_CLIENT_CPU)
    console.error(`sdk run: client CPU ${Math.round(((used.user + used.system) / 1000 / elapsed) * 100)}%`);
  return acked / (elapsed / 1000);
}

function cliProduce(url, topic) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(join(process.cwd(), "node_modules", ".bin", "edgelog"), ["produce", topic], {
      env: { ...process.env, EDGELOG_URL: url },
      stdio: ["pipe", "ignore", "inherit"],
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0
        ? resolve(CLI_LINES / ((performance.now() - started) / 1000))
        : reject(new Error(`edgelog produce exited ${code}`)),
    );
    const line = `${VALUE}\n`;
    child.stdin.end(line.repeat(CLI_LINES));
  });
}

export async function benchClient({ quick }) {
  const runs = quick ? 3 : 5;
  const runMs = quick ? 1_000 : 2_000;
  const server = new LocalServer(tempStateDir());
  await server.start();
  try {
    const raw = await topicOn(server.url, "raw");
    const sdk = await topicOn(server.url, "sdk");
    const edgelog = new Edgelog({ url: server.url });
    const producer = edgelog.producer({
      acks: "1",
      idempotent: false,
      batchMaxRecords: BATCH,
      maxInFlight: IN_FLIGHT,
    });
    const idempotent = edgelog.producer({ acks: "1", batchMaxRecords: BATCH, maxInFlight: IN_FLIGHT });
    const results = { rawPrebuilt: [], raw: [], sdk: [], sdkIdempotent: [] };
    await rawRun(server.url, raw, runMs / 2, false); // warm-up
    await sdkRun(producer, sdk, runMs / 2);
    for (let r = 0; r < runs; r++) {
      results.rawPrebuilt.push(await rawRun(server.url, raw, runMs, true));
      results.raw.push(await rawRun(server.url, raw, runMs, false));
      results.sdk.push(await sdkRun(producer, sdk, runMs));
      results.sdkIdempotent.push(await sdkRun(idempotent, sdk, runMs));
    }
    await producer.close();
    await idempotent.close();
    await topicOn(server.url, "cli");
    const cli = await cliProduce(server.url, "cli");
    const figures = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, Math.round(median(v))]));
    const ratio = +(figures.sdk / figures.raw).toFixed(3);
    const prebuiltRatio = +(figures.sdk / figures.rawPrebuilt).toFixed(3);
    return {
      runs,
      runMs,
      figures: { ...figures, cliLinesPerSecond: Math.round(cli), ratio, prebuiltRatio },
      perRun: results,
      targets: [
        {
          target:
            "SDK producer ≥ 90% of hand-written HTTP (records encoded per request, fetch) at batch 100 × 4 in flight (same run)",
          measured: ratio,
          met: ratio >= CLIENT_TARGET_RATIO,
        },
      ],
    };
  } finally {
    await server.stop("SIGTERM");
  }
}

export function printClient(c) {
  console.log(
    `\nSDK and CLI (median of ${c.runs} alternating runs × ${c.runMs} ms, acks=1, 4 partitions, 100-byte values)`,
  );
  console.log(
    `  raw HTTP, bodies made once (undici) b${BATCH} × ${IN_FLIGHT}   ${c.figures.rawPrebuilt} rec/s   runs: ${c.perRun.rawPrebuilt.map(Math.round).join(" ")}`,
  );
  console.log(
    `  raw HTTP, hand-written (fetch) b${BATCH} × ${IN_FLIGHT}     ${c.figures.raw} rec/s   runs: ${c.perRun.raw.map(Math.round).join(" ")}`,
  );
  console.log(
    `  SDK producer (plain)     ${c.figures.sdk} rec/s   runs: ${c.perRun.sdk.map(Math.round).join(" ")}`,
  );
  console.log(
    `  SDK producer (idempotent) ${c.figures.sdkIdempotent} rec/s   runs: ${c.perRun.sdkIdempotent.map(Math.round).join(" ")}`,
  );
  console.log(
    `  SDK ÷ hand-written: ×${c.figures.ratio}; SDK ÷ bodies made once: ×${c.figures.prebuiltRatio}`,
  );
  console.log(
    `  CLI produce of ${CLI_LINES} stdin lines: ${c.figures.cliLinesPerSecond} lines/s (whole process, idempotent, acks=all)`,
  );
}
