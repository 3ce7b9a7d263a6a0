import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { unstable_readConfig } from "wrangler";

let outdir: string | null = null;

/**
 * What `wrangler deploy` would upload (`--dry-run --outdir`), built once per test
 * file with EDGELOG_FAULTS=1 in the environment (the flag must not leak into a
 * deploy), run in Miniflare with the deploy configuration's own [vars] and
 * Durable Object bindings, plus `secrets` (as `wrangler secret put` would add).
 */
export function deployBundle(secrets: Record<string, string> = {}): Miniflare {
  if (outdir === null) {
    outdir = mkdtempSync(join(tmpdir(), "edgelog-deploy-"));
    execFileSync(
      process.execPath,
      ["node_modules/wrangler/bin/wrangler.js", "deploy", "--dry-run", "--outdir", outdir],
      { env: { ...process.env, WRANGLER_SEND_METRICS: "false", EDGELOG_FAULTS: "1" }, stdio: "ignore" },
    );
  }
  const config = unstable_readConfig({ config: "wrangler.toml" });
  return new Miniflare({
    modules: true,
    scriptPath: join(outdir, "index.js"),
    modulesRoot: outdir,
    compatibilityDate: config.compatibility_date,
    bindings: { ...(config.vars as Record<string, string>), ...secrets },
    durableObjects: Object.fromEntries(
      config.durable_objects.bindings.map((b: { name: string; class_name: string }) => [
        b.name,
        { className: b.class_name, useSQLite: true },
      ]),
    ),
  });
}
