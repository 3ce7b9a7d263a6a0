/** Latency bucket bounds in milliseconds (Prometheus `le`), from sub-millisecond to the longest long-poll. */
export const LATENCY_BUCKETS_MS = [
  0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000,
] as const;

/** A Prometheus histogram with fixed buckets; O(buckets) memory whatever the traffic. */
export class Histogram {
  private readonly counts = new Array<number>(LATENCY_BUCKETS_MS.length).fill(0);
  private count = 0;
  private sum = 0;

  observe(valueMs: number): void {
    this.count++;
    this.sum += valueMs;
    for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) {
      if (valueMs <= LATENCY_BUCKETS_MS[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }

  /** Renders the `_bucket` (cumulative), `_sum` and `_count` series of `name`. */
  render(name: string, labels = ""): string {
    const sep = labels ? `${labels},` : "";
    let cumulative = 0;
    let out = "";
    for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) {
      cumulative += this.counts[i]!;
      out += `${name}_bucket{${sep}le="${LATENCY_BUCKETS_MS[i]}"} ${cumulative}\n`;
    }
    out += `${name}_bucket{${sep}le="+Inf"} ${this.count}\n`;
    const suffix = labels ? `{${labels}}` : "";
    return `${out}${name}_sum${suffix} ${this.sum}\n${name}_count${suffix} ${this.count}\n`;
  }
}

/** Escapes a Prometheus label value. */
export function labelValue(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
