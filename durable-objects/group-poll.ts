import { fail, ok, type Result } from "../core/errors";
import type { FetchPosition } from "../core/fetch-position";
import { type GroupMembership, type Member, memberError } from "../core/group-membership";
import { parsePartitionKey, partitionKey, type TopicPartition } from "../core/partition-key";
import type { FetchedRecords } from "./contract";
import type { Env } from "./env";
import type { GroupLag } from "./group-lag";
import type { CommittedOffset, GroupStore } from "./group-store";
import { callPartitionLeader, LEADER_CALL_SLACK_MS } from "./leader-call";
import type { TopicCache } from "./topic-cache";

/**
 * A group member's polls: each owned partition fetched at the member's position
 * (its own, else the committed offset, else its autoOffsetReset), the budget
 * spread over the partitions, the positions advanced and checkpointed. One poll
 * of a member at a time, so a position is never fetched twice.
 */

export type PollOptions = { maxRecords: number; maxBytes: number; waitMs: number };
export type PolledRecords = { generation: number; records: string; count: number };

/** How often owned partitions' positions are written to storage (coalesced, off the poll path). */
const POSITION_CHECKPOINT_MS = 100;

type Fetched = { tp: TopicPartition; share: number; fetched: FetchedRecords };
type Share = { tp: TopicPartition; share: number };

/**
 * Splits `maxRecords` over partitions: equal shares, the remainder to the first
 * ones (the caller rotates the order every poll, so no partition starves). The
 * shares add up to exactly `maxRecords`; a partition whose share is 0 waits its turn.
 */
function shares(tps: readonly TopicPartition[], maxRecords: number): Share[] {
  const each = Math.floor(maxRecords / tps.length);
  const extra = maxRecords % tps.length;
  return tps.map((tp, i) => ({ tp, share: each + (i < extra ? 1 : 0) })).filter((s) => s.share > 0);
}

export class GroupPoll {
  /** Each owned partition's next offset to fetch (a cache of progress; commits are the truth). */
  private positions = new Map<string, number>();
  private readonly dirty = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Long polls parked until a partition has records; a rebalance ends them. */
  private readonly rebalanceWaiters = new Set<() => void>();
  /** Per member: polls so far (which partition goes first) and the chain its polls run in. */
  private readonly turns = new Map<string, { polls: number; chain: Promise<unknown> }>();

  constructor(
    private readonly env: Env,
    private readonly topics: TopicCache,
    private readonly store: GroupStore,
    private readonly lag: GroupLag,
    private readonly group: () => {
      name: string | null;
      membership: GroupMembership;
      offsets: ReadonlyMap<string, CommittedOffset>;
      /** A transaction may still move the partition's committed offset (GroupTransactions.isHeld). */
      held: (key: string) => boolean;
    },
  ) {}

  load(positions: readonly (TopicPartition & { position: number })[]): void {
    this.positions = new Map(positions.map((p) => [partitionKey(p.topic, p.partition), p.position]));
    this.dirty.clear();
    this.turns.clear();
  }

  /** A partition changed owner or was reset: its position goes (the next owner starts from the commit). */
  drop(key: string): void {
    if (!this.positions.delete(key)) return;
    this.dirty.delete(key);
    const { topic, partition } = parsePartitionKey(key);
    this.store.deletePosition(topic, partition);
  }

  /** A deleted topic's positions go (the store forgets its rows). */
  forgetTopic(isOfTopic: (key: string) => boolean): void {
    for (const key of [...this.positions.keys()]) if (isOfTopic(key)) this.positions.delete(key);
  }

  /** A rebalance ended the generation: parked polls answer now. */
  wakeAll(): void {
    for (const wake of [...this.rebalanceWaiters]) wake();
  }

  /** Runs a member's poll after its previous one. */
  poll(m: Member, options: PollOptions): Promise<Result<PolledRecords>> {
    let turn = this.turns.get(m.memberId);
    if (turn === undefined) {
      turn = { polls: 0, chain: Promise.resolve() };
      this.turns.set(m.memberId, turn);
    }
    const run = turn.chain.then(() => this.pollOnce(m, options));
    turn.chain = run.catch(() => undefined);
    return run;
  }

  /** A member left: its poll turn goes. */
  forgetMember(memberId: string): void {
    this.turns.delete(memberId);
  }

