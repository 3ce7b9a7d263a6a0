import { copiesAtOrAbove, highWatermarkFor, mayLeaveIsr, nextBackoffMs } from "./replication";

/**
 * A partition leader's bookkeeping of its followers (Kafka's remote replica
 * states; raft's Progress tracker): each follower's acknowledged log end offset,
 * its live pipeline, ISR membership, retry back-off, and from them the high
 * watermark. Pure and deterministic: the clock and the randomness are injected,
 * the log is seen through a narrow read-only view, and every I/O (sending,
 * telling the registry, persisting the ISR) is the caller's, which these
 * methods tell it to do.
 */

/**
 * Live batches in flight to one follower. Past it the follower is caught up from
 * its acknowledged offset in larger chunks instead: flow control for acks=0/1 load.
 */
export const REPLICA_IN_FLIGHT_MAX = 4;

/** What the bookkeeping reads of the leader's log and configs (raft's narrow Storage). */
export interface LeaderLog {
  readonly logEndOffset: number;
  readonly logStartOffset: number;
  /** Kept by the log (the caller stores what advanceHighWatermark answers). */
  readonly highWatermark: number;
  readonly minInsync: number;
  /** replica.lag.time.max.ms */
  readonly lagMaxMs: number;
}

export interface Clock {
  now(): number;
  /** In [0, 1): jitter of retry back-off. */
  random(): number;
}

/** The leader's view of one follower. */
export type FollowerProgress = {
  readonly replica: number;
  /** Acknowledged log end offset; -1 until the follower has answered once in this epoch. */
  logEndOffset: number;
  /** End of the last batch sent on the live path; the next batch goes only if it starts there (-1: broken). */
  sentOffset: number;
  /** In the ISR as the high watermark and acks=all count it: only once the registry has it (see join). */
  inSync: boolean;
  /** Caught up, and the registry is being told; not counted until it has recorded it. */
  joining: boolean;
  lastCaughtUpMs: number;
  backoffMs: number;
  retryAtMs: number;
  catchingUp: boolean;
  /** Live batches sent and not yet answered. */
  inFlight: number;
};

/** What the caller does with a just-appended batch for one follower. */
export type LiveDecision = "send" | "catchUp" | "skip";

/** What the alarm has to do for the followers, and when it must run again. */
export type FollowerWork = { left: FollowerProgress[]; catchUp: FollowerProgress[]; nextMs: number };

export class ReplicationState {
  readonly followers: FollowerProgress[];
  /**
   * The leader's log end when this term began. Records below it may have been
   * acknowledged in an earlier term, or before a restart, above a high watermark
   * that only a lagging checkpoint remembers; until the high watermark passes it,
   * the ISR may shrink only as if they were all acknowledged (see mayLeave).
   */
  private readonly termStartLogEnd: number;

  /**
   * `isr`: the replicas in sync as last recorded; `knownLogEndOffset`: what every
   * follower holds when the caller knows it (0 for a new topic), else -1.
   */
  constructor(
    private readonly log: LeaderLog,
    private readonly clock: Clock,
    options: {
      replica: number;
      replicationFactor: number;
      isr: readonly number[];
      knownLogEndOffset: number;
    },
  ) {
    this.followers = [];
    this.termStartLogEnd = log.logEndOffset;
    const now = clock.now();
    for (let replica = 0; replica < options.replicationFactor; replica++) {
      if (replica === options.replica) continue;
      this.followers.push({
        replica,
        logEndOffset: options.knownLogEndOffset,
        sentOffset: options.knownLogEndOffset,
        inSync: options.isr.includes(replica),
        joining: false,
        lastCaughtUpMs: now,
        backoffMs: 0,
        retryAtMs: 0,
        catchingUp: false,
        inFlight: 0,
      });
    }
  }

  /** The ISR as the high watermark counts it: the leader and its in-sync followers, sorted. */
  isr(leader: number): number[] {
    return [leader, ...this.followers.filter((f) => f.inSync).map((f) => f.replica)].sort((a, b) => a - b);
  }

  /** The ISR to tell the registry: the in-sync replicas and those joining (see join). */
  isrToRecord(leader: number): number[] {
    const joining = this.followers.filter((f) => f.joining).map((f) => f.replica);
    return [...new Set([...this.isr(leader), ...joining])].sort((a, b) => a - b);
  }

