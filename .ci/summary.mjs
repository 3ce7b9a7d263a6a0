// Prints vitest's JSON results as the plain closing line CI reads: "N passed, N failed".
import { existsSync, readFileSync } from "node:fs";

const file = process.argv[2];
if (!file || !existsSync(file)) {
  console.log("0 passed, 1 failed");
  process.exit(1);
}
const results = JSON.parse(readFileSync(file, "utf8"));
const passed = results.numPassedTests ?? 0;
// A file that failed to load has no tests; count it as a failure so it cannot hide.
const failed =
  (results.numFailedTests ?? 0) +
  (results.testResults ?? []).filter((f) => f.status === "failed" && f.assertionResults.length === 0).length;
const skipped = (results.numPendingTests ?? 0) + (results.numTodoTests ?? 0);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
