import { LocalServer as Server } from "../../scripts/local-server.mjs";

export { tempStateDir } from "../../scripts/local-server.mjs";

/** The shared local server with a JSON request helper for tests. */
export class LocalServer extends Server {
  async request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: body === undefined && method !== "POST" ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }
}

/** Waits, bounded in time, until `done` holds (it may ask the server); the caller asserts afterwards. */
export async function until(done: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}
