import { describe, expect, it } from "vitest";
import { runChaos } from "../chaos/run.mjs";

/** The short chaos run of `npm test` (issue 11); `npm run chaos -- --minutes 3` is the long one. */
const DURATION_MS = 25_000;
const DEFAULT_SEED = 524262081;

describe("chaos: a short randomized history with crashes, faults and cut connections", () => {
  it("finds nothing: no lost, duplicated or inconsistent record, no read above the high watermark, no regression, no unexpected answer", async () => {
    // A fixed seed by default (one that found an acks=all loss, see docs/chaos.md), so CI does not stall
    // on a finding no change of its own made; CHAOS_SEED picks another. `npm run chaos` draws a fresh one.
    const seed = Number(process.env.CHAOS_SEED ?? DEFAULT_SEED);
    console.log(
      `chaos seed=${seed} (replay: npm run chaos -- --seed ${seed} --minutes ${DURATION_MS / 60_000})`,
    );
    const history = await runChaos({ seed, durationMs: DURATION_MS });
    console.log(history.summary());
    expect(history.printed).toEqual([]);
    expect(history.crashes).toBeGreaterThanOrEqual(1);
    expect(history.acked.length).toBeGreaterThan(0);
    expect(history.observed.size).toBeGreaterThan(0);
  }, 240_000);
});
