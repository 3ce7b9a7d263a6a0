import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  copiesAtOrAbove,
  divergenceOffset,
  electionQuorum,
  electLeader,
  epochsBelow,
  highWatermarkFor,
  mayLeaveIsr,
  nextBackoffMs,
  RETRY_BACKOFF_MS_MAX,
  RETRY_BACKOFF_MS_MIN,
} from "../../core/replication";
import { testSeed } from "../seed";

const inSync = (logEndOffset: number) => ({ logEndOffset, inSync: true });
const outOfSync = (logEndOffset: number) => ({ logEndOffset, inSync: false });

describe("highWatermarkFor", () => {
  it("is the offset held by min.insync.replicas ISR members, the leader included", () => {
    expect(highWatermarkFor(100, [inSync(80), inSync(60)], 2)).toBe(80);
    expect(highWatermarkFor(100, [inSync(80), inSync(60)], 3)).toBe(60);
    expect(highWatermarkFor(100, [inSync(80), inSync(60)], 1)).toBe(100);
  });

  it("ignores replicas outside the ISR", () => {
    expect(highWatermarkFor(100, [outOfSync(99), inSync(10)], 2)).toBe(10);
  });

  it("does not move while the ISR is smaller than min.insync.replicas", () => {
    expect(highWatermarkFor(100, [outOfSync(50), outOfSync(50)], 2)).toBeNull();
    expect(highWatermarkFor(100, [inSync(70), outOfSync(90)], 3)).toBeNull();
    expect(highWatermarkFor(100, [], 1)).toBe(100);
  });

  it("never counts a follower beyond the leader's log end", () => {
    expect(highWatermarkFor(10, [inSync(50), inSync(50)], 2)).toBe(10);
  });

  it("is never above the leader's log end nor below the smallest ISR member (random histories)", () => {
    for (let i = 0; i < 1000; i++) {
      const leader = Math.floor(Math.random() * 1000);
      const followers = Array.from({ length: Math.floor(Math.random() * 5) }, () => ({
        logEndOffset: Math.floor(Math.random() * 1000),
        inSync: Math.random() < 0.7,
      }));
      const minInsync = 1 + Math.floor(Math.random() * 5);
      const hw = highWatermarkFor(leader, followers, minInsync);
      const isrEnds = [
        leader,
        ...followers.filter((f) => f.inSync).map((f) => Math.min(f.logEndOffset, leader)),
      ];
      if (isrEnds.length < minInsync) {
        expect(hw).toBeNull();
        continue;
      }
      expect(hw).not.toBeNull();
      expect(hw!).toBeLessThanOrEqual(leader);
      expect(hw!).toBeGreaterThanOrEqual(Math.min(...isrEnds));
      // At least min.insync.replicas ISR members hold everything below it, and no higher offset has as many.
      expect(isrEnds.filter((e) => e >= hw!).length).toBeGreaterThanOrEqual(minInsync);
      expect(isrEnds.filter((e) => e >= hw! + 1).length).toBeLessThan(minInsync);
    }
  });
});

describe("copiesAtOrAbove", () => {
  it("counts ISR members holding every record below an offset", () => {
    expect(copiesAtOrAbove(50, 60, [inSync(50), inSync(49), outOfSync(70)])).toBe(2);
    expect(copiesAtOrAbove(61, 60, [inSync(70)])).toBe(1);
  });
});

describe("divergenceOffset (leader-epoch truncation)", () => {
  const e = (epoch: number, startOffset: number) => ({ epoch, startOffset });

  it("keeps a follower that is a prefix of the leader in the same epoch", () => {
    expect(divergenceOffset([e(0, 0), e(1, 50)], 70, [e(0, 0), e(1, 50)], 80)).toBe(70);
  });

  it("truncates records of an old epoch the new leader never had", () => {
    // The follower ran ahead in epoch 0 (records 50..59 were never replicated); the leader of epoch 1 started at 50.
    expect(divergenceOffset([e(0, 0)], 60, [e(0, 0), e(1, 50)], 55)).toBe(50);
  });

  it("truncates an epoch the leader never saw (KIP-279)", () => {
    // The follower briefly led epoch 1 from offset 90 and wrote 90..94; the leader went from epoch 0 to epoch 2 at 100.
    expect(divergenceOffset([e(0, 0), e(1, 90)], 95, [e(0, 0), e(2, 100)], 120)).toBe(90);
  });

  it("truncates everything when nothing is known to match, and nothing of an empty log", () => {
    expect(divergenceOffset([e(3, 0)], 10, [e(0, 0), e(5, 0)], 20)).toBe(0);
    expect(divergenceOffset([], 0, [e(0, 0)], 20)).toBe(0);
  });

  it("epochsBelow keeps only epochs that wrote records below a log end", () => {
    expect(epochsBelow([e(0, 0), e(1, 50), e(2, 50), e(3, 70)], 60)).toEqual([e(0, 0), e(1, 50), e(2, 50)]);
    expect(epochsBelow([e(0, 0)], 0)).toEqual([]);
  });
});