  private async pollOnce(m: Member, options: PollOptions): Promise<Result<PolledRecords>> {
    const { membership } = this.group();
    if (!membership.members.has(m.memberId)) return memberError("UNKNOWN_MEMBER_ID", m.memberId);
    const owned = membership.assignmentsOf(m.memberId);
    // The answer names one generation, and every record in it was owned in that generation:
    // fetches that finish after a rebalance are dropped (their positions do not move), so the
    // new owner fetches them (found by the chaos checker: one partition, two owners, one generation).
    const generation = membership.generation;
    const texts: string[] = [];
    let total = 0;
    const apply = (results: Fetched[]) => {
      if (membership.generation !== generation) return;
      for (const { tp, fetched } of results) {
        this.lag.set(tp.topic, tp.partition, fetched);
        // A rebalance while fetching may have moved the partition: then its records are the new owner's.
        if (membership.ownerOf(tp.topic, tp.partition) !== m.memberId) continue;
        const key = partitionKey(tp.topic, tp.partition);
        this.positions.set(key, fetched.nextOffset);
        this.dirty.add(key);
        if (fetched.count > 0) texts.push(fetched.records);
        total += fetched.count;
      }
    };
    if (owned.length > 0) {
      const turn = this.turns.get(m.memberId)!;
      const start = turn.polls++ % owned.length;
      const rotated = [...owned.slice(start), ...owned.slice(0, start)];
      const bytesShare = Math.max(1, Math.ceil(options.maxBytes / owned.length));
      const first = await this.fetchFrom(m, shares(rotated, options.maxRecords), bytesShare, 0);
      apply(first);
      if (total === 0 && options.waitMs > 0) {
        apply(await this.fetchFrom(m, shares(rotated, options.maxRecords), bytesShare, options.waitMs));
      } else if (total < options.maxRecords) {
        // Budget left: give it to the partitions that filled their share and have more.
        const full = first.filter(
          (r) => r.fetched.count === r.share && r.fetched.nextOffset < r.fetched.highWatermark,
        );
        if (full.length > 0)
          apply(
            await this.fetchFrom(
              m,
              shares(
                full.map((r) => r.tp),
                options.maxRecords - total,
              ),
              bytesShare,
              0,
            ),
          );
      }
    }
    this.scheduleCheckpoint();
    return ok({ generation, records: texts.join(","), count: total });
  }

  /**
   * Positions are a cache of progress (committed offsets are the durable truth):
   * they are written at most every POSITION_CHECKPOINT_MS, off the poll path, so a
   * crash can re-deliver at most that much — at-least-once, never a gap.
   */
  private scheduleCheckpoint(): void {
    if (this.timer !== null || this.dirty.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      for (const key of this.dirty) {
        const position = this.positions.get(key);
        const { topic, partition } = parsePartitionKey(key);
        if (position !== undefined) this.store.savePosition(topic, partition, position);
      }
      this.dirty.clear();
    }, POSITION_CHECKPOINT_MS);
  }

  /**
   * Where the owner fetches next: its position, but never behind the committed offset —
   * a checkpoint older than the last commit (positions are written every
   * POSITION_CHECKPOINT_MS, commits at once) would re-deliver committed records after a
   * restart, and the commits that follow would move the committed offset back.
   */
  private positionOf(key: string): number | undefined {
    const position = this.positions.get(key);
    const committed = this.group().offsets.get(key)?.offset;
    if (position === undefined || committed === undefined) return position ?? committed;
    return Math.max(position, committed);
  }

  private async fetchFrom(m: Member, parts: Share[], maxBytes: number, waitMs: number): Promise<Fetched[]> {
    const fetches = parts.map(({ tp, share }) => this.fetchPartition(m, tp, share, maxBytes, waitMs));
    if (waitMs === 0) return (await Promise.all(fetches)).filter((r): r is Fetched => r !== null);
    // Long-poll: the first partition with records answers (with whatever else has arrived by then).
    return new Promise((resolve) => {
      const arrived: Fetched[] = [];
      let pending = fetches.length;
      let settled = false;
      const finish = () => {
        if (settled) return;
        settled = true;
        this.rebalanceWaiters.delete(finish);
        resolve([...arrived]);
      };
      this.rebalanceWaiters.add(finish);
      for (const fetch of fetches)
        fetch.then((r) => {
          if (!settled && r) arrived.push(r);
          if (r && r.fetched.count > 0) finish();
          if (--pending === 0) finish();
        });
    });
  }

  private async fetchPartition(
    m: Member,
    tp: TopicPartition,
    maxRecords: number,
    maxBytes: number,
    waitMs: number,
  ): Promise<Fetched | null> {
    const key = partitionKey(tp.topic, tp.partition);
    // Started from the committed offset, which a pending transaction may still move: not yet.
    if (!this.positions.has(key) && this.group().held(key)) return null;
    const position = this.positionOf(key);
    const fetch = (from: FetchPosition, wait: number) =>
      callPartitionLeader(
        this.env,
        this.topics,
        tp,
        wait + LEADER_CALL_SLACK_MS,
        (leader, leaderEpoch, topic) =>
          leader.fetchForConsumer({
            topicId: topic.topicId,
            leaderEpoch,
            position: from,
            maxRecords,
            maxBytes,
            waitMs: wait,
            isolation: m.isolation,
          }),
      );
    let result: Result<FetchedRecords>;
    try {
      result = await fetch(
        position === undefined ? { kind: m.autoOffsetReset } : { kind: "offset", offset: position },
        waitMs,
      );
      // A committed offset or position outside the log (retention, a re-created topic) resets per the member's policy.
      if (!result.ok && result.error.code === "OFFSET_OUT_OF_RANGE")
        result = await fetch({ kind: m.autoOffsetReset }, 0);
    } catch (error) {
      // The registry did not answer the topic lookup (it throws rather than answers): this
      // partition has nothing this time. A rejection must not reach fetchFrom, whose long-poll
      // counts settled fetches: one that never settles would hold the poll forever.
      result = fail("LEADER_NOT_AVAILABLE", String(error));
    }
    if (!result.ok) {
      // A topic deleted meanwhile is not worth a warning: the next rebalance drops its partitions.
      if (result.error.code !== "UNKNOWN_TOPIC_OR_PARTITION")
        console.warn(
          `group ${this.group().name}: fetch of ${tp.topic}/${tp.partition} failed: ${result.error.code}`,
        );
      return null;
    }
    return { tp, share: maxRecords, fetched: result.value };
  }
}
