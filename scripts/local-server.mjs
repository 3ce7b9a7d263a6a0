// Starts and stops a real local edgelog server (`npm start`: scripts/start.mjs → Miniflare →
// workerd) on free loopback ports. Shared by the end-to-end tests and the benchmarks.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Startup budget (bundling + workerd): 2–4 s seen, 60 s allowed. */
const START_TIMEOUT_MS = 60_000;
const READY_POLL_MS = 100;
const START_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "start.mjs");
/** The checkout this script belongs to: wrangler reads wrangler.toml from where it runs. */
const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** @returns {Promise<number>} a port that was free on 127.0.0.1 a moment ago */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

export function tempStateDir() {
  return mkdtempSync(join(tmpdir(), "edgelog-"));
}

export class LocalServer {
  /** @type {import("node:child_process").ChildProcess | null} */
  child = null;
  url = "";
  port = 0;
  output = "";
  inspectorPort = 0;

  /**
   * @param {string} stateDir where the server keeps its state (survives restarts)
   * @param {Record<string, string>} env extra environment (e.g. EDGELOG_MAX_REQUEST_BYTES)
   * @param {{ root?: string }} options `root`: another checkout of edgelog to run (bench/compare.mjs)
   */
  constructor(stateDir, env = {}, { root } = {}) {
    this.stateDir = stateDir;
    this.env = env;
    this.root = root;
  }

  async start() {
    // A restart keeps the port (and so the URL), as a user's server would: clients reconnect.
    const port = this.port || (await freePort());
    this.port = port;
    const inspector = await freePort();
    this.inspectorPort = inspector; // the Worker's V8 inspector (bench/profile.mjs takes CPU profiles there)
    this.url = `http://127.0.0.1:${port}`;
    this.output = "";
    // Another checkout from before scripts/start.mjs runs what its `npm start` ran: wrangler dev.
    const script = this.root === undefined ? START_SCRIPT : join(this.root, "scripts", "start.mjs");
    const args = existsSync(script)
      ? [script, "--inspector-port", String(inspector)]
      : [
          join(this.root ?? "", "scripts", "dev.mjs"),
          "--inspector-port",
          String(inspector),
          "--log-level",
          "warn",
        ];
    // Its own process group, so a crash test can kill the server and workerd together.
    const child = spawn(process.execPath, args, {
      cwd: this.root ?? REPO_ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PORT: String(port), EDGELOG_STATE_DIR: this.stateDir, ...this.env },
    });
    this.child = child;
    const collect = (/** @type {Buffer} */ data) => {
      this.output += data.toString();
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`server exited early:\n${this.output}`);
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

  /**
   * Stops the whole process group: SIGTERM is a clean shutdown, SIGKILL a crash.
   * @param {"SIGTERM" | "SIGKILL"} signal
   */
  async stop(signal = "SIGTERM") {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      process.kill(-(/** @type {number} */ (child.pid)), signal);
    } catch {
      // already gone
    }
    await exited;
    this.child = null;
  }
}
