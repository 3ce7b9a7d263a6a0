/**
 * Pure replication rules: high watermark, acknowledgement counting, leader-epoch
 * truncation (Kafka's KIP-101/279), retry back-off and clean leader election.
 * No I/O here; the partition objects call these with their in-memory state.
 */

/** A replica's acknowledged log end offset as the leader knows it, and whether it is in the ISR. */
export type ReplicaProgress = { logEndOffset: number; inSync: boolean };

/**
 * The highest offset stored by at least min.insync.replicas ISR members, the
 * leader included (issue 3's rule), or null while the ISR is smaller than that:
 * then nothing new becomes readable, whatever the acks level, until replicas
 * rejoin. With min.insync.replicas = 1 it is the leader's log end.
 */
export function highWatermarkFor(
  leaderLogEndOffset: number,
  followers: readonly ReplicaProgress[],
  minInsync: number,
): number | null {
  const ends = [leaderLogEndOffset];
  for (const f of followers) if (f.inSync) ends.push(Math.min(f.logEndOffset, leaderLogEndOffset));
  if (ends.length < minInsync) return null;
  ends.sort((a, b) => b - a);
  return ends[minInsync - 1]!;
}

/** ISR members (leader included) that hold every record below `offset`. */
export function copiesAtOrAbove(
  offset: number,
  leaderLogEndOffset: number,
  followers: readonly ReplicaProgress[],
): number {
  let copies = leaderLogEndOffset >= offset ? 1 : 0;
  for (const f of followers) if (f.inSync && f.logEndOffset >= offset) copies++;
  return copies;
}

/** One entry of a leader-epoch history: `epoch` wrote the records from `startOffset` on. */
export type EpochEntry = { epoch: number; startOffset: number };

/**
 * Where a follower's log stops agreeing with the new leader's (Kafka's
 * OffsetsForLeaderEpoch): for the follower's last epoch E, take the largest leader
 * epoch e ≤ E; the logs agree up to the end of e in both histories. The follower
 * truncates to the smaller of that and its own log end offset.
 */
export function divergenceOffset(
  followerEpochs: readonly EpochEntry[],
  followerLogEndOffset: number,
  leaderEpochs: readonly EpochEntry[],
  leaderLogEndOffset: number,
): number {
  const last = followerEpochs[followerEpochs.length - 1];
  if (last === undefined || followerLogEndOffset === 0) return 0;
  let index = -1;
  for (let i = 0; i < leaderEpochs.length; i++) if (leaderEpochs[i]!.epoch <= last.epoch) index = i;
  if (index < 0) return 0; // nothing the leader wrote is known to match
  const epoch = leaderEpochs[index]!.epoch;
  const leaderEnd = leaderEpochs[index + 1]?.startOffset ?? leaderLogEndOffset;
  const followerNext = followerEpochs.find((e) => e.epoch > epoch);
  const followerEnd = followerNext?.startOffset ?? followerLogEndOffset;
  return Math.min(leaderEnd, followerEnd, followerLogEndOffset);
}

/** The epoch history restricted to offsets below `logEndOffset` (what a log that long holds). */
export function epochsBelow(epochs: readonly EpochEntry[], logEndOffset: number): EpochEntry[] {
  return epochs.filter((e) => e.startOffset < logEndOffset);
}

/** Two epoch histories are the same (compared without serialising them: this runs on every replicate call). */
export function sameEpochs(a: readonly EpochEntry[], b: readonly EpochEntry[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++)
    if (a[i]!.epoch !== b[i]!.epoch || a[i]!.startOffset !== b[i]!.startOffset) return false;
  return true;
}

export const RETRY_BACKOFF_MS_MIN = 100;
export const RETRY_BACKOFF_MS_MAX = 10_000;
/** ±20% jitter so that many partitions retrying one replica do not move in lockstep. */
const JITTER = 0.2;

/** Exponential back-off with jitter, bounded by RETRY_BACKOFF_MS_MAX. `random` is in [0, 1). */
export function nextBackoffMs(previousMs: number, random: number): number {
  const base = Math.min(RETRY_BACKOFF_MS_MAX, previousMs <= 0 ? RETRY_BACKOFF_MS_MIN : previousMs * 2);
  return Math.round(base * (1 - JITTER + 2 * JITTER * random));
}

/** What an election candidate reports: its last written epoch and its log end offset. */
export type Candidate = { replica: number; lastEpoch: number; logEndOffset: number };

/**
 * How many of the old leader's in-sync followers must answer an election before one
 * may be chosen. An acknowledged record is on min.insync.replicas ISR members, the old
 * leader among them, so on at least `minInsync - 1` followers: hearing from all but
 * `minInsync - 2` of them guarantees one answering follower holds it (and the most
 * up-to-date answer then holds every such record). Electing from fewer answers could
 * pick a follower that lacks acknowledged records — the loss the chaos checker found.
 * With min.insync.replicas = 1 the leader alone may hold an acknowledged record, which
 * losing the leader loses anyway (the invariant covers fewer failures than
 * min.insync.replicas): one answer suffices, as before.
 */
export function electionQuorum(inSyncFollowers: number, minInsync: number): number {
  if (minInsync <= 1) return Math.min(1, inSyncFollowers);
  return Math.max(1, inSyncFollowers - minInsync + 2);
}

/**
 * Whether a follower may leave the ISR, given the followers that would remain: an
 * election picks from `electionQuorum` answers among them, so every record below
 * the high watermark must stay on enough of them that any such answer set holds it
 * — at least min(remaining, minInsync - 1) of them (none needed when no follower
 * remains: then no election can happen and the leader keeps everything).
 */
export function mayLeaveIsr(
  highWatermark: number,
  remaining: readonly ReplicaProgress[],
  minInsync: number,
): boolean {
  let inSync = 0;
  let holders = 0;
  for (const f of remaining) {
    if (!f.inSync) continue;
    inSync++;
    if (f.logEndOffset >= highWatermark) holders++;
  }
  return holders >= Math.min(inSync, minInsync - 1);
}

/**
 * Clean election: among the reachable ISR members, the one with the most
 * up-to-date log, compared by (last epoch, log end offset) as in Raft, so that it
 * holds every record a quorum acknowledged. Null when no ISR member answered.
 */
export function electLeader(candidates: readonly Candidate[], isr: readonly number[]): Candidate | null {
  let best: Candidate | null = null;
  for (const c of candidates) {
    if (!isr.includes(c.replica)) continue;
    if (
      best === null ||
      c.lastEpoch > best.lastEpoch ||
      (c.lastEpoch === best.lastEpoch && c.logEndOffset > best.logEndOffset)
    )
      best = c;
  }
  return best;
}
