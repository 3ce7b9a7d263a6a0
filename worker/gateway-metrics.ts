import { Histogram } from "../core/histogram";

/**
 * Request latencies seen by this gateway isolate, measured around the whole
 * request (Workers' clock advances across I/O, so this includes the leader call).
 * On Cloudflare each isolate keeps its own; locally there is one.
 */
export const gatewayMetrics = {
  produceLatencyMs: new Histogram(),
  fetchLatencyMs: new Histogram(),
  /** Answers by API and status class, e.g. "produce 2xx". */
  requests: new Map<string, number>(),
};

export function recordRequest(api: "produce" | "fetch", status: number, elapsedMs: number): void {
  (api === "produce" ? gatewayMetrics.produceLatencyMs : gatewayMetrics.fetchLatencyMs).observe(elapsedMs);
  const key = `${api} ${Math.floor(status / 100)}xx`;
  gatewayMetrics.requests.set(key, (gatewayMetrics.requests.get(key) ?? 0) + 1);
}
