// One JSON-over-HTTP call for the benchmarks: throws on a non-2xx answer with its body.
import { request } from "undici";

export async function httpCall(agent, url, method, body) {
  const res = await request(url, {
    method,
    dispatcher: agent,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body,
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${method} ${url} → ${res.statusCode} ${text.slice(0, 200)}`);
  return text;
}