describe("nextBackoffMs", () => {
  it("doubles from the minimum up to the maximum, with ±20% jitter", () => {
    expect(nextBackoffMs(0, 0.5)).toBe(RETRY_BACKOFF_MS_MIN);
    expect(nextBackoffMs(100, 0.5)).toBe(200);
    expect(nextBackoffMs(RETRY_BACKOFF_MS_MAX, 0.5)).toBe(RETRY_BACKOFF_MS_MAX);
    expect(nextBackoffMs(100, 0)).toBe(160);
    expect(nextBackoffMs(100, 0.999)).toBeLessThanOrEqual(240);
    let backoff = 0;
    for (let i = 0; i < 50; i++) backoff = nextBackoffMs(backoff, Math.random());
    expect(backoff).toBeLessThanOrEqual(RETRY_BACKOFF_MS_MAX * 1.2);
  });
});

describe("electLeader (clean election)", () => {
  it("picks the ISR member with the newest epoch, then the longest log", () => {
    const candidates = [
      { replica: 1, lastEpoch: 0, logEndOffset: 90 },
      { replica: 2, lastEpoch: 1, logEndOffset: 80 },
      { replica: 3, lastEpoch: 1, logEndOffset: 85 },
    ];
    expect(electLeader(candidates, [1, 2, 3])?.replica).toBe(3);
    expect(electLeader(candidates, [1, 2])?.replica).toBe(2);
  });

  it("never elects outside the ISR (no unclean election)", () => {
    expect(electLeader([{ replica: 4, lastEpoch: 9, logEndOffset: 999 }], [1, 2])).toBeNull();
    expect(electLeader([], [1, 2])).toBeNull();
  });
});

const SEED = testSeed("replication unit tests");

describe("electionQuorum: enough followers answer that one holds every acknowledged record", () => {
  it("needs every follower but min.insync.replicas - 2; one when min.insync.replicas is 1", () => {
    expect(electionQuorum(2, 2)).toBe(2); // RF 3, min.insync 2: both followers
    expect(electionQuorum(2, 3)).toBe(1); // RF 3, min.insync 3: every follower has it
    expect(electionQuorum(4, 3)).toBe(3);
    expect(electionQuorum(2, 1)).toBe(1);
    expect(electionQuorum(0, 1)).toBe(0);
  });

  it("any answering set of that size meets every set of followers an acknowledgement counted (random ISRs)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((followers) =>
          fc.record({
            followers: fc.constant(followers),
            minInsync: fc.integer({ min: 2, max: followers + 1 }),
            acked: fc.shuffledSubarray(
              Array.from({ length: followers }, (_, i) => i),
              { minLength: 0 },
            ),
            answered: fc.shuffledSubarray(Array.from({ length: followers }, (_, i) => i)),
          }),
        ),
        ({ followers, minInsync, acked, answered }) => {
          // An acknowledgement counted the leader and minInsync - 1 followers.
          fc.pre(acked.length >= minInsync - 1);
          fc.pre(answered.length >= electionQuorum(followers, minInsync));
          expect(answered.some((r) => acked.includes(r))).toBe(true);
        },
      ),
      { seed: SEED },
    );
  });
});

describe("mayLeaveIsr: the ISR never shrinks below what an election needs to find every record under the HW", () => {
  const f = (logEndOffset: number, inSync = true) => ({ logEndOffset, inSync });
  it("keeps a holder when the only other follower lags; lets a follower go when the rest hold everything", () => {
    expect(mayLeaveIsr(10, [f(4)], 2)).toBe(false); // the other follower lacks 4..9
    expect(mayLeaveIsr(10, [f(10)], 2)).toBe(true);
    expect(mayLeaveIsr(10, [], 2)).toBe(true); // no follower left: no election can happen
    expect(mayLeaveIsr(10, [f(4, false)], 2)).toBe(true); // out of the ISR: not electable
    expect(mayLeaveIsr(10, [f(4)], 1)).toBe(true); // min.insync 1 promises no copy beyond the leader
    expect(mayLeaveIsr(10, [f(10), f(4), f(3)], 3)).toBe(false); // 1 holder, 2 needed
    expect(mayLeaveIsr(10, [f(10), f(12), f(3)], 3)).toBe(true);
  });

  it("after any sequence of allowed removals, every election quorum of the ISR holds the records below the HW", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 5 }).chain((rf) =>
          fc.record({
            minInsync: fc.integer({ min: 2, max: rf }),
            // Each follower's log end offset against a high watermark of 10.
            ends: fc.array(fc.integer({ min: 0, max: 12 }), { minLength: rf - 1, maxLength: rf - 1 }),
            removals: fc.array(fc.integer({ min: 0, max: rf - 2 }), { maxLength: 8 }),
          }),
        ),
        ({ minInsync, ends, removals }) => {
          // The HW is 10: at least minInsync copies (the leader among them) hold 0..9.
          fc.pre(1 + ends.filter((e) => e >= 10).length >= minInsync);
          const followers = ends.map((e) => f(e));
          for (const r of removals) {
            const others = followers.filter((_, i) => i !== r);
            if (followers[r]!.inSync && mayLeaveIsr(10, others, minInsync)) followers[r]!.inSync = false;
          }
          const isr = followers.filter((x) => x.inSync);
          const needed = electionQuorum(isr.length, minInsync);
          const lacking = isr.filter((x) => x.logEndOffset < 10).length;
          // Any `needed` answers include a holder, unless no election is possible at all.
          if (isr.length > 0) expect(lacking).toBeLessThan(needed);
        },
      ),
      { seed: SEED },
    );
  });
});
