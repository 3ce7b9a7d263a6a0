#!/usr/bin/env node
// npm run bench:sse [-- READERS RATE SECONDS]   (defaults 1,000 readers, 1,000 records/s, 20 s)
// SSE fan-out (issue 18): READERS EventSource clients (the `eventsource` package, a spec
// implementation for Node) tail one partition of `npm start`; a producer appends RATE records/s
// (batches every BATCH_MS, acks=1), each record carrying its send time; every reader records
// the delay from the send to its arrival. Prints delivery p50/p99/p99.9/max, records delivered
// against expected, and the server's RSS. Bounded: the producer stops after SECONDS, the
// readers after the last record or DRAIN_MS more.
import { readdirSync, readFileSync } from "node:fs";
import { EventSource } from "eventsource";
import { LocalServer, tempStateDir } from "../scripts/local-server.mjs";
import { latencyFigures } from "./stats.mjs";

const READERS = Number(process.argv[2] ?? 1_000);
const RATE = Number(process.argv[3] ?? 1_000);
const SECONDS = Number(process.argv[4] ?? 20);
const BATCH_MS = 50;
/** How long readers may take after the last record is produced. */
const DRAIN_MS = 10_000;
/** Readers connecting at once (a burst of 1,000 connects is not the measure). */
const CONNECT_CONCURRENCY = 50;

function rssMiB(pid) {
  // The server's process group: the Node launcher and workerd; workerd holds the memory.
  let total = 0;
  for (const line of readFileSync(`/proc/${pid}/status`, "utf8").split("\n"))
    if (line.startsWith("VmRSS:")) total += Number(line.split(/\s+/)[1]);
  return Math.round(total / 1024);
}

function workerdPid() {
  const out = [];
  for (const entry of readdirSync("/proc"))
    if (/^\d+$/.test(entry))
      try {
        if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes("workerd")) out.push(Number(entry));
      } catch {}
  return out;
}

const server = new LocalServer(tempStateDir());
await server.start();
const sources = [];
try {
  await fetch(`${server.url}/v1/topics`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "fanout", partitions: 1, replicationFactor: 1 }),
  });
  const url = `${server.url}/v1/topics/fanout/partitions/0/records?offset=latest`;
  const latencies = [];
  let delivered = 0;
  const ready = [];
  for (let i = 0; i < READERS; i += CONNECT_CONCURRENCY) {
    const batch = [];
    for (let j = i; j < Math.min(READERS, i + CONNECT_CONCURRENCY); j++) {
      const source = new EventSource(url);
      sources.push(source);
      source.addEventListener("records", (event) => {
        const now = performance.timeOrigin + performance.now();
        for (const r of JSON.parse(event.data).records) {
          latencies.push(now - r.value.sentAt);
          delivered++;
        }
      });
      batch.push(
        new Promise((resolve, reject) => {
          source.onopen = resolve;
          source.onerror = (e) => reject(new Error(`reader ${j}: ${e.message ?? "error"}`));
        }),
      );
    }
    ready.push(...(await Promise.all(batch)));
  }
  console.log(`${READERS} readers connected`);
  const expected = RATE * SECONDS;
  const perBatch = Math.max(1, Math.round((RATE * BATCH_MS) / 1000));
  const started = performance.now();
  let sent = 0;
  while (sent < expected && performance.now() - started < SECONDS * 1000 + 5_000) {
    const due = started + (sent / RATE) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const sentAt = performance.timeOrigin + performance.now();
    const records = Array.from({ length: Math.min(perBatch, expected - sent) }, () => ({
      value: { sentAt },
    }));
    const res = await fetch(`${server.url}/v1/topics/fanout/records?acks=1`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ records }),
    });
    await res.arrayBuffer();
    sent += records.length;
  }
  const deadline = performance.now() + DRAIN_MS;
  while (delivered < sent * READERS && performance.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  const rss = workerdPid().reduce((n, pid) => n + rssMiB(pid), 0);
  console.log(
    JSON.stringify({
      readers: READERS,
      ratePerS: RATE,
      seconds: SECONDS,
      produced: sent,
      delivered,
      expected: sent * READERS,
      ...latencyFigures(latencies),
      workerdRssMiB: rss,
    }),
  );
} finally {
  for (const s of sources) s.close();
  await server.stop();
}
