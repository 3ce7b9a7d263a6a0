import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalServer, tempStateDir } from "./server";

/** The `edgelog` CLI as a user runs it (`npx edgelog`: the workspace bin in node_modules/.bin). */

const BIN = join(process.cwd(), "node_modules", ".bin", "edgelog");
const LINES = 10_000;

/** One CLI command takes a few seconds here; past this it is hung. */
const COMMAND_TIMEOUT_MS = 40_000;

function edgelog(
  args: string[],
  url: string,
  stdin = "",
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { env: { ...process.env, EDGELOG_URL: url } });
    let stdout = "";
    let stderr = "";
    // A command that hangs fails with what it printed, instead of the whole test timing out mutely.
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `edgelog ${args.join(" ")} did not finish within ${COMMAND_TIMEOUT_MS} ms\nstdout (last 500): ${stdout.slice(-500)}\nstderr: ${stderr.slice(-2000)}`,
        ),
      );
    }, COMMAND_TIMEOUT_MS);
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

describe("edgelog CLI", () => {
  const server = new LocalServer(tempStateDir());
  beforeAll(() => server.start());
  afterAll(() => server.stop("SIGKILL"));

  it(`stdin → produce → consume → stdout: ${LINES} lines round trip, keys and all`, async () => {
    expect(
      (
        await edgelog(
          ["topic", "create", "lines", "--partitions", "3", "--replication-factor", "1"],
          server.url,
        )
      ).code,
    ).toBe(0);
    const lines = Array.from(
      { length: LINES },
      (_, i) => `key-${i % 97}\tline ${i} with "quotes" and ünïcode`,
    );
    const produced = await edgelog(
      ["produce", "lines", "--key-delimiter", "\t"],
      server.url,
      `${lines.join("\n")}\n`,
    );
    expect(produced).toMatchObject({ code: 0, stderr: "" });
    const consumed = await edgelog(
      ["consume", "lines", "--from-beginning", "--format", "%k\\t%s"],
      server.url,
    );
    expect(consumed.code).toBe(0);
    const out = consumed.stdout.trimEnd().split("\n");
    expect(out).toHaveLength(LINES);
    // Order holds per key (one partition each); across partitions, the set is the same.
    expect([...out].sort()).toEqual([...lines].sort());
    for (let k = 0; k < 97; k++) {
      const key = `key-${k}\t`;
      expect(out.filter((l) => l.startsWith(key))).toEqual(lines.filter((l) => l.startsWith(key)));
    }
    const json = await edgelog(
      ["--json", "consume", "lines", "--from-beginning", "--count", "1", "--partition", "0"],
      server.url,
    );
    expect(JSON.parse(json.stdout)).toMatchObject({
      topic: "lines",
      partition: 0,
      offset: 0,
      key: expect.stringMatching(/^key-/),
    });
  });

  it("a group consumer resumes where it stopped; describe shows no lag after the last run", async () => {
    await edgelog(["topic", "create", "jobs", "-p", "2", "-r", "1"], server.url);
    await edgelog(
      ["produce", "jobs"],
      server.url,
      `${Array.from({ length: 100 }, (_, i) => `job ${i}`).join("\n")}\n`,
    );
    const first = await edgelog(
      ["consume", "jobs", "--group", "workers", "--from-beginning", "--count", "40"],
      server.url,
    );
    expect(first.code).toBe(0);
    const second = await edgelog(["consume", "jobs", "--group", "workers"], server.url);
    expect(second.code).toBe(0);
    const all = [...first.stdout.trimEnd().split("\n"), ...second.stdout.trimEnd().split("\n")];
    expect(first.stdout.trimEnd().split("\n")).toHaveLength(40);
    expect(all.sort()).toEqual(Array.from({ length: 100 }, (_, i) => `job ${i}`).sort());
    const described = await edgelog(["--json", "group", "describe", "workers"], server.url);
    expect(JSON.parse(described.stdout).offsets.reduce((n: number, o: { lag: number }) => n + o.lag, 0)).toBe(
      0,
    );
  });

  it("produce --transactional-id writes stdin in one transaction; read_committed consumers see it once committed", async () => {
    await edgelog(["topic", "create", "ledger", "-p", "1", "-r", "1"], server.url);
    const produced = await edgelog(
      ["produce", "ledger", "--transactional-id", "cli-ledger", "-K", ":"],
      server.url,
      "a:1\nb:2\nc:3\n",
    );
    expect(produced).toMatchObject({ code: 0 });
    const committed = await edgelog(
      ["consume", "ledger", "--from-beginning", "--isolation", "read_committed", "--format", "%k=%s"],
      server.url,
    );
    expect(committed.stdout.trim().split("\n")).toEqual(["a=1", "b=2", "c=3"]);
    const described = await edgelog(["--json", "transaction", "describe", "cli-ledger"], server.url);
    expect(JSON.parse(described.stdout)).toMatchObject({ state: "CompleteCommit", producer: { epoch: 0 } });
    const fenced = await edgelog(["transaction", "fence", "cli-ledger"], server.url);
    expect(fenced.stdout.trim()).toBe("fenced cli-ledger: epoch 1");
    const bad = await edgelog(["consume", "ledger", "--isolation", "dirty"], server.url);
    expect(bad.code).toBe(2);
  });

  it("exit codes: 1 with the error code on a server error, 2 with usage on a usage error", async () => {
    const missing = await edgelog(["topic", "describe", "no-such-topic"], server.url);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^UNKNOWN_TOPIC_OR_PARTITION: /);
    const exists = await edgelog(["topic", "create", "jobs"], server.url);
    expect(exists.code).toBe(1);
    expect(exists.stderr).toMatch(/^TOPIC_ALREADY_EXISTS/);
    for (const args of [
      ["topic", "frobnicate"],
      ["consume"],
      ["produce", "jobs", "--acks", "2"],
      ["consume", "jobs", "--count", "-1"],
      ["--nope"],
    ]) {
      const usage = await edgelog(args, server.url);
      expect(usage.code, args.join(" ")).toBe(2);
      expect(usage.stderr, args.join(" ")).toMatch(/usage|--help/i);
    }
    const down = await edgelog(["topic", "list"], "http://127.0.0.1:1");
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^NETWORK_EXCEPTION/);
  });
});
