// npm run bench -- --compare <git-rev> [--quick]
// The same workloads on two trees in one run: the commit <rev> ("old", checked out in a
// temporary git worktree) and the working tree ("new"), each on its own local server as
// `npm start` runs it. Runs alternate between the two, so the machine's drift falls on
// both alike; the figure that counts is the ratio new/old (issue 14: ≥ 0.97 on produce
// and consume). Every loop is bounded in count and time.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalServer, tempStateDir } from "../scripts/local-server.mjs";
import { median } from "./stats.mjs";
import { closedLoop } from "./suite.mjs";
import { edgelog } from "./systems.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** Same-run ratio new/old the restructure must keep (issue 14). */
export const COMPARE_RATIO_MIN = 0.97;
/** Records a consume run reads (preloaded once, read again by a new group each run). */
const CONSUME_RECORDS = 40_000;
const PRELOAD_BATCH = 500;
const CELLS = [
  { name: "produce b1 × 1", batch: 1, partitions: 1, inFlight: 1 },
  { name: "produce b1 × 8", batch: 1, partitions: 1, inFlight: 8 },
  { name: "produce b100 × 8", batch: 100, partitions: 4, inFlight: 8 },
  { name: "acks=all rf3 b100 × 8", batch: 100, partitions: 4, inFlight: 8, acks: "all" },
];

function worktreeOf(rev) {
  const dir = mkdtempSync(join(tmpdir(), "edgelog-compare-"));
  execFileSync("git", ["-C", ROOT, "worktree", "add", "--detach", "--force", dir, rev], { stdio: "ignore" });
  // The old tree runs with this tree's installed packages (the toolchain is pinned alike).
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  // Built files (the console's and reference page's assets, the client bundle) are not in git.
  execFileSync("npm", ["run", "-s", "build"], { cwd: dir, stdio: "ignore" });
  return dir;
}

function removeWorktree(dir) {
  try {
    execFileSync("git", ["-C", ROOT, "worktree", "remove", "--force", dir], { stdio: "ignore" });
  } catch {
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  }
}

async function consumeRate(handle) {
  const t0 = performance.now();
  const got = await handle.consume(CONSUME_RECORDS);
  return got / ((performance.now() - t0) / 1000);
}

export async function benchCompare({ rev, quick, log = console.error }) {
  // Run-to-run spread on this machine is ±15–20%: many short alternating runs, compared in
  // pairs (each new run against the old run beside it), resolve a few percent where a few
  // long runs cannot.
  const runs = quick ? 5 : 15;
  const runMs = 1_000;
  const oldRoot = worktreeOf(rev);
  const servers = {
    old: new LocalServer(tempStateDir(), {}, { root: oldRoot }),
    new: new LocalServer(tempStateDir()),
  };
  const modes = ["old", "new"];
  try {
    for (const mode of modes) await servers[mode].start();
    const systems = { old: edgelog(servers.old.url, "1"), new: edgelog(servers.new.url, "1") };
    const replicated = { old: edgelog(servers.old.url, "all"), new: edgelog(servers.new.url, "all") };
    const figures = { old: {}, new: {} };
    const alternate = async (measure) => {
      const values = { old: [], new: [] };
      for (let r = 0; r < runs; r++)
        for (const mode of r % 2 === 0 ? modes : [...modes].reverse()) values[mode].push(await measure(mode));
      return values;
    };
    for (const cell of CELLS) {
      const system = cell.acks === "all" ? replicated : systems;
      const handles = {
        old: await system.old.open(cell.partitions),
        new: await system.new.open(cell.partitions),
      };
      for (const mode of modes) await closedLoop(handles[mode], cell, runMs / 2); // warm-up
      const values = await alternate(
        async (mode) => (await closedLoop(handles[mode], cell, runMs)).recordsPerSecond,
      );
      for (const mode of modes) {
        figures[mode][cell.name] = {
          median: Math.round(median(values[mode])),
          runs: values[mode].map(Math.round),
        };
        await handles[mode].close();
      }
      log(`${cell.name}: old ${figures.old[cell.name].median} new ${figures.new[cell.name].median} rec/s`);
    }
    const consume = "consume (group, 1 member × 4p)";
    const handles = { old: await systems.old.open(4), new: await systems.new.open(4) };
    for (const mode of modes)
      for (let sent = 0; sent < CONSUME_RECORDS; sent += PRELOAD_BATCH)
        await handles[mode].produce(0, PRELOAD_BATCH);
    for (const mode of modes) await consumeRate(handles[mode]); // warm-up
    const values = await alternate((mode) => consumeRate(handles[mode]));
    for (const mode of modes) {
      figures[mode][consume] = {
        median: Math.round(median(values[mode])),
        runs: values[mode].map(Math.round),
      };
      await handles[mode].close();
    }
    log(`${consume}: old ${figures.old[consume].median} new ${figures.new[consume].median} rec/s`);
    for (const mode of modes) await Promise.all([systems[mode].shutdown(), replicated[mode].shutdown()]);
    const names = [...CELLS.map((c) => c.name), consume];
    // The median of the paired ratios: drift on the machine cancels within a pair.
    const ratios = Object.fromEntries(
      names.map((n) => [
        n,
        +median(figures.new[n].runs.map((v, r) => v / figures.old[n].runs[r])).toFixed(3),
      ]),
    );
    return {
      rev,
      runs,
      runMs,
      figures,
      ratios,
      targets: names.map((n) => ({
        target: `${n}: new/old ≥ ${COMPARE_RATIO_MIN} (same run)`,
        measured: ratios[n],
        met: ratios[n] >= COMPARE_RATIO_MIN,
      })),
    };
  } finally {
    for (const mode of modes) await servers[mode].stop("SIGTERM");
    removeWorktree(oldRoot);
  }
}

export function printCompare(c) {
  console.log(
    `\nold (${c.rev}) and new (working tree): ${c.runs} alternating runs × ${c.runMs} ms, acks=1 unless named; new/old is the median of the paired ratios`,
  );
  console.log("workload                          old rec/s   new rec/s  new/old   runs old | new");
  for (const [name, ratio] of Object.entries(c.ratios)) {
    const o = c.figures.old[name];
    const n = c.figures.new[name];
    console.log(
      `${name.padEnd(32)} ${String(o.median).padStart(10)} ${String(n.median).padStart(11)} ${String(ratio).padStart(8)}   ${o.runs.join(" ")} | ${n.runs.join(" ")}`,
    );
  }
}
