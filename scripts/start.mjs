#!/usr/bin/env node
// `npm start`: the gateway on Miniflare directly (workerd without wrangler dev's proxy, which
// costs ~2 ms a request): the Worker bundled once as `wrangler deploy` would upload it, served
// on 127.0.0.1:${PORT:-8787} by workerd's own socket for the Worker, state persisted under
// ${EDGELOG_STATE_DIR:-.wrangler/state} in wrangler dev's layout (v3/do/<worker>-<class>), so
// a state directory works with either. No request log unless EDGELOG_ACCESS_LOG=1: then the
// gateway writes one JSON line a request (route, status, duration, principal, trace ids; the
// path without its query, which may carry an ?access_token=); no Request.cf fetch, no telemetry. EDGELOG_FAULTS=1 compiles
// in the test-only fault injection routes. `--inspector-port N` opens workerd's V8 inspector.
// `npm run dev` keeps wrangler dev, with live reload.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { Log, LogLevel, Miniflare } from "miniflare";
import { buildAssets } from "./build-assets.mjs";
import {
  assetWorkerOptions,
  buildDeployBundle,
  ROOT,
  workerOptions,
  wranglerConfig,
} from "./deploy-bundle.mjs";
import { localVars, OPEN_GATEWAY_WARNING } from "./local-vars.mjs";

const port = Number(process.env.PORT ?? "8787");
const stateDir = process.env.EDGELOG_STATE_DIR ?? join(ROOT, ".wrangler", "state");
const inspectorArg = process.argv.indexOf("--inspector-port");
const inspectorPort = inspectorArg >= 0 ? Number(process.argv[inspectorArg + 1]) : undefined;

// The bundle `wrangler deploy` would upload ([define] included), built once; fault injection
// (tests only) only when asked for.
const outdir = buildDeployBundle({ faults: process.env.EDGELOG_FAULTS === "1" });
// The console's and reference page's files, built for this server alone (servers started
// side by side by the tests must not rebuild each other's).
const assetsDir = buildAssets(join(outdir, "assets"));

const config = wranglerConfig();
const vars = { ...config.vars, ...localVars() };
if (vars.EDGELOG_AUTH === "none") console.warn(OPEN_GATEWAY_WARNING);

// Clients get the Worker's own socket: Miniflare's entry (a router Worker in front of ours)
// costs ~0.4 ms of workerd's single thread a request, so it stays on a spare port.
const mf = new Miniflare({
  host: "127.0.0.1",
  port: 0,
  inspectorPort,
  defaultPersistRoot: join(stateDir, "v3"),
  cf: false,
  log: new Log(LogLevel.WARN),
  logRequests: false,
  workers: [
    { ...workerOptions(config, outdir, vars), unsafeDirectSockets: [{ host: "127.0.0.1", port }] },
    ...assetWorkerOptions(config, assetsDir),
  ],
});
await mf.ready;
const url = await mf.unsafeGetDirectURL();
console.log(`edgelog: listening on ${url.origin} (state in ${stateDir})`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"])
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    mf.dispose().finally(() => {
      rmSync(outdir, { recursive: true, force: true });
      process.exit(0);
    });
  });
