// One JSON-over-HTTP call for the benchmarks: throws on a non-2xx answer with its body.
import { request } from "undici";

export async function httpCall(agent, url, method, body, headers = {}) {
  const res = await request(url, {
    method,
    dispatcher: agent,
    // Every POST says JSON, bodiless ones too (the gateway refuses a POST that does not).
    headers:
      body === undefined && method !== "POST" ? headers : { ...headers, "content-type": "application/json" },
    body,
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${method} ${url} → ${res.statusCode} ${text.slice(0, 200)}`);
  return text;
}

/**
 * Keep-alive of the bench's HTTP agents: under workerd's own limit (it closes a connection
 * idle for 5 s), so that an agent never reuses a connection the server is closing
 * (ECONNRESET; seen in a full run after the ×1 cells left the other connections idle).
 */
export const KEEP_ALIVE_MS = 4_000;
