import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { Env } from "../../durable-objects/env";
import type { GatewayEnv } from "../gateway-env";

/** What a page may send and read of the Durable Streams protocol (/v1/stream/*). */
const STREAM_REQUEST_HEADERS = [
  "if-none-match",
  "stream-seq",
  "stream-ttl",
  "stream-expires-at",
  "stream-closed",
  "producer-id",
  "producer-epoch",
  "producer-seq",
  "stream-forked-from",
  "stream-fork-offset",
  "stream-fork-sub-offset",
];
const STREAM_RESPONSE_HEADERS = [
  "etag",
  "location",
  "stream-next-offset",
  "stream-cursor",
  "stream-up-to-date",
  "stream-closed",
  "stream-ttl",
  "stream-expires-at",
  "stream-sse-data-encoding",
  "producer-epoch",
  "producer-seq",
  "producer-expected-seq",
  "producer-received-seq",
];

/** How long a browser may reuse a preflight answer (seconds). */
const PREFLIGHT_MAX_AGE_S = 600;

let parsed: { text: string; origins: "*" | Set<string> } | null = null;

/** EDGELOG_CORS_ORIGINS: `*`, or a comma-separated list of origins; unset or empty is none. */
export function corsOrigins(env: Env): "*" | Set<string> {
  const text = (env.EDGELOG_CORS_ORIGINS ?? "").trim();
  if (parsed?.text !== text) {
    const list = text
      .split(",")
      .map((o) => o.trim().replace(/\/+$/, ""))
      .filter((o) => o !== "");
    parsed = { text, origins: text === "*" ? "*" : new Set(list) };
  }
  return parsed.origins;
}

export function originAllowed(env: Env, origin: string): boolean {
  const allowed = corsOrigins(env);
  return allowed === "*" || allowed.has(origin);
}

/**
 * CORS with Hono's middleware (API.md "Security → CORS"): allowed origins get
 * preflights answered and `access-control-allow-origin` on every answer, errors
 * included (this runs first; Hono keeps these headers on error answers), with
 * `retry-after` and `www-authenticate` readable by the page.
 */
export function corsPolicy(): MiddlewareHandler<GatewayEnv> {
  return cors({
    origin: (origin, c) => {
      const allowed = corsOrigins(c.env);
      if (allowed === "*") return "*";
      return allowed.has(origin) ? origin : null;
    },
    allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
    allowHeaders: ["authorization", "content-type", ...STREAM_REQUEST_HEADERS],
    exposeHeaders: ["retry-after", "www-authenticate", ...STREAM_RESPONSE_HEADERS],
    maxAge: PREFLIGHT_MAX_AGE_S,
  });
}
