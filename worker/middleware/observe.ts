import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { newSpanId, parseTraceContext } from "../../core/trace-context";
import type { GatewayEnv } from "../gateway-env";
import { recordRequest } from "../gateway-metrics";

/**
 * Every request, first in and last out: its W3C trace context read (for produce
 * to copy into records, and for the log), then its metrics and — when
 * EDGELOG_REQUEST_LOG is "1" — one structured JSON log line: route, status,
 * duration, principal and trace ids. Quiet by default: `npm start` sets it with
 * EDGELOG_ACCESS_LOG=1 (the path is logged without its query, which may carry a token).
 */
export function observe(): MiddlewareHandler<GatewayEnv> {
  return async function observe(c, next) {
    const started = Date.now();
    const traceparent = c.req.header("traceparent");
    const trace =
      traceparent === undefined ? null : parseTraceContext(traceparent, c.req.header("tracestate"));
    c.set("trace", trace);
    await next();
    const elapsedMs = Date.now() - started;
    const pattern = routePath(c, -1);
    const route = pattern === "" || pattern.endsWith("*") ? "unmatched" : pattern;
    const status = c.res.status;
    const code = status >= 200 && status < 300 ? null : (c.get("errorCode") ?? null);
    const acks = c.req.method === "POST" && route.endsWith("/records") ? (c.get("acks") ?? null) : null;
    recordRequest({ method: c.req.method, route, status, code, acks, elapsedMs });
    if (c.env.EDGELOG_REQUEST_LOG !== "1") return;
    const identity = c.get("auth")?.identity ?? null;
    console.log(
      JSON.stringify({
        time: new Date(started).toISOString(),
        level: status >= 500 ? "error" : "info",
        msg: "request",
        method: c.req.method,
        route,
        path: new URL(c.req.url).pathname,
        status,
        ...(code === null ? {} : { code }),
        durationMs: elapsedMs,
        ...(identity === null ? {} : { principal: identity.principal }),
        // The gateway's span continues the caller's trace (or none: no ids).
        ...(trace === null
          ? {}
          : { traceId: trace.traceId, spanId: newSpanId(), parentSpanId: trace.parentId }),
      }),
    );
  };
}
