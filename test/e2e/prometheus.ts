import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../scripts/local-server.mjs";

/** How long Prometheus may take to start answering. */
const READY_TIMEOUT_MS = 30_000;

/**
 * A real Prometheus (Debian's `prometheus`, installed by .ci/run) scraping one
 * target every second, on loopback, its data in a temporary directory.
 */
export class Prometheus {
  private child: ChildProcess | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), "edgelog-prometheus-"));
  url = "";
  output = "";

  /** The binary's path, or an error saying how to get it. */
  static binary(): string {
    try {
      return execFileSync("sh", ["-c", "command -v prometheus"], { encoding: "utf8" }).trim();
    } catch {
      throw new Error("prometheus is not installed: apt-get install prometheus (.ci/run does)");
    }
  }

  async start(target: string): Promise<void> {
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
    this.child = spawn(
      Prometheus.binary(),
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(this.dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const collect = (data: Buffer) => {
      this.output += data.toString();
    };
    this.child.stdout?.on("data", collect);
    this.child.stderr?.on("data", collect);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`prometheus exited:\n${this.output}`);
      try {
        if ((await fetch(`${this.url}/-/ready`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`prometheus not ready after ${READY_TIMEOUT_MS} ms:\n${this.output}`);
  }

  /** An instant PromQL query: the result vector's samples as (labels, value). */
  async query(promql: string): Promise<{ metric: Record<string, string>; value: number }[]> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as any;
    if (body.status !== "success") throw new Error(`query ${promql}: ${JSON.stringify(body)}`);
    return body.data.result.map((r: any) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