  /**
   * Applies the high watermark rule (core highWatermarkFor): the new high
   * watermark for the caller to store, or null when it does not move. It never
   * moves back, and never past what min.insync.replicas ISR members hold.
   */
  advanceHighWatermark(): number | null {
    if (this.unsettled()) return null;
    const progress = this.followers.map((f) => ({
      logEndOffset: Math.max(0, f.logEndOffset),
      inSync: f.inSync,
    }));
    const hw = highWatermarkFor(this.log.logEndOffset, progress, this.log.minInsync);
    return hw === null || hw <= this.log.highWatermark ? null : hw;
  }

  /** ISR members, the leader included, holding every record below `offset` (acks=all). */
  copiesAt(offset: number): number {
    // Unsettled, only the leader's own copy counts (acks=all waits, as the high watermark does).
    if (this.unsettled()) return this.log.logEndOffset >= offset ? 1 : 0;
    return copiesAtOrAbove(offset, this.log.logEndOffset, this.followers);
  }

  /**
   * Whether an in-sync follower has not answered in this term yet. Until it does, its
   * log may end with records of a term it led and lost, of a later epoch than records
   * this leader holds from before; an election prefers the later epoch, so counting
   * copies of those older records now could commit what the next leader drops (Raft's
   * "figure 8"; found by the random histories of test/unit/replication-state.test.ts).
   * A follower truncates to agree with the leader before its first answer of a term,
   * so once each in-sync follower has answered (or left the ISR, after
   * replica.lag.time.max.ms) copies are counted again — Kafka's rule too: its high
   * watermark waits for every ISR member. Only where the guarantee covers losing the
   * leader (min.insync.replicas ≥ 2).
   */
  private unsettled(): boolean {
    if (this.log.minInsync < 2) return false;
    for (const f of this.followers) if (f.inSync && f.logEndOffset < 0) return true;
    return false;
  }

  // ---- the live path ----

  /** A batch [baseOffset, end) was appended: send it to `f`, catch `f` up instead, or leave it. */
  onAppend(f: FollowerProgress, baseOffset: number, end: number): LiveDecision {
    if (!f.inSync || f.catchingUp) return "skip";
    if (f.sentOffset !== baseOffset || f.inFlight >= REPLICA_IN_FLIGHT_MAX) {
      // A broken pipeline (a gap, an unknown log) or too much in flight: catch up from its end.
      f.sentOffset = -1;
      return f.inFlight === 0 ? "catchUp" : "skip";
    }
    f.sentOffset = end;
    f.inFlight++;
    return "send";
  }

  /**
   * `f` answered a live batch ending at `sentEnd`, sent at `sentAtMs`, holding
   * `logEndOffset`. Tells whether to start a catch-up and whether `f` may rejoin.
   */
  onLiveAck(
    f: FollowerProgress,
    logEndOffset: number,
    sentEnd: number,
    sentAtMs: number,
  ): { catchUp: boolean; rejoin: boolean } {
    f.inFlight--;
    f.logEndOffset = Math.max(f.logEndOffset, logEndOffset);
    f.backoffMs = 0;
    if (logEndOffset >= sentEnd) f.lastCaughtUpMs = Math.max(f.lastCaughtUpMs, sentAtMs);
    else f.sentOffset = -1; // it did not take the batch (a gap)
    return {
      // The pipeline broke and the last live batch has answered: catch up from what it has.
      catchUp: f.sentOffset === -1 && f.inFlight === 0 && !f.catchingUp,
      rejoin: !f.inSync && f.logEndOffset >= this.log.logEndOffset,
    };
  }

  /** A live batch to `f` failed (the call threw or was refused). */
  onLiveFailure(f: FollowerProgress): void {
    f.inFlight--;
  }

  // ---- catch-up ----

  /** Where the next catch-up call to `f` starts: its end, never below logStartOffset (what retention deleted is not sent). */
  catchUpFrom(f: FollowerProgress): number {
    return f.logEndOffset < 0 ? this.log.logEndOffset : Math.max(f.logEndOffset, this.log.logStartOffset);
  }

