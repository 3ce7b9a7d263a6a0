// The console's one way to the gateway: same origin, the token from sessionStorage,
// and every refusal turned into the API's error envelope ({ code, message, retriable }).
const TOKEN_KEY = "edgelog.token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** An answer that was not 2xx, as API.md's envelope says. */
export class ApiError extends Error {
  constructor(status, error) {
    super(`${error.code}: ${error.message}`);
    this.status = status;
    this.code = error.code;
    this.retriable = error.retriable;
  }
}

/** Calls the API; answers the parsed JSON body (null for 204) or throws an ApiError. */
export async function api(method, path, body) {
  const headers = {};
  if (token()) headers.authorization = `Bearer ${token()}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return null;
  const text = await res.text();
  let json;
  try {
    json = text === "" ? null : JSON.parse(text);
  } catch {
    json = null;
  }
  if (!res.ok)
    throw new ApiError(
      res.status,
      json?.error ?? { code: `HTTP_${res.status}`, message: text.slice(0, 200), retriable: false },
    );
  return json;
}

/** The WebSocket URL of this gateway (a browser cannot send headers there: the token rides as a parameter). */
export function webSocketUrl() {
  const url = new URL("/v1/ws", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  if (token()) url.searchParams.set("access_token", token());
  return url.href;
}
