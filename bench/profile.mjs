#!/usr/bin/env node
// npm run bench:profile [-- produce|produce-all|produce-single|produce-all-single|produce-all-idem|consume]
//   (produce-all: acks=all on RF 3; -single: one record a request instead of 100; -idem: each
//   worker an idempotent producer of its own, as bench/run.mjs --idempotence)
// A CPU profile of the Worker (gateway and Durable Objects share one isolate locally) while a
// side-by-side workload runs: started through the V8 inspector of workerd (npm start --inspector-port), then
// summarised as self time per function and per source file. For the note when a target is missed.
import { LocalServer, tempStateDir } from "../scripts/local-server.mjs";
import { inspect } from "./inspector.mjs";
import { edgelog } from "./systems.mjs";
import { call, closeAgent, createTopic, produceBody, useServer } from "./workloads.mjs";

const workload = process.argv[2] ?? "produce";
const PROFILE_MS = 4_000;
/** Records a produce request carries: 100, or 1 for the single-record workloads (`-single`). */
const batch = workload.endsWith("-single") ? 1 : 100;
const idempotent = workload.endsWith("-idem");
const TOP = 25;

function summarise(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const total = profile.samples.length;
  for (const sample of profile.samples) {
    const frame = byId.get(sample).callFrame;
    const name = `${frame.functionName || "(anonymous)"} ${frame.url.split("/").slice(-2).join("/")}:${frame.lineNumber + 1}`;
    self.set(name, (self.get(name) ?? 0) + 1);
  }
  const byFile = new Map();
  for (const [name, count] of self) {
    const file = name.split(" ")[1]?.split(":")[0] || "(native)";
    byFile.set(file, (byFile.get(file) ?? 0) + count);
  }
  const pct = (n) => `${((100 * n) / total).toFixed(1)}%`.padStart(6);
  console.log(`\nself time by function (top ${TOP} of ${total} samples)`);
  for (const [name, count] of [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP))
    console.log(`${pct(count)}  ${name}`);
  console.log("\nself time by file");
  for (const [file, count] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 15))
    console.log(`${pct(count)}  ${file}`);
}

/** A topic as edgelog(…, "all") opens it and `workers` idempotent producers, one per worker. */
async function idempotentProducers(workers) {
  const topic = await createTopic(4, 3);
  const producers = [];
  for (let w = 0; w < workers; w++)
    producers.push({ ...JSON.parse(await call("POST", "/v1/producers", "{}")), sequence: 0 });
  const records = new Map();
  return {
    produce: async (w, n) => {
      if (!records.has(n)) records.set(n, JSON.parse(produceBody(n)).records);
      const producer = producers[w];
      await call(
        "POST",
        `/v1/topics/${topic}/records?acks=all`,
        JSON.stringify({ records: records.get(n), producer }),
      );
      producer.sequence++;
    },
    close: closeAgent,
  };
}

const server = new LocalServer(tempStateDir());
await server.start();
try {
  const system = edgelog(server.url, workload.startsWith("produce-all") ? "all" : "1");
  useServer(server.url);
  const handle = idempotent ? await idempotentProducers(8) : await system.open(4);
  const CONSUME_RECORDS = 100_000;
  if (workload === "consume")
    for (let sent = 0; sent < CONSUME_RECORDS; sent += 1000) await handle.produce(0, 1000);
  const inspector = await inspect(server.inspectorPort);
  await inspector.send("Profiler.enable");
  await inspector.send("Profiler.setSamplingInterval", { interval: 200 });
  let records = 0;
  const deadline = performance.now() + PROFILE_MS;
  await inspector.send("Profiler.start");
  const started = performance.now();
  if (workload === "consume") records = await handle.consume(CONSUME_RECORDS);
  else
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        while (performance.now() < deadline) {
          await handle.produce(w, batch);
          records += batch;
        }
      }),
    );
  const seconds = (performance.now() - started) / 1000;
  const { result } = await inspector.send("Profiler.stop");
  console.log(`${workload}: ${Math.round(records / seconds)} records/s while profiling`);
  summarise(result.profile);
  inspector.close();
  await handle.close();
  await system.shutdown();
} finally {
  await server.stop("SIGTERM");
}
