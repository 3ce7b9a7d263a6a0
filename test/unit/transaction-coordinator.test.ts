import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Result } from "../../core/errors";
import { PRODUCER_EPOCH_MAX, TRANSACTION_GROUPS_MAX, TRANSACTION_PARTITIONS_MAX } from "../../core/limits";
import {
  addGroup,
  addPartitions,
  completeTransaction,
  endTransaction,
  expire,
  initEpoch,
  isPreparing,
  markerOf,
  type Transaction,
  timeoutAt,
} from "../../core/transaction-coordinator";

const TIMEOUT = 60_000;
const tp = (topic: string, partition: number) => ({ topic, partition });

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

function code<T>(r: Result<T>): string {
  return r.ok ? "ok" : r.error.code;
}

describe("transaction coordinator (pure state machine)", () => {
  it("an end sent before the open transaction's first write (a late repeat of an earlier end) changes nothing", () => {
    // Transaction 1 writes sequences 0 and 1, then aborts with next sequence 2; transaction 2 begins at 2.
    let txn = value(
      addPartitions(value(initEpoch(null, TIMEOUT, PRODUCER_EPOCH_MAX)), 0, [tp("a", 0)], 1, 0),
    ).txn;
    txn = completeTransaction(value(endTransaction(txn, 0, false, 2)).txn);
    txn = value(addPartitions(txn, 0, [tp("a", 1)], 2, 2)).txn;
    expect(txn).toMatchObject({ state: "Ongoing", number: 2, firstSequence: 2 });
    // The first abort's late copy (sent at sequence 2), or a commit as late: refused, the transaction stays open.
    for (const commit of [false, true])
      expect(code(endTransaction(txn, 0, commit, 2))).toBe("INVALID_TXN_STATE");
    expect(code(endTransaction(txn, 0, true, 1))).toBe("INVALID_TXN_STATE");
    // Its own end, after its write of sequence 2, and an end without a sequence (as before), go through.
    expect(value(endTransaction(txn, 0, true, 3)).kind).toBe("prepare");
    expect(value(endTransaction(txn, 0, true)).kind).toBe("prepare");
    // Begun by offsets (no write, no sequence): nothing to compare with, so an end goes through.
    const byOffsets = value(
      addGroup(completeTransaction(value(endTransaction(txn, 0, true, 3)).txn), 0, "g", 3),
    ).txn;
    expect(value(endTransaction(byOffsets, 0, false, 3)).kind).toBe("prepare");
  });

  it("a transaction begins with its first write, commits through PrepareCommit, and the next one begins afresh", () => {
    let txn = value(initEpoch(null, TIMEOUT, PRODUCER_EPOCH_MAX));
    expect(txn).toMatchObject({ state: "Empty", epoch: 0, partitions: [], startedAtMs: null });
    const added = value(addPartitions(txn, 0, [tp("b", 1), tp("a", 0), tp("b", 1)], 1_000));
    expect(added.changed).toBe(true);
    txn = added.txn;
    expect(txn).toMatchObject({ state: "Ongoing", startedAtMs: 1_000, partitions: [tp("a", 0), tp("b", 1)] });
    // Registering what is registered changes nothing (no write before the append).
    expect(value(addPartitions(txn, 0, [tp("a", 0)], 2_000)).changed).toBe(false);
    txn = value(addGroup(txn, 0, "g", 2_000)).txn;
    expect(txn.groups).toEqual(["g"]);
    expect(timeoutAt(txn)).toBe(1_000 + TIMEOUT);
    const end = value(endTransaction(txn, 0, true));
    expect(end.kind).toBe("prepare");
    txn = end.txn;
    expect(txn.state).toBe("PrepareCommit");
    expect(markerOf(txn)).toEqual({ epoch: 0, commit: true, number: 1 });
    // While the markers are written: a retry resumes, the other verb is refused, writes wait.
    expect(value(endTransaction(txn, 0, true)).kind).toBe("resume");
    expect(code(endTransaction(txn, 0, false))).toBe("INVALID_TXN_STATE");
    expect(code(addPartitions(txn, 0, [tp("c", 0)], 3_000))).toBe("CONCURRENT_TRANSACTIONS");
    expect(code(initEpoch(txn, TIMEOUT, PRODUCER_EPOCH_MAX))).toBe("CONCURRENT_TRANSACTIONS");
    txn = completeTransaction(txn);
    expect(txn).toMatchObject({ state: "CompleteCommit", partitions: [], groups: [], startedAtMs: null });
    expect(value(endTransaction(txn, 0, true)).kind).toBe("done");
    expect(code(endTransaction(txn, 0, false))).toBe("INVALID_TXN_STATE");
    txn = value(addPartitions(txn, 0, [tp("c", 0)], 5_000)).txn;
    expect(txn).toMatchObject({ state: "Ongoing", startedAtMs: 5_000, partitions: [tp("c", 0)], groups: [] });
  });

  it("a new epoch aborts the open transaction under it, fencing the old producer", () => {
    let txn = value(initEpoch(null, TIMEOUT, PRODUCER_EPOCH_MAX));
    txn = value(addPartitions(txn, 0, [tp("a", 0)], 0)).txn;
    txn = value(initEpoch(txn, TIMEOUT, PRODUCER_EPOCH_MAX));
    expect(txn).toMatchObject({ state: "PrepareAbort", epoch: 1, partitions: [tp("a", 0)] });
    expect(markerOf(txn)).toEqual({ epoch: 1, commit: false, number: 1 });
    txn = completeTransaction(txn);
    expect(code(addPartitions(txn, 0, [tp("a", 0)], 0))).toBe("PRODUCER_FENCED");
    expect(code(endTransaction(txn, 0, true))).toBe("PRODUCER_FENCED");
    expect(code(addPartitions(txn, 2, [tp("a", 0)], 0))).toBe("INVALID_PRODUCER_EPOCH");
    // With nothing open, a new epoch starts Empty.
    expect(value(initEpoch(txn, 5_000, PRODUCER_EPOCH_MAX))).toMatchObject({
      state: "Empty",
      epoch: 2,
      timeoutMs: 5_000,
    });
  });

  it("the alarm aborts a transaction past its timeout and fences its epoch; ending nothing is refused", () => {
    let txn = value(initEpoch(null, TIMEOUT, PRODUCER_EPOCH_MAX));
    expect(code(endTransaction(txn, 0, true))).toBe("INVALID_TXN_STATE");
    expect(expire(txn, 10 * TIMEOUT)).toBeNull();
    txn = value(addPartitions(txn, 0, [tp("a", 0)], 1_000)).txn;
    expect(expire(txn, 1_000 + TIMEOUT - 1)).toBeNull();
    const expired = expire(txn, 1_000 + TIMEOUT);
    expect(expired).toMatchObject({ state: "PrepareAbort", epoch: 1, partitions: [tp("a", 0)] });
    expect(code(endTransaction(expired!, 0, true))).toBe("PRODUCER_FENCED");
  });

  it("bounds what one transaction registers", () => {
    let txn = value(initEpoch(null, TIMEOUT, PRODUCER_EPOCH_MAX));
    const many = Array.from({ length: TRANSACTION_PARTITIONS_MAX }, (_, i) => tp("t", i));
    txn = value(addPartitions(txn, 0, many, 0)).txn;
    expect(code(addPartitions(txn, 0, [tp("u", 0)], 0))).toBe("INVALID_REQUEST");
    for (let i = 0; i < TRANSACTION_GROUPS_MAX; i++) txn = value(addGroup(txn, 0, `g${i}`, 0)).txn;
    expect(code(addGroup(txn, 0, "one-more", 0))).toBe("INVALID_REQUEST");
    expect(
      code(initEpoch({ ...txn, state: "Empty", epoch: PRODUCER_EPOCH_MAX - 1 }, TIMEOUT, PRODUCER_EPOCH_MAX)),
    ).toBe("INVALID_REQUEST");
  });

  type Op =
    | { kind: "init" }
    | { kind: "write"; stale: boolean; partitions: number[] }
    | { kind: "offsets"; stale: boolean; group: number }
    | { kind: "end"; stale: boolean; commit: boolean }
    | { kind: "complete" }
    | { kind: "tick"; ms: number };

  /** Mostly the current epoch: a stale one is refused, and histories should get somewhere. */
  const stale = fc.integer({ min: 0, max: 3 }).map((n) => n === 0);
  /** Weighted so that transactions live long enough to register several partitions and groups. */
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 1, arbitrary: fc.constant({ kind: "init" as const }) },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant("write" as const),
        stale,
        partitions: fc.array(fc.nat(5), { minLength: 1, maxLength: 3 }),
      }),
    },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("offsets" as const), stale, group: fc.nat(3) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("end" as const), stale, commit: fc.boolean() }) },
    { weight: 2, arbitrary: fc.constant({ kind: "complete" as const }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("tick" as const),
        ms: fc.oneof(fc.integer({ min: 0, max: TIMEOUT / 10 }), fc.integer({ min: 0, max: 2 * TIMEOUT })),
      }),
    },
  );

  it("over random histories: epochs only grow, stale epochs change nothing, a decision never flips and marks exactly what was written", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        let txn: Transaction = value(initEpoch(null, TIMEOUT, PRODUCER_EPOCH_MAX));
        let now = 0;
        /** The model: partitions and groups written in the open transaction. */
        let written = new Set<string>();
        let groups = new Set<string>();
        let decided: boolean | null = null;
        for (const o of ops) {
          const before = txn;
          const epoch = "stale" in o && o.stale ? txn.epoch - 1 : txn.epoch;
          if (o.kind === "init") {
            const r = initEpoch(txn, TIMEOUT, PRODUCER_EPOCH_MAX);
            if (isPreparing(before.state)) expect(code(r)).toBe("CONCURRENT_TRANSACTIONS");
            else {
              txn = value(r);
              expect(txn.epoch).toBe(before.epoch + 1);
              if (before.state === "Ongoing") {
                expect(txn.state).toBe("PrepareAbort");
                decided = false;
              } else {
                expect(txn.state).toBe("Empty");
                written = new Set();
                groups = new Set();
              }
            }
          } else if (o.kind === "write" || o.kind === "offsets") {
            const r =
              o.kind === "write"
                ? addPartitions(
                    txn,
                    epoch,
                    o.partitions.map((p) => tp("t", p)),
                    now,
                  )
                : addGroup(txn, epoch, `g${o.group}`, now);
            if (epoch !== txn.epoch)
              expect(code(r)).toBe(epoch < txn.epoch ? "PRODUCER_FENCED" : "INVALID_PRODUCER_EPOCH");
            else if (isPreparing(txn.state)) expect(code(r)).toBe("CONCURRENT_TRANSACTIONS");
            else {
              if (txn.state !== "Ongoing") {
                written = new Set();
                groups = new Set();
              }
              txn = value(r).txn;
              if (o.kind === "write") for (const p of o.partitions) written.add(`t/${p}`);
              else groups.add(`g${o.group}`);
            }
          } else if (o.kind === "end") {
            const r = endTransaction(txn, epoch, o.commit);
            if (epoch !== txn.epoch) expect(r.ok).toBe(false);
            else if (txn.state === "Ongoing") {
              txn = value(r).txn;
              decided = o.commit;
              // The decision marks exactly what the transaction wrote.
              expect(new Set(txn.partitions.map((p) => `${p.topic}/${p.partition}`))).toEqual(written);
              expect(new Set(txn.groups)).toEqual(groups);
            } else if (decided !== null || txn.state.startsWith("Complete")) {
              const same = (txn.state === "PrepareCommit" || txn.state === "CompleteCommit") === o.commit;
              expect(code(r)).toBe(same ? "ok" : "INVALID_TXN_STATE");
            } else expect(code(r)).toBe("INVALID_TXN_STATE");
          } else if (o.kind === "complete") {
            if (!isPreparing(txn.state)) continue;
            expect(markerOf(txn).commit).toBe(decided);
            expect(new Set(txn.partitions.map((p) => `${p.topic}/${p.partition}`))).toEqual(written);
            expect(new Set(txn.groups)).toEqual(groups);
            txn = completeTransaction(txn);
            expect(txn).toMatchObject({
              state: decided ? "CompleteCommit" : "CompleteAbort",
              partitions: [],
              groups: [],
            });
            decided = null;
            written = new Set();
            groups = new Set();
          } else {
            now += o.ms;
            const expired = expire(txn, now);
            if (expired !== null) {
              expect(before.state).toBe("Ongoing");
              expect(now).toBeGreaterThanOrEqual(before.startedAtMs! + before.timeoutMs);
              expect(expired.epoch).toBe(before.epoch + 1);
              txn = expired;
              decided = false;
            } else if (before.state === "Ongoing")
              expect(now).toBeLessThan(before.startedAtMs! + before.timeoutMs);
          }
          expect(isPreparing(txn.state)).toBe(decided !== null);
          expect(txn.startedAtMs === null).toBe(txn.state !== "Ongoing" && !isPreparing(txn.state));
          expect(txn.epoch).toBeGreaterThanOrEqual(before.epoch);
          // Each transaction begun takes the next number; a decided one keeps its own (its markers carry it).
          const begun = before.state !== "Ongoing" && txn.state === "Ongoing";
          expect(txn.number).toBe(before.number + (begun ? 1 : 0));
          if (txn.epoch > before.epoch)
            expect(txn.state === "Empty" || txn.state === "PrepareAbort").toBe(true);
          // A refused request changes nothing.
          if (epoch !== before.epoch && o.kind !== "init" && o.kind !== "tick") expect(txn).toBe(before);
        }
      }),
      { numRuns: 3_000 },
    );
  });
});
