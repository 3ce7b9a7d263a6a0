import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Result } from "../../core/errors";
import { isAborted, PartitionTransactions, type StoredMarker } from "../../core/partition-transactions";

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

function code<T>(r: Result<T>): string {
  return r.ok ? "ok" : r.error.code;
}

describe("a partition's transactions (pure)", () => {
  it("an open transaction holds the last stable offset back; commit releases it, abort adds a range read_committed skips", () => {
    const t = new PartitionTransactions();
    expect(t.lastStableOffset(5)).toBe(5);
    expect(value(t.admitTransactional("p", 0, 1, 5)).began).toEqual({
      producerId: "p",
      epoch: 0,
      number: 1,
      firstOffset: 5,
    });
    expect(value(t.admitTransactional("p", 0, 1, 8)).began).toBeNull();
    expect(t.lastStableOffset(10)).toBe(5);
    // The producer may not write outside its transaction meanwhile; others may.
    expect(code(t.admitPlain("p"))).toBe("INVALID_TXN_STATE");
    expect(code(t.admitPlain("q"))).toBe("ok");
    value(t.admitTransactional("q", 3, 1, 9));
    const commit = value(t.applyMarker("p", { epoch: 0, commit: true, number: 1 }, 10));
    expect(commit).toEqual({
      marker: {
        producerId: "p",
        epoch: 0,
        commit: true,
        number: 1,
        offset: 10,
        firstOffset: 5,
        transactionEpoch: 0,
        transactionNumber: 1,
        timestamp: 0,
      },
      aborted: null,
    });
    expect(t.lastStableOffset(11)).toBe(9);
    // A repeated marker finds nothing open: nothing to store.
    expect(value(t.applyMarker("p", { epoch: 0, commit: true, number: 1 }, 11))).toEqual({
      marker: null,
      aborted: null,
    });
    // An older epoch cannot close q's transaction; its new epoch (the coordinator aborting on init) can.
    expect(code(t.applyMarker("q", { epoch: 2, commit: false, number: 1 }, 11))).toBe("PRODUCER_FENCED");
    expect(value(t.applyMarker("q", { epoch: 4, commit: false, number: 1 }, 11)).aborted).toEqual({
      producerId: "q",
      firstOffset: 9,
      lastOffset: 11,
    });
    expect(t.lastStableOffset(12)).toBe(12);
    const ranges = t.abortedOverlapping(0, 12);
    expect(isAborted(ranges, "q", 9)).toBe(true);
    expect(isAborted(ranges, "p", 9)).toBe(false);
    expect(isAborted(ranges, null, 9)).toBe(false);
    expect(isAborted(ranges, "q", 12)).toBe(false);
    expect(t.abortedOverlapping(12, 20)).toEqual([]);
    expect(t.forgetBelow(12)).toHaveLength(1);
    expect(t.abortedRanges()).toEqual([]);
  });

  it("fences a transactional write of an older epoch; a newer epoch aborts an older one's orphaned transaction", () => {
    const t = new PartitionTransactions([{ producerId: "p", epoch: 2, number: 1, firstOffset: 0 }]);
    expect(code(t.admitTransactional("p", 1, 1, 3))).toBe("PRODUCER_FENCED");
    expect(t.openTransactions()).toEqual([{ producerId: "p", epoch: 2, number: 1, firstOffset: 0 }]);
    expect(value(t.admitTransactional("p", 3, 2, 3))).toEqual({
      began: { producerId: "p", epoch: 3, number: 2, firstOffset: 3 },
      aborted: { producerId: "p", firstOffset: 0, lastOffset: 2 },
    });
    expect(t.lastStableOffset(10)).toBe(3);
    const ranges = t.abortedOverlapping(0, 3);
    expect([0, 1, 2].map((o) => isAborted(ranges, "p", o))).toEqual([true, true, true]);
    expect(isAborted(t.abortedOverlapping(3, 10), "p", 3)).toBe(false);
  });

  it("numbers tell one epoch's transactions apart: a late marker of an earlier one closes nothing, a late write of a closed one is refused", () => {
    const t = new PartitionTransactions();
    value(t.admitTransactional("p", 0, 1, 0));
    expect(value(t.applyMarker("p", { epoch: 0, commit: false, number: 1 }, 2)).aborted).toEqual({
      producerId: "p",
      firstOffset: 0,
      lastOffset: 2,
    });
    // A write of transaction 1 arriving after its marker (its request had given up): refused.
    expect(code(t.admitTransactional("p", 0, 1, 3))).toBe("INVALID_TXN_STATE");
    expect(value(t.admitTransactional("p", 0, 2, 3)).began).toEqual({
      producerId: "p",
      epoch: 0,
      number: 2,
      firstOffset: 3,
    });
    expect(code(t.admitTransactional("p", 0, 1, 4))).toBe("INVALID_TXN_STATE");
    // Transaction 1's abort, delivered again late: transaction 2 stays open, and is not aborted.
    expect(value(t.applyMarker("p", { epoch: 0, commit: false, number: 1 }, 5))).toEqual({
      marker: null,
      aborted: null,
    });
    expect(t.lastStableOffset(6)).toBe(3);
    const committed = value(t.applyMarker("p", { epoch: 0, commit: true, number: 2 }, 5));
    expect(committed.marker).toMatchObject({ commit: true, transactionNumber: 2 });
    expect(isAborted(t.abortedOverlapping(0, 6), "p", 4)).toBe(false);
    // An orphan (a restart forgot its marker, compacted away) is aborted by a later transaction's marker.
    const r = new PartitionTransactions([{ producerId: "p", epoch: 0, number: 3, firstOffset: 7 }]);
    expect(value(r.applyMarker("p", { epoch: 0, commit: true, number: 4 }, 9))).toMatchObject({
      marker: { commit: false, transactionNumber: 3, number: 4 },
      aborted: { producerId: "p", firstOffset: 7, lastOffset: 9 },
    });
    // What a marker closed stays closed across a restart.
    const restarted = new PartitionTransactions([], [], new Map([["p", 2]]));
    expect(code(restarted.admitTransactional("p", 0, 2, 10))).toBe("INVALID_TXN_STATE");
    expect(value(restarted.admitTransactional("p", 0, 3, 10)).began).toMatchObject({ number: 3 });
  });

  type Event =
    | { kind: "txn"; producer: number; count: number }
    | { kind: "plain"; producer: number; count: number }
    | { kind: "marker"; producer: number; commit: boolean }
    | { kind: "hw"; fraction: number }
    | { kind: "truncate"; fraction: number };

  // Fractions in quarters: fast-check's doubles lean to 0, which would rarely move the high watermark.
  const event: fc.Arbitrary<Event> = fc.oneof(
    fc.record({
      kind: fc.constant("txn" as const),
      producer: fc.nat(2),
      count: fc.integer({ min: 1, max: 3 }),
    }),
    fc.record({
      kind: fc.constant("plain" as const),
      producer: fc.nat(3),
      count: fc.integer({ min: 1, max: 3 }),
    }),
    fc.record({ kind: fc.constant("marker" as const), producer: fc.nat(2), commit: fc.boolean() }),
    fc.record({
      kind: fc.constant("hw" as const),
      fraction: fc.integer({ min: 0, max: 4 }).map((q) => q / 4),
    }),
    fc.record({
      kind: fc.constant("truncate" as const),
      fraction: fc.integer({ min: 0, max: 4 }).map((q) => q / 4),
    }),
  );

  /** One stored log entry of the model: a record (with its producer when transactional) or a marker. */
  type Entry = {
    offset: number;
    producer: string | null;
    number?: number;
    plainProducer?: string;
    marker?: StoredMarker;
  };

  /** The index rebuilt from the stored entries alone: what a restarted or truncated replica must agree with. */
  function replay(entries: readonly Entry[]): PartitionTransactions {
    const t = new PartitionTransactions();
    for (const e of entries) {
      if (e.marker) value(t.applyMarker(e.marker.producerId, e.marker, e.offset));
      else if (e.producer !== null) value(t.admitTransactional(e.producer, 0, e.number!, e.offset));
    }
    return t;
  }

  it("over random histories: read_committed sees exactly the committed and plain records below the LSO, LSO ≤ HW, truncation agrees with a replay", () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 60 }), (events) => {
        const t = new PartitionTransactions();
        let entries: Entry[] = [];
        let hw = 0;
        let lastLso = 0;
        /** Decided transactions' records: offset → committed? */
        const decided = new Map<number, boolean>();
        /** Per producer, the number its next transaction takes (the coordinator's count: never goes back). */
        const nextNumber = new Map<string, number>();
        for (const e of events) {
          const leo = entries.length;
          if (e.kind === "txn") {
            const producer = `p${e.producer}`;
            const number = t.openOf(producer)?.number ?? nextNumber.get(producer) ?? 1;
            value(t.admitTransactional(producer, 0, number, leo));
            for (let i = 0; i < e.count; i++) entries.push({ offset: leo + i, producer, number });
          } else if (e.kind === "plain") {
            const producer = `p${e.producer}`;
            if (!t.admitPlain(producer).ok) {
              expect(t.openOf(producer)).not.toBeNull();
              continue;
            }
            for (let i = 0; i < e.count; i++)
              entries.push({ offset: leo + i, producer: null, plainProducer: producer });
          } else if (e.kind === "marker") {
            const producer = `p${e.producer}`;
            const open = t.openOf(producer);
            const number = open?.number ?? (nextNumber.get(producer) ?? 1) - 1;
            const r = value(t.applyMarker(producer, { epoch: 0, commit: e.commit, number }, leo));
            expect(r.marker === null).toBe(open === null);
            if (r.marker === null) continue;
            nextNumber.set(producer, number + 1);
            for (const x of entries)
              if (x.producer === producer && !decided.has(x.offset)) decided.set(x.offset, e.commit);
            entries.push({ offset: leo, producer: null, marker: r.marker });
          } else if (e.kind === "hw") {
            hw = Math.max(hw, Math.floor(hw + (leo - hw) * e.fraction));
          } else {
            // A follower truncating to where its new leader's log diverges (never below the high watermark).
            const at = Math.floor(hw + (leo - hw) * e.fraction);
            const removed = entries.filter((x) => x.offset >= at && x.marker).map((x) => x.marker!);
            t.truncate(at, removed);
            entries = entries.slice(0, at);
            for (const offset of [...decided.keys()]) {
              // A decision whose marker was truncated is undone.
              const marker = removed.find(
                (m) =>
                  offset >= m.firstOffset && offset < m.offset && entries[offset]?.producer === m.producerId,
              );
              if (offset >= at || marker) decided.delete(offset);
            }
            const rebuilt = replay(entries);
            expect(t.openTransactions()).toEqual(rebuilt.openTransactions());
            expect(t.abortedRanges()).toEqual(rebuilt.abortedRanges());
          }
          const lso = t.lastStableOffset(hw);
          expect(lso).toBeLessThanOrEqual(hw);
          if (e.kind !== "truncate") expect(lso).toBeGreaterThanOrEqual(lastLso);
          lastLso = lso;
          // read_committed: below the LSO, not a marker, plain or committed — and nothing of an open transaction below it.
          // Checked for a read from 0 and for one from the middle (the range lookup starts mid-index).
          const from = lso >> 1;
          const ranges = t.abortedOverlapping(0, lso);
          const later = t.abortedOverlapping(from, lso);
          for (const x of entries.slice(from, lso))
            expect(isAborted(later, x.producer, x.offset)).toBe(isAborted(ranges, x.producer, x.offset));
          for (const x of entries.slice(0, lso)) {
            if (x.marker) continue;
            const visible = !isAborted(ranges, x.producer, x.offset);
            if (x.producer === null) expect(visible).toBe(true);
            else {
              expect(decided.has(x.offset)).toBe(true);
              expect(visible).toBe(decided.get(x.offset));
            }
          }
        }
      }),
      { numRuns: 1_000 },
    );
  });
});
