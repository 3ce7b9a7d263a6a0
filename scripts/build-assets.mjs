#!/usr/bin/env node
// The gateway's static assets (wrangler.toml [assets] → dist/assets): the web console
// (web/console, with uPlot for its charts) and the API reference page (web/docs, with
// Swagger UI's files). Everything a page loads is copied here, so the pages work offline.
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const OUT = join(ROOT, "dist", "assets");
const packageDir = (name) => dirname(require.resolve(`${name}/package.json`));

/** Builds the assets afresh into `out` (dist/assets, wrangler.toml's directory, by default) and answers it. */
export function buildAssets(out = OUT) {
  rmSync(out, { recursive: true, force: true });
  cpSync(join(ROOT, "web", "console"), join(out, "console"), { recursive: true });
  const uplot = join(packageDir("uplot"), "dist");
  mkdirSync(join(out, "console", "vendor"), { recursive: true });
  cpSync(join(uplot, "uPlot.iife.min.js"), join(out, "console", "vendor", "uPlot.iife.min.js"));
  cpSync(join(uplot, "uPlot.min.css"), join(out, "console", "vendor", "uPlot.min.css"));
  cpSync(join(ROOT, "web", "docs"), join(out, "docs"), { recursive: true });
  const swagger = packageDir("swagger-ui-dist");
  for (const file of ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"])
    cpSync(join(swagger, file), join(out, "docs", file));
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) buildAssets();
