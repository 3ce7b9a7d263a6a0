/**
 * Fault injection for tests (issue 3): a replica can fail, hang, or fail after
 * committing. `__EDGELOG_FAULTS__` is a build-time constant, true only when the
 * local environment sets EDGELOG_FAULTS=1 (scripts/dev.mjs, the test config); a
 * deploy builds it false and every check below folds away.
 */
declare const __EDGELOG_FAULTS__: boolean;

export const FAULTS_COMPILED: boolean = typeof __EDGELOG_FAULTS__ !== "undefined" && __EDGELOG_FAULTS__;

export type FaultMode = "none" | "fail" | "hang" | "failAfterCommit" | "slow";
export const FAULT_MODES = ["none", "fail", "hang", "failAfterCommit", "slow", "reset"] as const;

/** A hung call gives up after this long, so a forgotten fault cannot pin a request forever. */
const HANG_MS_MAX = 60_000;
/**
 * A slow replica answers every data-path call this much later, then normally: it lags
 * without failing, so it stays in the ISR (shorter than replica.lag.time.max.ms and an
 * election's probe timeout) while missing the newest records.
 */
const SLOW_MS = 400;

export class FaultInjector {
  private mode: FaultMode = "none";
  private readonly hung = new Set<() => void>();

  set(mode: FaultMode): void {
    this.mode = mode;
    if (mode !== "hang") {
      for (const release of this.hung) release();
      this.hung.clear();
    }
  }

  get active(): boolean {
    return FAULTS_COMPILED && (this.mode === "fail" || this.mode === "hang");
  }

  /**
   * The fault preamble of a data-path call (`await faults.gate()`): throws for
   * "fail", rejects later for "hang", resolves later for "slow", and otherwise
   * answers undefined at once (no promise, no I/O: a build without faults pays
   * one microtask).
   */
  gate(): Promise<void> | undefined {
    if (!FAULTS_COMPILED || this.mode === "none" || this.mode === "failAfterCommit") return undefined;
    if (this.mode === "fail") throw new Error("injected fault: replica failing");
    if (this.mode === "slow") return new Promise<void>((resolve) => setTimeout(resolve, SLOW_MS));
    return new Promise<never>((_, reject) => {
      const release = () => {
        clearTimeout(timer);
        this.hung.delete(release);
        reject(new Error("injected fault: replica hung"));
      };
      const timer = setTimeout(release, HANG_MS_MAX);
      this.hung.add(release);
    });
  }

  /**
   * After the rows are written: true when the call must fail anyway ("failAfterCommit");
   * the caller throws once its commit group is durable.
   */
  failsAfterCommit(): boolean {
    return FAULTS_COMPILED && this.mode === "failAfterCommit";
  }
}
