// Prints the side-by-side suite as tables, checks its targets, and writes the chart.
import { renderChart } from "./chart.mjs";

const EDGELOG = "edgelog acks=1";
const REDIS_DURABLE = "Redis Streams durable";
const NATS = "NATS JetStream";
const SUITE_TARGETS = { redisDurableShare: 0.5, singleP99Ms: 10 };
/**
 * Issue 15's targets: edgelog acks=1 ÷ Redis Streams durable, same run, per workload
 * (cell: batch, partitions, in flight; null: best over partitions and in-flight), and
 * the end-to-end p99 at 1,000 rec/s.
 */
const REDIS_RATIO_TARGETS = [
  { name: "single record, 1 in flight", cell: { batch: 1, partitions: 1, inFlight: 1 }, min: 0.5 },
  { name: "single record, 8 in flight", cell: { batch: 1, partitions: 1, inFlight: 8 }, min: 1.0 },
  { name: "batch 100 × 8 in flight (best partitions)", batch: 100, inFlight: 8, min: 1.0 },
];
const CONSUME_REDIS_RATIO_MIN = 1.5;
const E2E_P99_MS_MAX = 10;

const pad = (value, width) => String(value ?? "-").padStart(width);
const ratio = (a, b) => (a && b ? +(a / b).toFixed(2) : null);
const mbPerSecond = (records, valueBytes) => +((records * valueBytes) / 1e6).toFixed(1);

/**
 * The best closed-loop produce throughput of a system at a batch size (over partitions,
 * and over in-flight unless `inFlight` is given).
 */
function bestAt(entry, batch, inFlight) {
  const cells =
    entry?.produce.filter((c) => c.batch === batch && (inFlight === undefined || c.inFlight === inFlight)) ??
    [];
  return cells.reduce(
    (best, c) => (best === null || c.recordsPerSecond > best.recordsPerSecond ? c : best),
    null,
  );
}

export function suiteTargets({ results }) {
  const by = Object.fromEntries(results.map((r) => [r.system, r]));
  const edgelog = bestAt(by[EDGELOG], 100)?.recordsPerSecond;
  const nats = bestAt(by[NATS], 100)?.recordsPerSecond;
  const redis = bestAt(by[REDIS_DURABLE], 100)?.recordsPerSecond;
  const consume = by[EDGELOG]?.consume?.recordsPerSecond;
  const peersConsume = results
    .filter((r) => !r.system.startsWith("edgelog"))
    .map((r) => [r.system, r.consume?.recordsPerSecond]);
  const single = by[EDGELOG]?.produce.find((c) => c.batch === 1 && c.partitions === 1 && c.inFlight === 1);
  const cellOf = (entry, t) =>
    t.cell
      ? entry?.produce.find(
          (c) =>
            c.batch === t.cell.batch && c.partitions === t.cell.partitions && c.inFlight === t.cell.inFlight,
        )
      : bestAt(entry, t.batch, t.inFlight);
  const redisConsume = by[REDIS_DURABLE]?.consume?.recordsPerSecond;
  const e2e = by[EDGELOG]?.e2e;
  const targets = [
    ...REDIS_RATIO_TARGETS.map((t) => {
      const mine = cellOf(by[EDGELOG], t)?.recordsPerSecond;
      const theirs = cellOf(by[REDIS_DURABLE], t)?.recordsPerSecond;
      return {
        target: `edgelog acks=1 ÷ Redis Streams durable, ${t.name} ≥ ${t.min}`,
        measured: mine && theirs ? `${mine} vs ${theirs} rec/s (×${ratio(mine, theirs)})` : "-",
        met: mine && theirs ? mine >= t.min * theirs : null,
      };
    }),
    {
      target: `edgelog consume ÷ Redis Streams durable ≥ ${CONSUME_REDIS_RATIO_MIN}`,
      measured: redisConsume ? `${consume} vs ${redisConsume} rec/s (×${ratio(consume, redisConsume)})` : "-",
      met: redisConsume ? consume >= CONSUME_REDIS_RATIO_MIN * redisConsume : null,
    },
    {
      target: `edgelog end-to-end produce → WebSocket p99 ≤ ${E2E_P99_MS_MAX} ms at 1,000 rec/s`,
      measured: e2e ? `${e2e.p99Ms} ms (p99.9 ${e2e.p999Ms ?? "-"} ms)` : "-",
      met: e2e ? e2e.p99Ms <= E2E_P99_MS_MAX : null,
    },
    {
      target: "edgelog produce (acks=1, batch 100) ≥ NATS JetStream",
      measured: nats ? `${edgelog} vs ${nats} rec/s (×${ratio(edgelog, nats)})` : "NATS skipped",
      met: nats ? edgelog >= nats : null,
    },
    {
      target: "edgelog produce (acks=1, batch 100) ≥ 50% of Redis Streams durable",
      measured: redis ? `${edgelog} vs ${redis} rec/s (×${ratio(edgelog, redis)})` : "Redis skipped",
      met: redis ? edgelog >= SUITE_TARGETS.redisDurableShare * redis : null,
    },
    ...peersConsume.map(([system, value]) => ({
      target: `edgelog consume ≥ ${system}`,
      measured: `${consume} vs ${value} rec/s (×${ratio(consume, value)})`,
      met: consume >= value,
    })),
    {
      target: "edgelog single-record produce p99 ≤ 10 ms (acks=1, closed loop, 1 in flight)",
      measured: single ? `${single.p99Ms} ms` : "-",
      met: single ? single.p99Ms <= SUITE_TARGETS.singleP99Ms : null,
    },
  ];
  return targets;
}

