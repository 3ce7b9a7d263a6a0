#!/usr/bin/env node
// Runs the gateway locally in workerd via wrangler dev: 127.0.0.1:${PORT:-8787}, state
// persisted under ${EDGELOG_STATE_DIR:-.wrangler/state}, no telemetry, no update check,
// no Cloudflare login, no local explorer (wrangler's /cdn-cgi/explorer reads object
// storage with no credential). EDGELOG_FAULTS=1 compiles in the test-only fault
// injection routes. Extra arguments go to wrangler dev.
//
// Security settings (API.md "Security") come from the process environment, else from
// .dev.vars: EDGELOG_AUTH (default none, said in one line at start), EDGELOG_ADMIN_TOKEN,
// EDGELOG_CORS_ORIGINS (default *). They reach wrangler through a private env file,
// never the command line (where `ps` would show the admin secret).
//
// Wrangler logs every request at its default level, URLs included (a WebSocket's
// ?access_token= too): it runs at `warn` unless EDGELOG_ACCESS_LOG=1, which also turns on
// the gateway's own JSON line per request.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { localVars, OPEN_GATEWAY_WARNING } from "./local-vars.mjs";

const require = createRequire(import.meta.url);
const wrangler = join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");
const port = process.env.PORT ?? "8787";
const stateDir = process.env.EDGELOG_STATE_DIR ?? ".wrangler/state";
/** How long the start-up line waits for the gateway to answer /healthz. */
const READY_TIMEOUT_MS = 60_000;
const READY_POLL_MS = 200;

const vars = localVars();

/** A dotenv line keeping `value` literal: quoted with a quote character it does not contain. */
function dotenvLine(name, value) {
  const quote = ["'", '"', "`"].find((q) => !value.includes(q));
  if (quote === undefined || /[\r\n]/.test(value))
    throw new Error(`${name} must be one line and not use all of the characters ' " \``);
  return `${name}=${quote}${value}${quote}`;
}

const envDir = mkdtempSync(join(tmpdir(), "edgelog-env-"));
const envFile = join(envDir, "vars.env");
writeFileSync(
  envFile,
  Object.entries(vars)
    .map(([name, value]) => dotenvLine(name, value))
    .join("\n"),
  { mode: 0o600 },
);

const args = [wrangler, "dev", "--ip", "127.0.0.1", "--port", port, "--persist-to", stateDir];
args.push("--show-interactive-dev-session=false", "--env-file", envFile);
const extra = process.argv.slice(2);
if (!extra.includes("--log-level"))
  args.push("--log-level", process.env.EDGELOG_ACCESS_LOG === "1" ? "info" : "warn");
// Fault injection (tests only) is compiled in only when asked for; see durable-objects/faults.ts.
if (process.env.EDGELOG_FAULTS === "1") args.push("--define", "__EDGELOG_FAULTS__:true");
args.push(...extra);

if (vars.EDGELOG_AUTH === "none") console.warn(OPEN_GATEWAY_WARNING);

const child = spawn(process.execPath, args, {
  stdio: "inherit",
  env: {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    WRANGLER_HIDE_BANNER: "true",
    X_LOCAL_EXPLORER: "false",
    CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV: "true",
  },
});
const cleanUp = () => rmSync(envDir, { recursive: true, force: true });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => {
  cleanUp();
  process.exit(code ?? (signal ? 1 : 0));
});

// wrangler says nothing at `warn` once it is up: say where the gateway listens.
const url = `http://127.0.0.1:${port}`;
const deadline = Date.now() + READY_TIMEOUT_MS;
while (Date.now() < deadline && child.exitCode === null) {
  const up = await fetch(`${url}/healthz`).then(
    (res) => res.ok,
    () => false,
  );
  if (up) {
    console.log(`edgelog: listening on ${url} (state in ${stateDir})`);
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
}
