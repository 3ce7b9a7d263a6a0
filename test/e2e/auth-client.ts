import WebSocket from "ws";

/** A topic ACL rule (no principal: what a scoped token lists; add `principal` for POST /v1/acls). */
export function topicRule(
  resourceName: string,
  operation: string,
  patternType = "literal",
  permission = "allow",
) {
  return { resourceType: "topic", patternType, resourceName, operation, permission };
}

export type Answer = { status: number; body: any; headers: Headers };

/** An HTTP client of a local server acting with `token` (none when null); JSON in, JSON out. */
export function client(baseUrl: string, token: string | null) {
  return async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer> => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        ...(method === "POST" || body !== undefined ? { "content-type": "application/json" } : {}),
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON (metrics)
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };
}

/** A WebSocket opened with `?access_token=`; `request` sends a frame and waits for the frame answering its id. */
export async function socket(baseUrl: string, token: string | null, headers: Record<string, string> = {}) {
  const query = token === null ? "" : `?access_token=${encodeURIComponent(token)}`;
  const ws = new WebSocket(`${baseUrl.replace("http", "ws")}/v1/ws${query}`, { headers });
  const frames: any[] = [];
  const waiters: (() => void)[] = [];
  ws.on("message", (data) => {
    frames.push(JSON.parse(String(data)));
    for (const wake of waiters.splice(0)) wake();
  });
  const closed = new Promise<{ code: number }>((resolve) => ws.once("close", (code) => resolve({ code })));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once("error", reject);
  });
  /** The first frame matching `match`, waiting at most `timeoutMs`. */
  const next = async (match: (f: any) => boolean, timeoutMs = 10_000): Promise<any> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = frames.find(match);
      if (found) {
        frames.splice(frames.indexOf(found), 1);
        return found;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame in ${timeoutMs} ms; got ${JSON.stringify(frames)}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, left);
      });
    }
  };
  return {
    ws,
    frames,
    closed,
    next,
    request: (frame: Record<string, unknown>) => {
      ws.send(JSON.stringify(frame));
      return next((f) => f.id === frame.id);
    },
    close: () => ws.close(),
  };
}
