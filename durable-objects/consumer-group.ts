import { DurableObject } from "cloudflare:workers";
import { allows, type Rights } from "../core/acl";
import { type AssignorName, assign } from "../core/assignors";
import { mapConcurrent } from "../core/concurrency";
import { EdgelogError, type ErrorInfo, fail, ok, type Result } from "../core/errors";
import type { FetchPosition } from "../core/fetch-position";
import {
  FAN_OUT_CONCURRENCY_MAX,
  GROUP_MEMBERS_MAX,
  LAG_HISTORY_MAX,
  LAG_SAMPLE_INTERVAL_MS,
} from "../core/limits";
import {
  compareTopicPartitions,
  isKeyOfTopic,
  parsePartitionKey,
  partitionKey,
  type TopicPartition,
} from "../core/partition-key";
import type { CommitRequest, JoinRequest, ResetRequest } from "../schemas/groups";
import { AlarmScheduler } from "./alarm-scheduler";
import type { FetchedRecords, LogOffsets, TopicMetadata } from "./contract";
import type { Env } from "./env";
import { type CommittedOffset, GroupStore, type StoredMember } from "./group-store";
import { callLeader, callPartitionLeader, LEADER_CALL_SLACK_MS } from "./leader-call";
import { topicRegistry, wsSession } from "./stubs";
import { TopicCache } from "./topic-cache";

/**
 * One consumer group (Kafka's group coordinator, with server-side assignment as in
 * KIP-848): members and their sessions, the generation and its assignment,
 * committed offsets, each owned partition's position, and lag sampled by alarm.
 * Every membership change is a rebalance: the generation moves on and the
 * assignment is computed at once; a commit must name the current generation and
 * partitions the member owns in it, so a committed offset only moves by its owner.
 */

export type GroupState = "Empty" | "PreparingRebalance" | "Stable" | "Dead";
export type MemberAssignment = { memberId: string; generation: number; assignments: TopicPartition[] };
export type HeartbeatInfo = { generation: number; assignments: TopicPartition[]; rebalancing: boolean };
export type PollOptions = { maxRecords: number; maxBytes: number; waitMs: number };
export type OffsetInfo = TopicPartition & { committedOffset: number; highWatermark: number; lag: number };
export type PolledRecords = { generation: number; records: string; count: number };
export type GroupSummary = { group: string; state: GroupState; generation: number; members: number };

type Member = StoredMember & {
  lastSeenMs: number;
  /** The last generation this member was told about (by join, heartbeat or poll). */
  seenGeneration: number;
  polls: number;
  /** Polls of one member run one after another, so a position is never read twice. */
  pollChain: Promise<unknown>;
};
/** A partition's offsets as last asked of its leader, and when. */
type Mark = LogOffsets & { atMs: number };
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

function memberError(code: "UNKNOWN_MEMBER_ID" | "FENCED_INSTANCE_ID", memberId: string) {
  return code === "UNKNOWN_MEMBER_ID"
    ? fail(
        code,
        `member '${memberId}' is not in the group (never joined, left, or its session expired); join again`,
      )
    : fail(code, `member '${memberId}' was replaced by a newer member with the same instanceId`);
}

