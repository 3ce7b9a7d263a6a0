import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  batchesToKeep,
  checkSequence,
  keylessPartition,
  type ProducerBatch,
  partitionDecision,
} from "../../core/idempotence";
import { testSeed } from "../seed";

const KEPT = 5;

const SEED = testSeed("idempotence unit tests");

describe("checkSequence", () => {
  it("classifies against the next expected sequence", () => {
    expect(checkSequence(7, 7, KEPT)).toBe("next");
    expect(checkSequence(7, 8, KEPT)).toBe("gap");
    expect(checkSequence(7, 6, KEPT)).toBe("duplicate");
    expect(checkSequence(7, 2, KEPT)).toBe("duplicate");
    expect(checkSequence(7, 1, KEPT)).toBe("expired-duplicate");
    expect(checkSequence(0, 0, KEPT)).toBe("next");
  });
});

/**
 * A model of one partition's producer state over random histories of appends
 * and repeats with epoch bumps: every repeat of one of the last KEPT batches is
 * answered with that batch, never appended again; an older epoch is fenced.
 */
describe("partition producer state (property)", () => {
  it("answers kept repeats with the original batch and fences older epochs", () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant("next" as const) }),
      fc.record({ kind: fc.constant("repeat" as const), back: fc.integer({ min: 1, max: 8 }) }),
      fc.record({ kind: fc.constant("bump" as const) }),
      fc.record({ kind: fc.constant("stale" as const) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        let kept: ProducerBatch[] = [];
        let epoch = 0;
        let sequence = 0;
        let offset = 0;
        const appended: ProducerBatch[] = [];
        for (const s of steps) {
          if (s.kind === "bump") {
            epoch++;
            sequence = 0;
            continue;
          }
          if (s.kind === "stale") {
            // A sequence the older epoch never sent, once this epoch has appended: fenced.
            if (epoch === 0 || !kept.some((b) => b.epoch === epoch)) continue;
            expect(partitionDecision(kept, epoch - 1, 1_000_000).kind).toBe("fenced");
            continue;
          }
          if (s.kind === "repeat") {
            const target = appended[appended.length - s.back];
            if (!target) continue;
            const decision = partitionDecision(kept, target.epoch, target.sequence);
            // One of the last KEPT batches is answered as it was; an older one never as a duplicate.
            if (s.back <= KEPT) expect(decision).toEqual({ kind: "duplicate", batch: target });
            else expect(decision.kind).not.toBe("duplicate");
            // Never appended again: an older one of this epoch is stale (a restarted producer relies on it).
            if (s.back > KEPT && target.epoch === epoch) expect(decision.kind).toBe("stale");
            continue;
          }
          const decision = partitionDecision(kept, epoch, sequence);
          expect(decision.kind).toBe("append");
          const batch = {
            producerId: "p",
            epoch,
            sequence,
            baseOffset: offset,
            count: 2,
            appendedMs: 0,
            defaultTimestamp: 0,
          };
          offset += 2;
          kept = batchesToKeep(kept, batch, KEPT);
          appended.push(batch);
          sequence++;
          expect(kept.length).toBeLessThanOrEqual(KEPT);
          expect(kept[0]).toEqual(batch);
        }
      }),
      { numRuns: 300, seed: SEED },
    );
  });
});

describe("keylessPartition", () => {
  it("is fixed by (id, epoch, sequence) and in range", () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 1, max: 1024 }),
        (id, epoch, sequence, partitions) => {
          const p = keylessPartition({ id, epoch, sequence }, partitions);
          expect(p).toBe(keylessPartition({ id, epoch, sequence }, partitions));
          expect(p).toBeGreaterThanOrEqual(0);
          expect(p).toBeLessThan(partitions);
        },
      ),
      { seed: SEED },
    );
  });

  it("spreads consecutive sequences over the partitions", () => {
    const hits = new Array(8).fill(0);
    for (let s = 0; s < 800; s++) hits[keylessPartition({ id: "a".repeat(64), epoch: 0, sequence: s }, 8)]++;
    for (const h of hits) expect(h).toBeGreaterThan(50);
  });
});
