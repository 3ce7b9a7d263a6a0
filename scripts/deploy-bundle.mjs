// The Worker as `wrangler deploy` would upload it (`--dry-run --outdir`: bundling and [define]
// as a deploy's), and the Miniflare options that run it with wrangler.toml's bindings. Used by
// `npm start` (scripts/start.mjs) and by the tests that check what a deploy builds.
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { unstable_readConfig } from "wrangler";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const WRANGLER = join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");

/**
 * Builds the bundle into a new temporary directory and answers it. `faults` compiles in
 * the test-only fault injection (see durable-objects/faults.ts); `env` is the build's
 * environment (a test passes EDGELOG_FAULTS=1 to show that the flag alone changes nothing).
 */
export function buildDeployBundle({ faults = false, env = process.env } = {}) {
  const outdir = mkdtempSync(join(tmpdir(), "edgelog-bundle-"));
  const args = [WRANGLER, "deploy", "--dry-run", "--outdir", outdir];
  if (faults) args.push("--define", "__EDGELOG_FAULTS__:true");
  execFileSync(process.execPath, args, {
    cwd: ROOT,
    env: { ...env, WRANGLER_SEND_METRICS: "false", WRANGLER_HIDE_BANNER: "true" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  return outdir;
}

export function wranglerConfig() {
  return unstable_readConfig({ config: join(ROOT, "wrangler.toml") });
}

/** Miniflare worker options for the bundle in `outdir`, with wrangler.toml's Durable Objects and `bindings`. */
export function workerOptions(config, outdir, bindings) {
  return {
    name: config.name,
    modules: true,
    modulesRoot: outdir,
    scriptPath: join(outdir, "index.js"),
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
    bindings,
    // wrangler.toml's [assets] (run_worker_first: the Worker reads them through the binding).
    ...(config.assets?.binding ? { serviceBindings: { [config.assets.binding]: ASSET_WORKER } } : {}),
    durableObjects: Object.fromEntries(
      config.durable_objects.bindings.map((b) => [b.name, { className: b.class_name, useSQLite: true }]),
    ),
  };
}

const ASSET_WORKER = "edgelog-assets";

/**
 * The Worker behind the ASSETS binding: Miniflare's own asset server over wrangler.toml's
 * [assets] directory, with no code of ours. A separate Worker, because Miniflare puts its
 * asset router in front of any Worker given `assets`, direct socket included, and that hop
 * costs every API request (~0.3 ms p50 measured); deployed, run_worker_first does the same.
 */
export function assetWorkerOptions(config, directory = join(ROOT, config.assets?.directory ?? "")) {
  if (!config.assets?.directory) return [];
  return [
    {
      name: ASSET_WORKER,
      modules: true,
      script: "export default { fetch() { return new Response(null, { status: 404 }); } };",
      compatibilityDate: config.compatibility_date,
      assets: {
        directory,
        routerConfig: { has_user_worker: false },
      },
    },
  ];
}
