import { Miniflare } from "miniflare";
import {
  assetWorkerOptions,
  buildDeployBundle,
  workerOptions,
  wranglerConfig,
} from "../../scripts/deploy-bundle.mjs";

let outdir: string | null = null;

/**
 * What `wrangler deploy` would upload, built once per test file with EDGELOG_FAULTS=1 in
 * the environment (the flag must not leak into a deploy), run in Miniflare with the deploy
 * configuration's own [vars] and Durable Object bindings, plus `secrets` (as `wrangler
 * secret put` would add).
 */
export function deployBundle(secrets: Record<string, string> = {}): Miniflare {
  outdir ??= buildDeployBundle({ env: { ...process.env, EDGELOG_FAULTS: "1" } });
  const config = wranglerConfig();
  return new Miniflare({
    workers: [
      workerOptions(config, outdir, { ...(config.vars as Record<string, string>), ...secrets }),
      ...assetWorkerOptions(config),
    ],
  });
}
