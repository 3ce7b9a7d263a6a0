import type { Context } from "hono";
import { EdgelogError, type ErrorInfo, errorInfo, statusOf } from "../../core/errors";
import { QuotaExceeded } from "../../durable-objects/quotas";

/** The one JSON error envelope of API.md; OFFSET_OUT_OF_RANGE also carries its offsets at the top level. */
function errorResponse(c: Context, info: ErrorInfo): Response {
  const extra =
    info.code === "OFFSET_OUT_OF_RANGE"
      ? { logStartOffset: info.logStartOffset, highWatermark: info.highWatermark }
      : info.code === "OFFSET_MISMATCH"
        ? { logEndOffset: info.logEndOffset }
        : {};
  // API.md: a 401 names the scheme to use.
  if (info.code === "UNAUTHENTICATED") c.header("www-authenticate", "Bearer");
  c.set("errorCode", info.code);
  return c.json({ error: info, ...extra }, statusOf(info.code) as 400);
}

/** Operating errors become their envelope; anything else is a bug, logged and answered 500. */
export function onError(error: Error, c: Context): Response {
  if (error instanceof QuotaExceeded) c.header("retry-after", String(error.retryAfterS));
  if (error instanceof EdgelogError) return errorResponse(c, error.info);
  console.error("unhandled gateway error", error);
  return errorResponse(
    c,
    errorInfo("UNKNOWN_SERVER_ERROR", "internal error; this is a bug, please report it"),
  );
}

export function notFound(c: Context): Response {
  return errorResponse(
    c,
    errorInfo("NOT_FOUND", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`),
  );
}