  /**
   * `f` answered a catch-up call with its log end (authoritative: it may have
   * truncated). True when it holds the whole log: then the live path resumes.
   */
  onCatchUpAck(f: FollowerProgress, logEndOffset: number): boolean {
    f.logEndOffset = logEndOffset;
    f.backoffMs = 0;
    f.retryAtMs = 0;
    if (logEndOffset < this.log.logEndOffset) return false;
    f.sentOffset = this.log.logEndOffset;
    f.lastCaughtUpMs = this.clock.now();
    return true;
  }

  // ---- failures and the ISR ----

  /**
   * A call to `f` failed: the pipeline breaks and the retry backs off. `f` leaves
   * the ISR now when mayLeave allows it; when it does not, `recheckMs` says when
   * to ask again. `retryAtMs`: when to try `f` again.
   */
  onFailure(f: FollowerProgress): { leave: boolean; recheckMs: number | null; retryAtMs: number } {
    f.sentOffset = -1;
    const now = this.clock.now();
    let leave = false;
    let recheckMs: number | null = null;
    if (f.inSync) {
      leave = this.mayLeave(f);
      if (leave) this.leave(f);
      else recheckMs = now + this.log.lagMaxMs;
    }
    if (f.retryAtMs <= now) {
      f.backoffMs = nextBackoffMs(f.backoffMs, this.clock.random());
      f.retryAtMs = now + f.backoffMs;
    }
    return { leave, recheckMs, retryAtMs: f.retryAtMs };
  }

  /**
   * Whether `f` may leave the ISR now (core mayLeaveIsr): not while the records
   * below the high watermark — or below the term's starting log end, until the high
   * watermark passes it — would be on too few of the remaining followers for an
   * election to be sure to find them.
   */
  mayLeave(f: FollowerProgress): boolean {
    const others = this.followers.filter((o) => o !== f);
    const acknowledged = Math.max(this.log.highWatermark, this.termStartLogEnd);
    return mayLeaveIsr(acknowledged, others, this.log.minInsync);
  }

  /** `f` leaves the ISR (the caller persists the ISR and tells the registry). */
  leave(f: FollowerProgress): void {
    f.inSync = false;
  }

  /** A caught-up follower starts joining: true when the caller should tell the registry now. */
  beginJoin(f: FollowerProgress): boolean {
    if (f.joining || f.inSync) return false;
    f.joining = true;
    return true;
  }

  /** The registry recorded `f` rejoining: from now on it counts as in sync. */
  joined(f: FollowerProgress): void {
    f.joining = false;
    f.inSync = true;
  }

  /** The join was not recorded (the registry failed, or this term ended): `f` may try again later. */
  joinFailed(f: FollowerProgress): void {
    f.joining = false;
  }

  // ---- the alarm ----

  /**
   * What the alarm does now: in-sync followers lagging longer than
   * replica.lag.time.max.ms leave the ISR (when they may: one after another, each
   * decision counting the ones before), followers out of the ISR or of unknown log
   * are caught up once their back-off is over; and when to look again (Infinity:
   * nothing pending). The caller persists the ISR when `left` is not empty.
   */
  due(): FollowerWork {
    const now = this.clock.now();
    const lagMaxMs = this.log.lagMaxMs;
    const end = this.log.logEndOffset;
    const work: FollowerWork = { left: [], catchUp: [], nextMs: Number.POSITIVE_INFINITY };
    for (const f of this.followers) {
      if (f.inSync && f.logEndOffset < end && now - f.lastCaughtUpMs > lagMaxMs) {
        if (this.mayLeave(f)) {
          this.leave(f);
          work.left.push(f);
        } else work.nextMs = Math.min(work.nextMs, now + lagMaxMs); // ask again later
      }
      if (f.catchingUp) continue;
      if (!f.inSync || f.logEndOffset < 0) {
        if (f.retryAtMs <= now) work.catchUp.push(f);
        else work.nextMs = Math.min(work.nextMs, f.retryAtMs);
      } else if (f.logEndOffset < end) work.nextMs = Math.min(work.nextMs, f.lastCaughtUpMs + lagMaxMs + 1);
    }
    return work;
  }

  /** After the alarm's work: the earliest retry of a follower out of the ISR (Infinity: none). */
  nextRetryMs(): number {
    let next = Number.POSITIVE_INFINITY;
    const soonest = this.clock.now() + 1;
    for (const f of this.followers)
      if (!f.inSync && !f.catchingUp) next = Math.min(next, Math.max(f.retryAtMs, soonest));
    return next;
  }
}
