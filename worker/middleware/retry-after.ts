import type { MiddlewareHandler } from "hono";

/** Seconds a throttled client is asked to wait when the refusal gives no other figure. */
const RETRY_AFTER_S_DEFAULT = 1;
const TOO_MANY_REQUESTS = 429;

/**
 * API.md: every 429 the gateway sends carries `retry-after` (whole seconds, ≥ 1) —
 * error envelopes and partly failed produce answers alike, so it is set here, once,
 * on the way out, instead of at each place that can refuse.
 */
export function retryAfter(): MiddlewareHandler {
  return async function retryAfter(c, next) {
    await next();
    if (c.res.status !== TOO_MANY_REQUESTS || c.res.headers.has("retry-after")) return;
    const res = new Response(c.res.body, c.res); // headers of a passed-through answer may be immutable
    res.headers.set("retry-after", String(RETRY_AFTER_S_DEFAULT));
    c.res = res;
  };
}