export class ConsumerGroup extends DurableObject<Env> {
  private readonly store: GroupStore;
  private readonly topics = new TopicCache();
  private name: string | null = null;
  private generation = 0;
  private assignor: AssignorName | null = null;
  private members = new Map<string, Member>();
  private owners = new Map<string, string>();
  private offsets = new Map<string, CommittedOffset>();
  private positions = new Map<string, number>();
  private partitionCounts = new Map<string, number>();
  private marks = new Map<string, Mark>();
  private lagHistory = new Map<string, number[]>();
  private readonly rebalanceWaiters = new Set<() => void>();
  private readonly alarms: AlarmScheduler;
  private readonly dirtyPositions = new Set<string>();
  private positionTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new GroupStore(ctx.storage.sql);
    this.alarms = new AlarmScheduler(ctx.storage);
    ctx.blockConcurrencyWhile(async () => {
      try {
        this.load();
        if (this.members.size > 0) await this.alarms.schedule(Date.now() + LAG_SAMPLE_INTERVAL_MS);
      } catch (error) {
        console.error("ConsumerGroup failed to load", error);
      }
    });
  }

  private load(): void {
    const g = this.store.load();
    const now = Date.now();
    this.name = g.name;
    this.generation = g.generation;
    this.assignor = g.assignor;
    // Sessions restart with the object: a member gets a full session timeout from now.
    this.members = new Map(
      g.members.map((m) => [
        m.memberId,
        { ...m, lastSeenMs: now, seenGeneration: g.generation, polls: 0, pollChain: Promise.resolve() },
      ]),
    );
    this.owners = new Map(g.assignments.map((a) => [partitionKey(a.topic, a.partition), a.memberId]));
    this.offsets = new Map(g.offsets.map((o) => [partitionKey(o.topic, o.partition), o]));
    this.positions = new Map(g.positions.map((p) => [partitionKey(p.topic, p.partition), p.position]));
  }

  // ---- membership ----

  private state(): GroupState {
    if (this.members.size === 0) return "Empty";
    for (const m of this.members.values())
      if (m.seenGeneration < this.generation) return "PreparingRebalance";
    return "Stable";
  }

  private assignmentsOf(memberId: string): TopicPartition[] {
    const owned: TopicPartition[] = [];
    for (const [key, owner] of this.owners) {
      if (owner !== memberId) continue;
      owned.push(parsePartitionKey(key));
    }
    return owned.sort(compareTopicPartitions);
  }

  private member(memberId: string): { ok: true; value: Member } | { ok: false; error: ErrorInfo } {
    const m = this.members.get(memberId);
    if (m) {
      m.lastSeenMs = Date.now(); // any request of a member keeps it alive
      return ok(m);
    }
    return memberError(this.store.isFenced(memberId) ? "FENCED_INSTANCE_ID" : "UNKNOWN_MEMBER_ID", memberId);
  }

  private async topic(name: string): Promise<Result<TopicMetadata>> {
    try {
      return ok(await this.topics.get(this.env, name));
    } catch (error) {
      if (error instanceof EdgelogError) return { ok: false, error: error.info };
      throw error;
    }
  }

  /** Creates the group on first use: its name is kept and the registry lists it. */
  private async ensureGroup(group: string): Promise<Result<null>> {
    if (this.name !== null) return ok(null);
    const registered = await topicRegistry(this.env).registerGroup(group);
    if (!registered.ok) return registered;
    if (this.name === null) {
      this.name = group;
      this.store.saveMeta(group, this.generation, this.assignor);
    }
    return ok(null);
  }

  /** Joins a member (or re-joins a static one) and answers its assignment. */
  async join(
    group: string,
    request: JoinRequest,
    pushTo: string | null = null,
  ): Promise<Result<MemberAssignment>> {
    for (const name of request.topics) {
      const topic = await this.topic(name);
      if (!topic.ok) return topic;
      this.partitionCounts.set(name, topic.value.partitions);
    }
    const created = await this.ensureGroup(group);
    if (!created.ok) return created;
    // No await below: the membership change and its rebalance are one transaction.
    if (this.members.size > 0 && this.assignor !== null && this.assignor !== request.assignor)
      return fail(
        "INVALID_REQUEST",
        `group '${group}' uses the '${this.assignor}' assignor; join with it or leave it out`,
      );
    const previous =
      request.instanceId === null
        ? undefined
        : [...this.members.values()].find((m) => m.instanceId === request.instanceId);
    if (!previous && this.members.size >= GROUP_MEMBERS_MAX)
      return fail(
        "INVALID_REQUEST",
        `group '${group}' already has the maximum of ${GROUP_MEMBERS_MAX} members`,
      );
    const member: Member = {
      memberId: `${request.instanceId ?? "member"}-${crypto.randomUUID()}`,
      instanceId: request.instanceId,
      topics: request.topics,
      sessionTimeoutMs: request.sessionTimeoutMs,
      autoOffsetReset: request.autoOffsetReset,
      pushTo,
      lastSeenMs: Date.now(),
      seenGeneration: 0,
      polls: 0,
      pollChain: Promise.resolve(),
    };
    this.assignor = request.assignor;
    if (previous) {
      // Static membership: the old member id is fenced; the new one takes over its partitions.
      this.members.delete(previous.memberId);
      this.store.deleteMember(previous.memberId);
      this.store.fence(previous.memberId);
      this.members.set(member.memberId, member);
      this.store.saveMember(member);
      const sameSubscription =
        JSON.stringify([...previous.topics].sort()) === JSON.stringify([...request.topics].sort());
      if (sameSubscription) {
        for (const [key, owner] of this.owners)
          if (owner === previous.memberId) this.owners.set(key, member.memberId);
        this.store.replaceAssignments(this.ownedList());
        this.store.saveMeta(group, this.generation, this.assignor);
      } else this.rebalance();
    } else {
      this.members.set(member.memberId, member);
      this.store.saveMember(member);
      this.rebalance();
    }
    member.seenGeneration = this.generation;
    void this.alarms.schedule(Date.now() + Math.min(member.sessionTimeoutMs, LAG_SAMPLE_INTERVAL_MS));
    return ok({
      memberId: member.memberId,
      generation: this.generation,
      assignments: this.assignmentsOf(member.memberId),
    });
  }

  private ownedList() {
    return [...this.owners].map(([key, memberId]) => ({ ...parsePartitionKey(key), memberId }));
  }

  /**
   * A new generation: assigns every partition of the members' topics with the
   * group's assignor (sticky keeps owners where it can). A partition that changes
   * owner loses its position: the new owner starts from the committed offset.
   */
  private rebalance(): void {
    this.generation++;
    if (this.members.size === 0) this.assignor = null;
    const previous = new Map(this.owners);
    const result = assign(
      this.assignor ?? "range",
      [...this.members.values()],
      this.partitionCounts,
      previous,
    );
    this.owners = new Map();
    for (const [memberId, owned] of result)
      for (const tp of owned) this.owners.set(partitionKey(tp.topic, tp.partition), memberId);
    for (const key of [...this.positions.keys()]) {
      if (this.owners.get(key) === previous.get(key)) continue;
      const { topic, partition } = parsePartitionKey(key);
      this.positions.delete(key);
      this.dirtyPositions.delete(key);
      this.store.deletePosition(topic, partition);
    }
    this.store.replaceAssignments(this.ownedList());
    this.store.saveMeta(this.name!, this.generation, this.assignor);
    for (const wake of [...this.rebalanceWaiters]) wake();
    // WebSocket members are told at once (API.md: an `assigned` frame on every reassignment).
    for (const m of this.members.values())
      if (m.pushTo !== null)
        void wsSession(this.env, m.pushTo)
          .onAssignment(this.name!, m.memberId)
          .catch((error) => console.warn(`group ${this.name}: assignment push failed`, String(error)));
  }

  async heartbeat(memberId: string): Promise<Result<HeartbeatInfo>> {
    const m = this.member(memberId);
    if (!m.ok) return m;
    const rebalancing = m.value.seenGeneration < this.generation;
    m.value.seenGeneration = this.generation;
    return ok({ generation: this.generation, assignments: this.assignmentsOf(memberId), rebalancing });
  }

  async leave(memberId: string): Promise<Result<null>> {
    const m = this.member(memberId);
    if (!m.ok) return m;
    this.removeMembers([memberId]);
    return ok(null);
  }

  private removeMembers(memberIds: readonly string[]): void {
    for (const id of memberIds) {
      this.members.delete(id);
      this.store.deleteMember(id);
    }
    this.rebalance();
  }

  // ---- poll ----

  /**
   * Reads from each owned partition at the member's position (its own, else the
   * committed offset, else its autoOffsetReset), spreading maxRecords/maxBytes
   * over the partitions that have data, starting from a rotating one (no
   * starvation), and advances the positions. With waitMs, parks until a partition
   * has records, the time is up, or a rebalance changes the assignment.
   */
  async poll(memberId: string, options: PollOptions, rights: Rights = null): Promise<Result<string>> {
    const polled = await this.pollRecords(memberId, options, rights);
    if (!polled.ok) return polled;
    return ok(`{"generation":${polled.value.generation},"records":[${polled.value.records}]}`);
  }

  /** The same poll, answered as parts: the records as JSON objects joined by commas, and their count. */
  async pollRecords(
    memberId: string,
    options: PollOptions,
    rights: Rights = null,
  ): Promise<Result<PolledRecords>> {
    const m = this.member(memberId);
    if (!m.ok) return m;
    // API.md "Security": a member reads only topics its credential may read, checked on every poll.
    if (rights !== null)
      for (const topic of new Set(this.assignmentsOf(memberId).map((tp) => tp.topic)))
        if (!allows(rights, "topic", topic, "read"))
          return fail("TOPIC_AUTHORIZATION_FAILED", `not authorized to read topic '${topic}'`);
    m.value.seenGeneration = this.generation;
    const run = m.value.pollChain.then(() => this.pollOnce(m.value, options));
    m.value.pollChain = run.catch(() => undefined);
    return run;
  }

  private async pollOnce(m: Member, options: PollOptions): Promise<Result<PolledRecords>> {
    if (!this.members.has(m.memberId)) return memberError("UNKNOWN_MEMBER_ID", m.memberId);
    const owned = this.assignmentsOf(m.memberId);
    // The answer names one generation, and every record in it was owned in that generation:
    // reads that finish after a rebalance are dropped (their positions do not move), so the
    // new owner reads them (found by the chaos checker: one partition, two owners, one generation).
    const generation = this.generation;
    const texts: string[] = [];
    let total = 0;
    const apply = (results: Fetched[]) => {
      if (this.generation !== generation) return;
      for (const { tp, fetched } of results) {
        const key = partitionKey(tp.topic, tp.partition);
        this.marks.set(key, {
          highWatermark: fetched.highWatermark,
          logStartOffset: fetched.logStartOffset,
          atMs: Date.now(),
        });
        // A rebalance while reading may have moved the partition: then its records are the new owner's.
        if (this.owners.get(key) !== m.memberId) continue;
        this.positions.set(key, fetched.nextOffset);
        this.dirtyPositions.add(key);
        if (fetched.count > 0) texts.push(fetched.records);
        total += fetched.count;
      }
    };
    if (owned.length > 0) {
      const turn = m.polls++ % owned.length;
      const rotated = [...owned.slice(turn), ...owned.slice(0, turn)];
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
    this.schedulePositionCheckpoint();
    return ok({ generation, records: texts.join(","), count: total });
  }

  /**
   * Positions are a cache of progress (committed offsets are the durable truth):
   * they are written at most every POSITION_CHECKPOINT_MS, off the poll path, so a
   * crash can re-deliver at most that much — at-least-once, never a gap.
   */
  private schedulePositionCheckpoint(): void {
    if (this.positionTimer !== null || this.dirtyPositions.size === 0) return;
    this.positionTimer = setTimeout(() => {
      this.positionTimer = null;
      for (const key of this.dirtyPositions) {
        const position = this.positions.get(key);
        const { topic, partition } = parsePartitionKey(key);
        if (position !== undefined) this.store.savePosition(topic, partition, position);
      }
      this.dirtyPositions.clear();
    }, POSITION_CHECKPOINT_MS);
  }

  /**
   * Where the owner reads next: its position, but never behind the committed offset —
   * a checkpoint older than the last commit (positions are written every
   * POSITION_CHECKPOINT_MS, commits at once) would re-deliver committed records after a
   * restart, and the commits that follow would move the committed offset back.
   */
  private positionOf(key: string): number | undefined {
    const position = this.positions.get(key);
    const committed = this.offsets.get(key)?.offset;
    if (position === undefined || committed === undefined) return position ?? committed;
    return Math.max(position, committed);
  }

  private async fetchFrom(m: Member, parts: Share[], maxBytes: number, waitMs: number): Promise<Fetched[]> {
    const reads = parts.map(({ tp, share }) => this.fetchPartition(m, tp, share, maxBytes, waitMs));
    if (waitMs === 0) return (await Promise.all(reads)).filter((r): r is Fetched => r !== null);
    // Long-poll: the first partition with records answers (with whatever else has arrived by then).
    return new Promise((resolve) => {
      const arrived: Fetched[] = [];
      let pending = reads.length;
      let settled = false;
      const finish = () => {
        if (settled) return;
        settled = true;
        this.rebalanceWaiters.delete(finish);
        resolve([...arrived]);
      };
      this.rebalanceWaiters.add(finish);
      for (const read of reads)
        read.then((r) => {
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
    const position = this.positionOf(partitionKey(tp.topic, tp.partition));
    const read = (from: FetchPosition, wait: number) =>
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
          }),
      );
    let result = await read(
      position === undefined ? { kind: m.autoOffsetReset } : { kind: "offset", offset: position },
      waitMs,
    );
    // A committed offset or position outside the log (retention, a re-created topic) resets per the member's policy.
    if (!result.ok && result.error.code === "OFFSET_OUT_OF_RANGE")
      result = await read({ kind: m.autoOffsetReset }, 0);
    if (!result.ok) {
      // A topic deleted meanwhile is not worth a warning: the next rebalance drops its partitions.
      if (result.error.code !== "UNKNOWN_TOPIC_OR_PARTITION")
        console.warn(`group ${this.name}: read of ${tp.topic}/${tp.partition} failed: ${result.error.code}`);
      return null;
    }
    return { tp, share: maxRecords, fetched: result.value };
  }

  // ---- commits and offsets ----

  /**
   * Commits offsets (the next offset to read, Kafka's convention) for partitions
   * the member owns in the current generation; all or nothing. An offset above
   * the partition's high watermark is OFFSET_OUT_OF_RANGE.
   */
  async commit(
    request: CommitRequest,
  ): Promise<Result<{ offsets: (TopicPartition & { committedOffset: number })[] }>> {
    const check = (): Result<null> => {
      const m = this.member(request.memberId);
      if (!m.ok) return m;
      if (request.generation !== this.generation)
        return fail(
          "ILLEGAL_GENERATION",
          `generation ${request.generation} is stale; the group is at generation ${this.generation} (heartbeat to get the assignment)`,
        );
      for (const o of request.offsets)
        if (this.owners.get(partitionKey(o.topic, o.partition)) !== request.memberId)
          return fail(
            "PARTITION_NOT_ASSIGNED",
            `${o.topic}/${o.partition} is not assigned to member '${request.memberId}' in generation ${this.generation}`,
          );
      return ok(null);
    };
    const first = check();
    if (!first.ok) return first;
    const unknown = request.offsets.filter(
      (o) => !(o.offset <= (this.marks.get(partitionKey(o.topic, o.partition))?.highWatermark ?? -1)),
    );
    if (unknown.length > 0) {
      await this.refreshMarks(unknown);
      const again = check(); // the group may have moved on while we asked the leaders
      if (!again.ok) return again;
    }
    for (const o of request.offsets) {
      const mark = this.marks.get(partitionKey(o.topic, o.partition));
      if (!mark)
        return fail("LEADER_NOT_AVAILABLE", `the leader of ${o.topic}/${o.partition} did not answer; retry`);
      if (o.offset > mark.highWatermark)
        return fail(
          "OFFSET_OUT_OF_RANGE",
          `offset ${o.offset} of ${o.topic}/${o.partition} is above the high watermark ${mark.highWatermark}`,
          {
            logStartOffset: mark.logStartOffset,
            highWatermark: mark.highWatermark,
          },
        );
    }
    const now = Date.now();
    for (const o of request.offsets) {
      const committed = { topic: o.topic, partition: o.partition, offset: o.offset, committedAt: now };
      this.offsets.set(partitionKey(o.topic, o.partition), committed);
      this.store.saveOffset(committed);
    }
    return ok({
      offsets: request.offsets.map((o) => ({
        topic: o.topic,
        partition: o.partition,
        committedOffset: o.offset,
      })),
    });
  }

  /** Asks the leaders of these partitions for their high watermark and log start (in parallel, bounded). */
  private async refreshMarks(partitions: readonly TopicPartition[]): Promise<void> {
    await mapConcurrent(partitions, FAN_OUT_CONCURRENCY_MAX, async (tp) => {
      const info = await callPartitionLeader(
        this.env,
        this.topics,
        tp,
        LEADER_CALL_SLACK_MS,
        async (leader, _epoch, topic) => ok(await leader.describe(topic.topicId)),
      );
      if (info.ok && info.value)
        this.marks.set(partitionKey(tp.topic, tp.partition), {
          highWatermark: info.value.highWatermark,
          logStartOffset: info.value.logStartOffset,
          atMs: Date.now(),
        });
    });
  }

  /** Committed offsets sorted by topic then partition, with high watermark and lag at most 5 s old. */
  async listOffsets(): Promise<Result<{ offsets: OffsetInfo[] }>> {
    if (this.name === null) return fail("GROUP_ID_NOT_FOUND", "the group does not exist");
    return ok({ offsets: await this.offsetInfos() });
  }

  private async offsetInfos(): Promise<OffsetInfo[]> {
    const now = Date.now();
    const committed = [...this.offsets.values()];
    const stale = committed.filter(
      (o) => (this.marks.get(partitionKey(o.topic, o.partition))?.atMs ?? 0) < now - LAG_SAMPLE_INTERVAL_MS,
    );
    if (stale.length > 0) await this.refreshMarks(stale);
    return [...this.offsets.values()].sort(compareTopicPartitions).map((o) => {
      const hw = this.marks.get(partitionKey(o.topic, o.partition))?.highWatermark ?? o.offset;
      return {
        topic: o.topic,
        partition: o.partition,
        committedOffset: o.offset,
        highWatermark: hw,
        lag: Math.max(0, hw - o.offset),
      };
    });
  }

  // ---- administration ----

  async summary(): Promise<GroupSummary | null> {
    if (this.name === null) return null;
    return { group: this.name, state: this.state(), generation: this.generation, members: this.members.size };
  }

  /** State, members and their assignments, and lag (total, max, per partition with its recent history). */
  async describe() {
    if (this.name === null) return fail("GROUP_ID_NOT_FOUND", "the group does not exist");
    const offsets = await this.offsetInfos();
    let max: OffsetInfo | null = null;
    for (const o of offsets) if (max === null || o.lag > max.lag) max = o;
    return ok({
      group: this.name,
      state: this.state(),
      generation: this.generation,
      assignor: this.assignor,
      members: [...this.members.values()].map((m) => ({
        memberId: m.memberId,
        instanceId: m.instanceId,
        topics: m.topics,
        sessionTimeoutMs: m.sessionTimeoutMs,
        autoOffsetReset: m.autoOffsetReset,
        generation: m.seenGeneration,
        assignments: this.assignmentsOf(m.memberId),
      })),
      lag: {
        total: offsets.reduce((n, o) => n + o.lag, 0),
        max: max === null ? null : { topic: max.topic, partition: max.partition, lag: max.lag },
        partitions: offsets.map((o) => ({
          ...o,
          history: this.lagHistory.get(partitionKey(o.topic, o.partition)) ?? [],
        })),
      },
    });
  }

  /** Sets a topic's committed offsets for every partition; only while the group has no members. */
  async resetOffsets(
    group: string,
    request: ResetRequest,
  ): Promise<Result<{ offsets: (TopicPartition & { committedOffset: number })[] }>> {
    if (this.members.size > 0)
      return fail(
        "NON_EMPTY_GROUP",
        `group '${group}' has ${this.members.size} members; offsets reset only while it is Empty`,
      );
    const topic = await this.topic(request.topic);
    if (!topic.ok) return topic;
    const meta = topic.value;
    const position: FetchPosition = request.to;
    const resolved = await mapConcurrent(
      Array.from({ length: meta.partitions }, (_, p) => p),
      FAN_OUT_CONCURRENCY_MAX,
      (partition) =>
        callLeader(
          this.env,
          this.topics,
          { topic: meta, partition, timeoutMs: LEADER_CALL_SLACK_MS, retrySafe: true },
          (leader, leaderEpoch) => leader.resolveOffset(meta.topicId, leaderEpoch, position),
        ),
    );
    for (const r of resolved) if (!r.ok) return r; // nothing is written unless every partition resolves
    const created = await this.ensureGroup(group);
    if (!created.ok) return created;
    if (this.members.size > 0)
      return fail("NON_EMPTY_GROUP", `group '${group}' gained members during the reset`);
    const now = Date.now();
    const offsets = resolved.map((r, partition) => {
      const value = (
        r as { ok: true; value: { offset: number; logStartOffset: number; highWatermark: number } }
      ).value;
      const key = partitionKey(meta.name, partition);
      this.offsets.set(key, { topic: meta.name, partition, offset: value.offset, committedAt: now });
      this.store.saveOffset({ topic: meta.name, partition, offset: value.offset, committedAt: now });
      this.positions.delete(key);
      this.dirtyPositions.delete(key);
      this.store.deletePosition(meta.name, partition);
      this.marks.set(key, {
        highWatermark: value.highWatermark,
        logStartOffset: value.logStartOffset,
        atMs: now,
      });
      return { topic: meta.name, partition, committedOffset: value.offset };
    });
    return ok({ offsets });
  }

  /** Deletes an Empty group: its offsets and state, and its entry in the registry. */
  async deleteGroup(group: string): Promise<Result<null>> {
    if (this.name === null) return fail("GROUP_ID_NOT_FOUND", `group '${group}' does not exist`);
    if (this.members.size > 0)
      return fail(
        "NON_EMPTY_GROUP",
        `group '${group}' has ${this.members.size} members; it can be deleted only while Empty`,
      );
    await topicRegistry(this.env).unregisterGroup(group);
    await this.ctx.storage.deleteAll();
    this.alarms.fired();
    this.partitionCounts.clear();
    this.marks.clear();
    this.lagHistory.clear();
    this.load();
    return ok(null);
  }

  /** A deleted topic: its offsets and positions go, and members subscribed to it are rebalanced. */
  async forgetTopic(topic: string): Promise<void> {
    this.store.forgetTopic(topic);
    this.partitionCounts.delete(topic);
    this.topics.forget(topic); // a re-created topic of that name is another incarnation
    for (const key of [...this.offsets.keys()]) if (isKeyOfTopic(key, topic)) this.offsets.delete(key);
    for (const key of [...this.positions.keys()]) if (isKeyOfTopic(key, topic)) this.positions.delete(key);
    for (const key of [...this.owners.keys()]) if (key.startsWith(`${topic}\u0000`)) this.owners.delete(key);
    if ([...this.members.values()].some((m) => m.topics.includes(topic))) this.rebalance();
  }

  // ---- alarm: sessions, partition counts, lag ----

  /**
   * Expires members silent for their sessionTimeoutMs (one rebalance for all),
   * picks up partition-count changes of subscribed topics, and samples lag.
   * Idempotent; re-armed only while the group has members.
   */
  override async alarm(): Promise<void> {
    this.alarms.fired();
    if (this.name === null) return;
    const now = Date.now();
    const expired = [...this.members.values()]
      .filter((m) => m.lastSeenMs + m.sessionTimeoutMs <= now)
      .map((m) => m.memberId);
    if (expired.length > 0) {
      console.warn(`group ${this.name}: session expired for ${expired.join(", ")}`);
      this.removeMembers(expired);
    }
    if (this.members.size === 0) return;
    let changed = false;
    for (const name of new Set([...this.members.values()].flatMap((m) => m.topics))) {
      const topic = await this.topic(name);
      const count = topic.ok ? topic.value.partitions : undefined;
      if (count !== this.partitionCounts.get(name)) {
        changed = true;
        if (count === undefined) this.partitionCounts.delete(name);
        else this.partitionCounts.set(name, count);
      }
    }
    if (changed) this.rebalance();
    for (const o of await this.offsetInfos()) {
      const key = partitionKey(o.topic, o.partition);
      const history = this.lagHistory.get(key) ?? [];
      history.push(o.lag);
      if (history.length > LAG_HISTORY_MAX) history.shift();
      this.lagHistory.set(key, history);
    }
    let next = Date.now() + LAG_SAMPLE_INTERVAL_MS;
    for (const m of this.members.values()) next = Math.min(next, m.lastSeenMs + m.sessionTimeoutMs);
    await this.alarms.schedule(Math.max(next, Date.now() + 1));
  }
}
