/**
 * Cursors of live reads (§10.1): the number of the current 20-second interval
 * since 2024-10-09, so CDN cache keys move on; a client echoing a cursor that
 * is not behind gets one strictly ahead (1 s to 1 h of jitter), never the same.
 */

const CURSOR_EPOCH_MS = Date.parse("2024-10-09T00:00:00.000Z");
const CURSOR_INTERVAL_S = 20;
const JITTER_S_MAX = 3600;

export function responseCursor(
  clientCursor: string | null,
  nowMs = Date.now(),
  random = Math.random,
): string {
  const current = Math.floor((nowMs - CURSOR_EPOCH_MS) / (CURSOR_INTERVAL_S * 1000));
  const echoed = clientCursor !== null && /^\d{1,15}$/.test(clientCursor) ? Number(clientCursor) : null;
  if (echoed === null || echoed < current) return String(current);
  const jitterS = 1 + Math.floor(random() * JITTER_S_MAX);
  return String(echoed + Math.max(1, Math.ceil(jitterS / CURSOR_INTERVAL_S)));
}

/** One SSE event; every line break of the payload (CRLF, CR or LF) starts a new `data:` line. */
export function sseEvent(event: "data" | "control", payload: string): string {
  return `event: ${event}\n${payload
    .split(/\r\n|\r|\n/)
    .map((line) => `data:${line}`)
    .join("\n")}\n\n`;
}
