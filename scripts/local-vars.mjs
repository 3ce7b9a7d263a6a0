// The variables a local server runs with (shared by scripts/start.mjs and scripts/dev.mjs):
// security settings (API.md "Security") from the process environment, else from .dev.vars:
// EDGELOG_AUTH (default none), EDGELOG_ADMIN_TOKEN, EDGELOG_CORS_ORIGINS (default *), and
// EDGELOG_MAX_REQUEST_BYTES from the environment.
import { existsSync, readFileSync } from "node:fs";

/** KEY=value lines of a dotenv file (quotes stripped, comments skipped). */
function parseDotenv(text) {
  const vars = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match || line.trimStart().startsWith("#")) continue;
    vars[match[1]] = match[2].replace(/^(['"])(.*)\1$/, "$2");
  }
  return vars;
}

/** The [vars] overrides for a local server. */
export function localVars() {
  const devVars = existsSync(".dev.vars") ? parseDotenv(readFileSync(".dev.vars", "utf8")) : {};
  const setting = (name, fallback) => process.env[name] ?? devVars[name] ?? fallback;
  const vars = {
    ...devVars,
    EDGELOG_AUTH: setting("EDGELOG_AUTH", "none"),
    EDGELOG_CORS_ORIGINS: setting("EDGELOG_CORS_ORIGINS", "*"),
    // Quiet locally: one JSON line per request only when asked for.
    EDGELOG_REQUEST_LOG: process.env.EDGELOG_ACCESS_LOG === "1" ? "1" : "0",
  };
  const adminToken = setting("EDGELOG_ADMIN_TOKEN", undefined);
  if (adminToken !== undefined) vars.EDGELOG_ADMIN_TOKEN = adminToken;
  if (process.env.EDGELOG_MAX_REQUEST_BYTES)
    vars.EDGELOG_MAX_REQUEST_BYTES = process.env.EDGELOG_MAX_REQUEST_BYTES;
  // Tests shorten the webhook retry back-off (core/alerts.ts DELIVERY_RETRY_BASE_MS).
  if (process.env.EDGELOG_ALERT_RETRY_BASE_MS)
    vars.EDGELOG_ALERT_RETRY_BASE_MS = process.env.EDGELOG_ALERT_RETRY_BASE_MS;
  return vars;
}

/** The one line a local server says when authentication is off. */
export const OPEN_GATEWAY_WARNING =
  "edgelog: EDGELOG_AUTH=none — no credentials are checked; serving loopback clients only (set EDGELOG_AUTH=required and EDGELOG_ADMIN_TOKEN to require them)";
