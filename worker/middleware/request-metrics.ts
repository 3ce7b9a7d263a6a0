import type { MiddlewareHandler } from "hono";
import { recordRequest } from "../gateway-metrics";

/** Times a produce or fetch request, errors included, into the gateway's histograms. */
export function requestMetrics(api: "produce" | "fetch"): MiddlewareHandler {
  return async function requestMetrics(c, next) {
    const started = Date.now();
    await next();
    recordRequest(api, c.res.status, Date.now() - started);
  };
}
