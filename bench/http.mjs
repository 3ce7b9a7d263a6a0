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
