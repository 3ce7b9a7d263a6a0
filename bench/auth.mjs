// The cost of credentials (issue 12): the same produce workloads against two servers of one
// run, one open (EDGELOG_AUTH=none, what npm start runs) and one requiring credentials, where
// every request carries an API key of a principal with prefixed ACLs (so each request pays
// what a real one does: the credential, its principal's cached view and an ACL decision).
// The two alternate run by run, so drift on the machine falls on both alike.
import { randomBytes } from "node:crypto";
import { LocalServer, tempStateDir } from "../scripts/local-server.mjs";
import { httpCall } from "./http.mjs";
import { median } from "./stats.mjs";
import { closedLoop } from "./suite.mjs";
import { edgelog } from "./systems.mjs";

/** Issue 12: produce b100 × 8 with auth ≥ 95% of without; single-record p50 at most 0.2 ms more. */
export const AUTH_TARGETS = { throughputRatio: 0.95, singleP50DeltaMs: 0.2 };
const CELLS = [
  { name: "b100 × 8", batch: 100, partitions: 4, inFlight: 8 },
  { name: "b1 × 1", batch: 1, partitions: 1, inFlight: 1 },
];

async function principalToken(base, admin) {
  const headers = { authorization: `Bearer ${admin}` };
  const call = (method, path, body) => httpCall(undefined, `${base}${path}`, method, body, headers);
  const { token } = JSON.parse(await call("POST", "/v1/principals/bench/keys"));
  for (const operation of ["write", "create", "delete", "describe"])
    await call(
      "POST",
      "/v1/acls",
      JSON.stringify({
        principal: "bench",
        resourceType: "topic",
        patternType: "prefixed",
        resourceName: "bench-",
        operation,
        permission: "allow",
      }),
    );
  return token;
}

export async function benchAuthCost({ quick }) {
  // Runs of the two alternate; odd counts give a true median. Throughput at b100 × 8 varies
  // ±10% run to run here, so fewer runs cannot resolve a 5% bound.
  const runs = quick ? 3 : 9;
  const runMs = quick ? 1_000 : 2_000;
  const admin = randomBytes(24).toString("base64url");
  const open = new LocalServer(tempStateDir());
  const closed = new LocalServer(tempStateDir(), { EDGELOG_AUTH: "required", EDGELOG_ADMIN_TOKEN: admin });
  try {
    await open.start();
    await closed.start();
    const systems = {
      off: edgelog(open.url, "1"),
      on: edgelog(closed.url, "1", await principalToken(closed.url, admin)),
    };
    const figures = { off: {}, on: {} };
    for (const cell of CELLS) {
      const handles = {
        off: await systems.off.open(cell.partitions),
        on: await systems.on.open(cell.partitions),
      };
      for (const mode of ["off", "on"]) await closedLoop(handles[mode], cell, runMs / 2); // warm-up
      const results = { off: [], on: [] };
      for (let r = 0; r < runs; r++)
        for (const mode of r % 2 === 0 ? ["off", "on"] : ["on", "off"])
          results[mode].push(await closedLoop(handles[mode], cell, runMs));
      for (const mode of ["off", "on"]) {
        figures[mode][cell.name] = {
          recordsPerSecond: Math.round(median(results[mode].map((x) => x.recordsPerSecond))),
          p50Ms: median(results[mode].map((x) => x.p50Ms)),
          p99Ms: median(results[mode].map((x) => x.p99Ms)),
          runs: results[mode].map((x) => ({
            recordsPerSecond: Math.round(x.recordsPerSecond),
            p50Ms: x.p50Ms,
          })),
        };
        await handles[mode].close();
      }
    }
    for (const mode of ["off", "on"]) await systems[mode].shutdown();
    const ratio = +(
      figures.on["b100 × 8"].recordsPerSecond / figures.off["b100 × 8"].recordsPerSecond
    ).toFixed(3);
    const delta = +(figures.on["b1 × 1"].p50Ms - figures.off["b1 × 1"].p50Ms).toFixed(2);
    return {
      runs,
      runMs,
      figures,
      targets: [
        {
          target: "auth on: produce b100 × 8 ≥ 95% of auth off (same run)",
          measured: ratio,
          met: ratio >= AUTH_TARGETS.throughputRatio,
        },
        {
          target: "auth on: single-record produce p50 ≤ auth off + 0.2 ms (same run)",
          measured: delta,
          met: delta <= AUTH_TARGETS.singleP50DeltaMs,
        },
      ],
    };
  } finally {
    await open.stop("SIGTERM");
    await closed.stop("SIGTERM");
  }
}

export function printAuthCost(auth) {
  console.log(`\ncost of credentials (median of ${auth.runs} alternating runs × ${auth.runMs} ms, acks=1)`);
  console.log("workload        auth  records/s    p50 ms    p99 ms");
  for (const cell of CELLS)
    for (const mode of ["off", "on"]) {
      const f = auth.figures[mode][cell.name];
      console.log(
        `${cell.name.padEnd(15)} ${mode.padEnd(4)} ${String(f.recordsPerSecond).padStart(10)} ${String(f.p50Ms).padStart(9)} ${String(f.p99Ms).padStart(9)}   runs: ${f.runs.map((r) => (cell.batch === 1 ? r.p50Ms : r.recordsPerSecond)).join(" ")}`,
      );
    }
}
