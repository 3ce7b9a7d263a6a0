// Order statistics shared by the benchmarks.

/** The p-th percentile of an ascending array (null when empty). */
export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** The median (the upper one of an even count). */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const round2 = (n) => (n === null ? null : +n.toFixed(2));

/** p50 / p99 / p99.9 / max of latencies in ms, 2 decimals (sorts the array in place). */
export function latencyFigures(latencies) {
  latencies.sort((a, b) => a - b);
  return {
    p50Ms: round2(percentile(latencies, 50)),
    p99Ms: round2(percentile(latencies, 99)),
    p999Ms: round2(percentile(latencies, 99.9)),
    maxMs: round2(latencies[latencies.length - 1] ?? null),
  };
}
