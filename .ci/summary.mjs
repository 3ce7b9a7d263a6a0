// Prints vitest's JSON results as the plain closing line CI reads: "N passed, N failed".
// A failure the per-test counts miss is still a failure: a failing beforeAll/afterAll
// (its file fails with no failed test), a file that did not load, an unhandled error or
// a crashed worker (vitest reports no success, or exits non-zero), a skipped test that
// is not declared in .ci/allowed-skips.txt. `.only` fails under CI (vitest's allowOnly).
//
//   node .ci/summary.mjs results.json [vitest-exit-code]
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * @param {any} results vitest's JSON report (or undefined when there is none)
 * @param {number} exitCode vitest's exit code
 * @param {Set<string>} allowedSkips full names of tests skipped on purpose
 * @returns {{ passed: number, failed: number, skipped: number, reasons: string[] }}
 */
export function summarize(results, exitCode, allowedSkips) {
  if (!results)
    return { passed: 0, failed: 1, skipped: 0, reasons: ["no results: the test run did not finish"] };
  const reasons = [];
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const file of results.testResults ?? []) {
    const tests = file.assertionResults ?? [];
    const failedTests = tests.filter((t) => t.status === "failed");
    passed += tests.filter((t) => t.status === "passed").length;
    failed += failedTests.length;
    for (const t of failedTests) reasons.push(`failed: ${t.fullName}`);
    if (file.status === "failed" && failedTests.length === 0) {
      // A hook failed, or the file did not load or run: no test carries the failure.
      failed += 1;
      reasons.push(
        `failed outside any test (hook, load or crash): ${file.name}${file.message ? `: ${file.message}` : ""}`,
      );
    }
    for (const t of tests.filter((t) => ["skipped", "pending", "todo"].includes(t.status))) {
      if (file.status === "failed") continue; // skipped because its file failed: counted above
      if (allowedSkips.has(t.fullName)) skipped += 1;
      else {
        failed += 1;
        reasons.push(`skipped without being declared in .ci/allowed-skips.txt: ${t.fullName}`);
      }
    }
  }
  if (failed === 0 && (results.success === false || exitCode !== 0)) {
    // An unhandled error or a crashed worker: vitest knows the run failed though no test did.
    failed = 1;
    reasons.push(
      `the run failed outside any test (unhandled error or crashed worker; exit code ${exitCode})`,
    );
  }
  if (passed === 0 && failed === 0) {
    failed = 1;
    reasons.push("no test ran");
  }
  return { passed, failed, skipped, reasons };
}

/** Full test names, one a line, that may be skipped (a reason after ` # `). */
export function readAllowedSkips(file) {
  if (!existsSync(file)) return new Set();
  return new Set(
    readFileSync(file, "utf8")
      .split("\n")
      .map((line) => line.replace(/\s+#.*$/, "").trim())
      .filter((line) => line && !line.startsWith("#")),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, code = "0"] = process.argv.slice(2);
  const results = file && existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : undefined;
  const allowed = readAllowedSkips(join(dirname(fileURLToPath(import.meta.url)), "allowed-skips.txt"));
  const { passed, failed, skipped, reasons } = summarize(results, Number(code), allowed);
  for (const reason of reasons) console.log(reason);
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
  process.exit(failed > 0 ? 1 : 0);
}
