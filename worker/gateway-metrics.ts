import { Histogram, labelValue } from "../core/histogram";

/**
 * Requests seen by this gateway isolate, by route (the registered pattern, so
 * the label set stays bounded) — on Cloudflare each isolate keeps its own;
 * locally there is one. Latency is measured around the whole request (Workers'
 * clock advances across I/O, so it includes the leader call).
 */
export type RequestFacts = {
  method: string;
  /** The route pattern that answered, e.g. "/v1/topics/:topic/records"; "unmatched" for a 404 of no route. */
  route: string;
  status: number;
  /** The error envelope's code for an answer that is not 2xx, else null. */
  code: string | null;
  /** A produce request's acks level ("0", "1", "all"), else null. */
  acks: string | null;
  elapsedMs: number;
};

/** Label sets kept at most per family: a guard (routes × methods × acks × codes stay far below it). */
const SERIES_MAX = 2_000;

const durations = new Map<string, Histogram>();
const requests = new Map<string, number>();

/** `method="…",route="…"` per method and route, escaped once (requests never pay the escaping). */
const bases = new Map<string, string>();

export function recordRequest(f: RequestFacts): void {
  const known = f.method + f.route;
  let base = bases.get(known);
  if (base === undefined) {
    base = `method="${f.method}",route="${labelValue(f.route)}"`;
    if (bases.size < SERIES_MAX) bases.set(known, base);
  }
  const durationKey = f.acks === null ? base : `${base},acks="${f.acks}"`;
  let histogram = durations.get(durationKey);
  if (histogram === undefined && durations.size < SERIES_MAX) {
    histogram = new Histogram();
    durations.set(durationKey, histogram);
  }
  histogram?.observe(f.elapsedMs);
  const countKey = `${base},status="${f.status}"${f.code === null ? "" : `,code="${labelValue(f.code)}"`}`;
  if (requests.has(countKey) || requests.size < SERIES_MAX)
    requests.set(countKey, (requests.get(countKey) ?? 0) + 1);
}

function header(name: string, type: string, help: string): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
}

/** The gateway's families in Prometheus text: request counts by status and code, latency histograms. */
export function renderGatewayMetrics(): string {
  let out = header(
    "edgelog_http_requests_total",
    "counter",
    "Answers of this gateway isolate by method, route, status and error code.",
  );
  for (const [labels, count] of requests) out += `edgelog_http_requests_total{${labels}} ${count}\n`;
  out += header(
    "edgelog_http_request_duration_ms",
    "histogram",
    "Request latency in this gateway isolate by method and route (and acks level for produce; long-polls included).",
  );
  for (const [labels, histogram] of durations)
    out += histogram.render("edgelog_http_request_duration_ms", labels);
  return out;
}
