// A real Prometheus (Debian's `prometheus`, installed by .ci/run) scraping one target every
// second on loopback, its data in a temporary directory: used by the observability e2e test
// and by docs/dashboard/render.mjs.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./local-server.mjs";

/** How long Prometheus may take to start answering. */
const READY_TIMEOUT_MS = 30_000;

export class Prometheus {
  /** @type {import("node:child_process").ChildProcess | null} */
  child = null;
  dir = mkdtempSync(join(tmpdir(), "edgelog-prometheus-"));
  url = "";
  output = "";

  /** The binary's path, or an error saying how to get it. */
  static binary() {
    try {
      return execFileSync("sh", ["-c", "command -v prometheus"], { encoding: "utf8" }).trim();
    } catch {
      throw new Error("prometheus is not installed: apt-get install prometheus (.ci/run does)");
    }
  }

  /** @param {string} target host:port of the server to scrape */
  async start(target) {
    const config = join(this.dir, "prometheus.yml");
    writeFileSync(
      config,
      [
        "global:",
        "  scrape_interval: 1s",
        "  evaluation_interval: 1s",
        "scrape_configs:",
        "  - job_name: edgelog",
        "    metrics_path: /metrics",
        "    static_configs:",
        `      - targets: ["${target}"]`,
        "",
      ].join("\n"),
    );
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    const child = spawn(
      Prometheus.binary(),
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(this.dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.child = child;
    const collect = (/** @type {Buffer} */ data) => {
      this.output += data.toString();
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`prometheus exited:\n${this.output}`);
      try {
        if ((await fetch(`${this.url}/-/ready`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`prometheus not ready after ${READY_TIMEOUT_MS} ms:\n${this.output}`);
  }

  /**
   * An instant PromQL query: the result vector's samples.
   * @param {string} promql
   * @returns {Promise<{ metric: Record<string, string>; value: number }[]>}
   */
  async query(promql) {
    const body = await this.api(`query?query=${encodeURIComponent(promql)}`);
    return body.data.result.map((/** @type {any} */ r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /**
   * A range query: each series' labels and [seconds, value] points.
   * @param {string} promql
   * @param {number} startS
   * @param {number} endS
   * @param {number} stepS
   * @returns {Promise<{ metric: Record<string, string>; values: [number, number][] }[]>}
   */
  async queryRange(promql, startS, endS, stepS) {
    const body = await this.api(
      `query_range?query=${encodeURIComponent(promql)}&start=${startS}&end=${endS}&step=${stepS}`,
    );
    return body.data.result.map((/** @type {any} */ r) => ({
      metric: r.metric,
      values: r.values.map((/** @type {[number, string]} */ [t, v]) => [t, Number(v)]),
    }));
  }

  /** @param {string} path */
  async api(path) {
    const res = await fetch(`${this.url}/api/v1/${path}`);
    const body = /** @type {any} */ (await res.json());
    if (body.status !== "success") throw new Error(`prometheus ${path}: ${JSON.stringify(body)}`);
    return body;
  }

  async stop() {
    const child = this.child;
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
