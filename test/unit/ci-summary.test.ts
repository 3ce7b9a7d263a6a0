import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { summarize } from "../../.ci/summary.mjs";

/**
 * CI's closing line must count every way a run can fail (issue 11): each fixture is
 * run by a real vitest, as CI runs it (CI=true, JSON reporter), and summarised.
 */
const FIXTURES = join(import.meta.dirname, "../fixtures/ci-summary");
const VITEST = join(import.meta.dirname, "../../node_modules/vitest/vitest.mjs");

function runFixture(file: string): string {
  const out = join(mkdtempSync(join(tmpdir(), "ci-summary-")), "results.json");
  const run = spawnSync(
    process.execPath,
    [VITEST, "run", "--config", "vitest.config.ts", "--reporter=json", `--outputFile.json=${out}`, file],
    { cwd: FIXTURES, env: { ...process.env, CI: "true" }, encoding: "utf8", timeout: 60_000 },
  );
  let results: unknown;
  try {
    results = JSON.parse(readFileSync(out, "utf8"));
  } catch {
    results = undefined;
  }
  const { passed, failed, skipped } = summarize(results, run.status ?? 1, new Set());
  return `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`;
}

describe(".ci/summary.mjs counts every failure kind", () => {
  it.each([
    ["pass.fixture.ts", "1 passed, 0 failed"],
    ["failing.fixture.ts", "1 passed, 1 failed"],
    ["before-all.fixture.ts", "0 passed, 1 failed"],
    ["after-all.fixture.ts", "1 passed, 1 failed"],
    ["unhandled.fixture.ts", "1 passed, 1 failed"],
    ["load.fixture.ts", "0 passed, 1 failed"],
    ["crash.fixture.ts", "0 passed, 1 failed"],
    ["only.fixture.ts", "0 passed, 1 failed"],
    ["skip.fixture.ts", "1 passed, 1 failed"],
  ])("%s → %s", (file, line) => {
    expect(runFixture(file)).toBe(line);
  });

  it("a declared skip is counted as skipped, not failed; no results at all is a failure", () => {
    const results = {
      success: true,
      testResults: [
        {
          name: "x.test.ts",
          status: "passed",
          assertionResults: [
            { fullName: "a b", status: "passed" },
            { fullName: "a skipped on purpose", status: "skipped" },
          ],
        },
      ],
    };
    expect(summarize(results, 0, new Set(["a skipped on purpose"]))).toMatchObject({
      passed: 1,
      failed: 0,
      skipped: 1,
    });
    expect(summarize(results, 0, new Set())).toMatchObject({ passed: 1, failed: 1 });
    expect(summarize(undefined, 0, new Set())).toMatchObject({ passed: 0, failed: 1 });
  });
});
