import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Startup budget for wrangler dev (bundling + two workerd processes): 1–2 s seen, 60 s allowed. */
const START_TIMEOUT_MS = 60_000;
const READY_POLL_MS = 100;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export function tempStateDir(): string {
  return mkdtempSync(join(tmpdir(), "edgelog-e2e-"));
}

/** A real `npm start` server (scripts/dev.mjs → wrangler dev → workerd) on a loopback port. */
export class LocalServer {
  private child: ChildProcess | null = null;
  url = "";
  output = "";

  constructor(
    readonly stateDir: string,
    private readonly env: Record<string, string> = {},
  ) {}

  async start(): Promise<void> {
    const port = await freePort();
    const inspector = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    this.output = "";
    // Its own process group, so a crash test can kill wrangler and workerd together.
    this.child = spawn(
      process.execPath,
      ["scripts/dev.mjs", "--inspector-port", String(inspector), "--log-level", "warn"],
      {
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, PORT: String(port), EDGELOG_STATE_DIR: this.stateDir, ...this.env },
      },
    );
    const collect = (data: Buffer) => {
      this.output += data.toString();
    };
    this.child.stdout!.on("data", collect);
    this.child.stderr!.on("data", collect);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`server exited early:\n${this.output}`);
      try {
        const res = await fetch(`${this.url}/healthz`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    }
    await this.stop("SIGKILL");
    throw new Error(`server not ready after ${START_TIMEOUT_MS} ms:\n${this.output}`);
  }

  /** Stops the whole process group: SIGTERM is a clean shutdown, SIGKILL a crash. */
  async stop(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
    await exited;
    this.child = null;
  }

  async request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }
}