export function printSuite(suite, print = console.log) {
  const { results, skipped, valueBytes, settings } = suite;
  const edgelog = results.find((r) => r.system === EDGELOG);
  print(
    `\nside by side — ${valueBytes}-byte values; closed loop median of ${settings.runs} × ${settings.runMs} ms; ratio = edgelog acks=1 ÷ system`,
  );
  for (const s of skipped) print(`  SKIPPED ${s.system}: ${s.reason}`);
  print(
    `\n${"produce".padEnd(26)} ${"batch".padStart(5)} ${"parts".padStart(5)} ${"infl".padStart(4)} ${"records/s".padStart(10)} ${"MB/s".padStart(7)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"p99.9".padStart(8)} ${"ratio".padStart(6)}`,
  );
  for (const cell of settings.cells)
    for (const r of results) {
      const c = r.produce.find(
        (x) => x.batch === cell.batch && x.partitions === cell.partitions && x.inFlight === cell.inFlight,
      );
      if (!c) continue;
      const mine = edgelog?.produce.find(
        (x) => x.batch === c.batch && x.partitions === c.partitions && x.inFlight === c.inFlight,
      );
      print(
        `${r.system.padEnd(26)} ${pad(c.batch, 5)} ${pad(c.partitions, 5)} ${pad(c.inFlight, 4)} ${pad(c.recordsPerSecond, 10)} ${pad(mbPerSecond(c.recordsPerSecond, valueBytes), 7)} ${pad(c.p50Ms, 8)} ${pad(c.p99Ms, 8)} ${pad(c.p999Ms, 8)} ${pad(ratio(mine?.recordsPerSecond, c.recordsPerSecond), 6)}`,
      );
    }
  print(
    `\n${"open loop (batch 100, 4 parts)".padEnd(32)} ${"load".padStart(5)} ${"records/s".padStart(10)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"p99.9".padStart(8)} ${"max".padStart(8)}`,
  );
  for (const r of results)
    for (const l of r.latency)
      print(
        `${r.system.padEnd(32)} ${pad(`${l.load * 100}%`, 5)} ${pad(l.recordsPerSecond, 10)} ${pad(l.p50Ms, 8)} ${pad(l.p99Ms, 8)} ${pad(l.p999Ms, 8)} ${pad(l.maxMs, 8)}${l.saturated ? "  saturated (stopped early)" : ""}`,
      );
  print(
    `\n${"consume (4 parts, 500 a read, acked)".padEnd(38)} ${"records/s".padStart(10)} ${"MB/s".padStart(7)} ${"ratio".padStart(6)}`,
  );
  for (const r of results)
    print(
      `${r.system.padEnd(38)} ${pad(r.consume?.recordsPerSecond, 10)} ${pad(mbPerSecond(r.consume?.recordsPerSecond ?? 0, valueBytes), 7)} ${pad(ratio(edgelog?.consume?.recordsPerSecond, r.consume?.recordsPerSecond), 6)}`,
    );
  print(
    `\n${`end-to-end produce → consumer @ ${settings.e2eRate}/s`.padEnd(38)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"p99.9".padStart(8)} ${"max".padStart(8)}`,
  );
  for (const r of results)
    print(
      `${r.system.padEnd(38)} ${pad(r.e2e?.p50Ms, 8)} ${pad(r.e2e?.p99Ms, 8)} ${pad(r.e2e?.p999Ms, 8)} ${pad(r.e2e?.maxMs, 8)}`,
    );
  print("\ndurability tiers");
  for (const r of results) print(`  ${r.system}: ${r.tier}`);
}

export function suiteChart(suite) {
  const { results } = suite;
  const load80 = (r) => r.latency.find((l) => l.load === 0.8) ?? null;
  return renderChart({
    title: `edgelog and peers, ${suite.valueBytes}-byte values, one machine, one run`,
    panels: [
      {
        title: "produce throughput, batch 100 (best of partitions × in flight)",
        unit: "records/s",
        bars: results.map((r) => ({ label: r.system, value: bestAt(r, 100)?.recordsPerSecond ?? null })),
      },
      {
        title: "single-record produce p99 (closed loop, 1 in flight)",
        unit: "ms",
        bars: results.map((r) => ({
          label: r.system,
          value:
            r.produce.find((c) => c.batch === 1 && c.partitions === 1 && c.inFlight === 1)?.p99Ms ?? null,
        })),
      },
      {
        title: "produce p99 at 80% of max (open loop, batch 100)",
        unit: "ms",
        bars: results.map((r) => ({ label: r.system, value: load80(r)?.p99Ms ?? null })),
      },
      {
        title: "consume throughput (acked)",
        unit: "records/s",
        bars: results.map((r) => ({ label: r.system, value: r.consume?.recordsPerSecond ?? null })),
      },
      {
        title: `end-to-end p99 @ ${suite.settings.e2eRate}/s`,
        unit: "ms",
        bars: results.map((r) => ({ label: r.system, value: r.e2e?.p99Ms ?? null })),
      },
    ],
  });
}
