import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// Three layers (README "Development"): pure core in Node, integration inside workerd,
// end-to-end against a real `wrangler dev` server with real clients.
export default defineConfig({
  test: {
    // Under CI a forgotten `.only` fails the run instead of silently skipping the rest.
    allowOnly: !process.env.CI,
    projects: [
      {
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], environment: "node" },
      },
      {
        plugins: [
          cloudflareTest({
            main: "./worker/index.ts",
            wrangler: { configPath: "./wrangler.toml" },
            // As `npm start` runs by default (the deploy config requires credentials); the
            // security tests run end to end against servers started with EDGELOG_AUTH=required.
            miniflare: {
              // Webhook retries 50 ms apart (not 30 s) so the alert tests see them; no request log.
              bindings: {
                EDGELOG_AUTH: "none",
                EDGELOG_CORS_ORIGINS: "*",
                EDGELOG_ALERT_RETRY_BASE_MS: "50",
                EDGELOG_REQUEST_LOG: "0", // wrangler.toml turns it on for deploys
              },
            },
          }),
        ],
        // Tests inject faults (replica down, hung, failing after commit): compile that in here only.
        define: { __EDGELOG_FAULTS__: "true" },
        test: { name: "integration", include: ["test/integration/**/*.test.ts"], testTimeout: 30_000 },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          // Each file starts its own wrangler dev servers; one file at a time keeps the 2 cores sane.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
