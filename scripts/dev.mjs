#!/usr/bin/env node
// Runs the gateway locally in workerd via wrangler dev: 127.0.0.1:${PORT:-8787}, state
// persisted under ${EDGELOG_STATE_DIR:-.wrangler/state}, no telemetry, no update check,
// no Cloudflare login. EDGELOG_FAULTS=1 compiles in the test-only fault injection
// routes. Extra arguments go to wrangler dev.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const wrangler = join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");
const port = process.env.PORT ?? "8787";
const stateDir = process.env.EDGELOG_STATE_DIR ?? ".wrangler/state";

const args = [wrangler, "dev", "--ip", "127.0.0.1", "--port", port, "--persist-to", stateDir];
args.push("--show-interactive-dev-session=false");
if (process.env.EDGELOG_MAX_REQUEST_BYTES)
  args.push("--var", `EDGELOG_MAX_REQUEST_BYTES:${process.env.EDGELOG_MAX_REQUEST_BYTES}`);
// Fault injection (tests only) is compiled in only when asked for; see durable-objects/faults.ts.
if (process.env.EDGELOG_FAULTS === "1") args.push("--define", "__EDGELOG_FAULTS__:true");
args.push(...process.argv.slice(2));

const child = spawn(process.execPath, args, {
  stdio: "inherit",
  env: {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    WRANGLER_HIDE_BANNER: "true",
  },
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
