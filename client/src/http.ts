import { EdgelogError, networkError } from "./errors";

/** What the client needs from its environment: fetch (global by default; tests and Workers may pass their own). */
export type Transport = {
  url: string;
  token?: string | null;
  fetch?: typeof fetch;
};

/** One JSON call to the gateway: the parsed answer, or an EdgelogError (the envelope, or a network failure). */
export async function call<T>(
  transport: Transport,
  method: string,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<T> {
  const headers: Record<string, string> = {};
  // Every POST says JSON, bodiless ones too (the gateway refuses a POST that does not).
  if (body !== undefined || method === "POST") headers["content-type"] = "application/json";
  if (transport.token) headers.authorization = `Bearer ${transport.token}`;
  // Write answers are a few bytes: compressing them costs both sides CPU for nothing (Node's
  // fetch asks for gzip by default; a browser ignores this header, it decides for itself).
  if (method !== "GET") headers["accept-encoding"] = "identity";
  const doFetch = transport.fetch ?? fetch;
  let res: Response;
  let text: string;
  try {
    res = await doFetch(`${transport.url.replace(/\/+$/, "")}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      signal,
    });
    text = await res.text();
  } catch (error) {
    throw networkError(error);
  }
  const parsed = text ? safeJson(text) : undefined;
  if (res.ok) return parsed as T;
  const envelope = (parsed as { error?: { code: string; message: string; retriable: boolean } })?.error ?? {
    code: "UNKNOWN_SERVER_ERROR",
    message: `${res.status} ${text.slice(0, 200)}`,
    retriable: res.status >= 500,
  };
  const retryAfter = Number(res.headers.get("retry-after"));
  throw new EdgelogError(
    res.status,
    envelope,
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null,
    parsed,
  );
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The URL of the WebSocket endpoint, with the token as `?access_token=` (browsers cannot set headers there). */
export function webSocketUrl(transport: Transport): string {
  const base = transport.url.replace(/\/+$/, "").replace(/^http/, "ws");
  return transport.token
    ? `${base}/v1/ws?access_token=${encodeURIComponent(transport.token)}`
    : `${base}/v1/ws`;
}
