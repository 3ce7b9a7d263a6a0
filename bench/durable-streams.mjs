#!/usr/bin/env node
// npm run bench:durable-streams [-- SECONDS ROUNDS]   (defaults 5 s per measure, 3 rounds)
// The Durable Streams protocol side by side (issue 18): edgelog's /v1/stream/* on the server
// `npm start` runs, and the protocol's Node reference server (@durable-streams/server 0.3.7)
// with its durable file-backed store (LMDB + append-only files), on this machine, in one run.
// Each round measures both, alternating, so drift hits both alike; medians over rounds.
//   append 1:   one appender, 100-byte bodies, one request in flight
//   append 8:   eight appenders at once (eight streams), 100-byte bodies
//   append 64k: one appender, 64 KiB bodies (MB/s)
//   read:       catch-up reads of a 20,000-append stream from -1 to its tail (appends/s read)
//   live:       a long-poll reader at the tail, one append every 20 ms: append → delivery latency
// Every loop is bounded in count and time; only loopback addresses.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DurableStreamTestServer } from "@durable-streams/server";
import { LocalServer, tempStateDir } from "../scripts/local-server.mjs";
import { latencyFigures, median } from "./stats.mjs";

const SECONDS = Number(process.argv[2] ?? 5);
const ROUNDS = Number(process.argv[3] ?? 3);
/** Requests per measure at most (the time bound usually ends it first). */
const REQUESTS_MAX = 200_000;
const READ_APPENDS = 20_000;
const LIVE_APPENDS = 200;
const LIVE_GAP_MS = 20;

const small = new Uint8Array(100).fill(97);
const large = new Uint8Array(64 * 1024).fill(98);
let streamNumber = 0;

async function create(base, contentType = "application/octet-stream") {
  const url = `${base}/v1/stream/bench-${process.pid}-${++streamNumber}`;
  const res = await fetch(url, { method: "PUT", headers: { "content-type": contentType } });
  if (res.status !== 201) throw new Error(`create ${url}: ${res.status} ${await res.text()}`);
  return url;
}

async function append(url, body) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/octet-stream" },
    body,
  });
  if (res.status !== 204 && res.status !== 200) throw new Error(`append: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}

/** `writers` loops appending `body` for SECONDS: appends/s, MB/s and latency. */
async function appendRate(base, writers, body) {
  const urls = await Promise.all(Array.from({ length: writers }, () => create(base)));
  const latencies = [];
  const deadline = performance.now() + SECONDS * 1000;
  let count = 0;
  await Promise.all(
    urls.map(async (url) => {
      while (performance.now() < deadline && count < REQUESTS_MAX) {
        const started = performance.now();
        await append(url, body);
        latencies.push(performance.now() - started);
        count++;
      }
    }),
  );
  const rate = count / SECONDS;
  return {
    rate: Math.round(rate),
    mbPerS: +((rate * body.byteLength) / 2 ** 20).toFixed(1),
    ...latencyFigures(latencies),
  };
}

/** Reads a stream of READ_APPENDS appends from the start to its tail, following Stream-Next-Offset. */
async function readRate(base) {
  const url = await create(base);
  for (let i = 0; i < READ_APPENDS; i += 50)
    await Promise.all(Array.from({ length: 50 }, () => append(url, small)));
  const started = performance.now();
  let offset = "-1";
  let bytes = 0;
  for (let i = 0; i < READ_APPENDS; i++) {
    const res = await fetch(`${url}?offset=${encodeURIComponent(offset)}`);
    bytes += (await res.arrayBuffer()).byteLength;
    offset = res.headers.get("stream-next-offset");
    if (res.headers.get("stream-up-to-date") === "true") break;
  }
  const seconds = (performance.now() - started) / 1000;
  if (bytes !== READ_APPENDS * small.byteLength) throw new Error(`read ${bytes} bytes`);
  return { appendsPerS: Math.round(READ_APPENDS / seconds), mbPerS: +(bytes / 2 ** 20 / seconds).toFixed(1) };
}

/** A long-poll reader at the tail; an append every LIVE_GAP_MS carries its send time. */
async function liveLatency(base) {
  const url = await create(base, "text/plain");
  let offset = "now";
  const latencies = [];
  let reading = true;
  const reader = (async () => {
    while (reading) {
      const res = await fetch(`${url}?offset=${encodeURIComponent(offset)}&live=long-poll`);
      const text = await res.text();
      const now = performance.timeOrigin + performance.now();
      offset = res.headers.get("stream-next-offset") ?? offset;
      for (const sent of text.split(";").filter(Boolean)) latencies.push(now - Number(sent));
      if (latencies.length >= LIVE_APPENDS) break;
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 200));
  for (let i = 0; i < LIVE_APPENDS; i++) {
    const sent = `${performance.timeOrigin + performance.now()};`;
    const res = await fetch(url, { method: "POST", headers: { "content-type": "text/plain" }, body: sent });
    await res.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, LIVE_GAP_MS));
  }
  await Promise.race([reader, new Promise((resolve) => setTimeout(resolve, 12_000))]);
  reading = false;
  return { delivered: latencies.length, ...latencyFigures(latencies) };
}

async function measure(base) {
  return {
    append1: await appendRate(base, 1, small),
    append8: await appendRate(base, 8, small),
    append64k: await appendRate(base, 1, large),
    read: await readRate(base),
    live: await liveLatency(base),
  };
}

const edgelog = new LocalServer(tempStateDir());
await edgelog.start();
const dataDir = mkdtempSync(join(tmpdir(), "ds-reference-"));
const reference = new DurableStreamTestServer({ port: 0, host: "127.0.0.1", dataDir, compression: false });
const referenceUrl = await reference.start();
const runs = { edgelog: [], reference: [] };
try {
  for (let round = 0; round < ROUNDS; round++) {
    runs.edgelog.push(await measure(edgelog.url));
    runs.reference.push(await measure(referenceUrl));
    console.error(`round ${round + 1}/${ROUNDS} done`);
  }
} finally {
  await edgelog.stop();
  await reference.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

const pick = (system, path) => median(runs[system].map((run) => path.split(".").reduce((o, k) => o[k], run)));
const rows = [
  ["append 1 in flight (appends/s)", "append1.rate"],
  ["append 1 in flight p50 (ms)", "append1.p50Ms"],
  ["append 1 in flight p99 (ms)", "append1.p99Ms"],
  ["append 8 in flight (appends/s)", "append8.rate"],
  ["append 8 in flight p99 (ms)", "append8.p99Ms"],
  ["append 64 KiB (MB/s)", "append64k.mbPerS"],
  ["catch-up read (appends/s)", "read.appendsPerS"],
  ["live long-poll delivery p50 (ms)", "live.p50Ms"],
  ["live long-poll delivery p99 (ms)", "live.p99Ms"],
  ["live long-poll delivery p99.9 (ms)", "live.p999Ms"],
];
console.log(
  `Durable Streams, edgelog (npm start) vs @durable-streams/server 0.3.7 (file-backed), medians of ${ROUNDS} rounds of ${SECONDS} s`,
);
console.log("| measure | edgelog | reference | edgelog ÷ reference |");
console.log("|---|---:|---:|---:|");
for (const [label, path] of rows) {
  const a = pick("edgelog", path);
  const b = pick("reference", path);
  console.log(`| ${label} | ${a} | ${b} | ${(a / b).toFixed(2)} |`);
}
console.log(JSON.stringify(runs));
