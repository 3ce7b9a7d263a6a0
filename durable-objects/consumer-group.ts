import { DurableObject } from "cloudflare:workers";
import { allows, type Rights } from "../core/acl";
import { EdgelogError, fail, ok, type Result } from "../core/errors";
import { GroupMembership, type GroupState, type Member } from "../core/group-membership";
import { LAG_SAMPLE_INTERVAL_MS } from "../core/limits";
import { isKeyOfTopic, partitionKey, type TopicPartition } from "../core/partition-key";
import type { TransactionMarker } from "../core/transaction-coordinator";
import type { CommitRequest, JoinRequest, ResetRequest } from "../schemas/groups";
import { AlarmScheduler } from "./alarm-scheduler";
import type { TopicMetadata } from "./contract";
import type { Env } from "./env";
import { GroupLag, type OffsetInfo } from "./group-lag";
import { GroupPoll, type PolledRecords, type PollOptions } from "./group-poll";
import { type CommittedOffset, GroupStore } from "./group-store";
import { GroupTransactions } from "./group-transactions";
import { topicRegistry, wsSession } from "./stubs";
import { TopicCache } from "./topic-cache";

/**
 * One consumer group (Kafka's group coordinator): its storage, alarm and RPC.
 * Membership, generations and the rebalance decision are core GroupMembership's;
 * polls and positions GroupPoll's; partitions' offsets and lag GroupLag's.
 * Committed offsets are kept here: a commit must name the current generation and
 * partitions the member owns in it, so a committed offset only moves by its owner.
 */

export type MemberAssignment = { memberId: string; generation: number; assignments: TopicPartition[] };
export type HeartbeatInfo = { generation: number; assignments: TopicPartition[]; rebalancing: boolean };
export type GroupSummary = { group: string; state: GroupState; generation: number; members: number };
export type CommittedOffsets = { offsets: (TopicPartition & { committedOffset: number })[] };

export class ConsumerGroup extends DurableObject<Env> {
  private readonly store: GroupStore;
  private readonly topics = new TopicCache();
  private readonly alarms: AlarmScheduler;
  private readonly lag: GroupLag;
  private readonly polls: GroupPoll;
  private readonly transactions: GroupTransactions;
  private name: string | null = null;
  private membership = new GroupMembership(0, null, [], [], Date.now);
  private offsets = new Map<string, CommittedOffset>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new GroupStore(ctx.storage.sql);
    this.transactions = new GroupTransactions(ctx.storage.sql);
    this.alarms = new AlarmScheduler(ctx.storage);
    this.lag = new GroupLag(env, this.topics);
    this.polls = new GroupPoll(env, this.topics, this.store, this.lag, () => ({
      name: this.name,
      membership: this.membership,
      offsets: this.offsets,
      held: (key) => this.transactions.isHeld(key),
    }));
    ctx.blockConcurrencyWhile(async () => {
      try {
        this.load();
        if (this.membership.members.size > 0) await this.alarms.schedule(Date.now() + LAG_SAMPLE_INTERVAL_MS);
      } catch (error) {
        console.error("ConsumerGroup failed to load", error);
      }
    });
  }

  private load(): void {
    const g = this.store.load();
    this.transactions.load();
    this.name = g.name;
    this.membership = new GroupMembership(g.generation, g.assignor, g.members, g.assignments, Date.now);
    this.offsets = new Map(g.offsets.map((o) => [partitionKey(o.topic, o.partition), o]));
    this.polls.load(g.positions);
  }

  private member(memberId: string): Result<Member> {
    return this.membership.touch(memberId, (id) => this.store.isFenced(id));
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
      this.saveMeta();
    }
    return ok(null);
  }

  private saveMeta(): void {
    this.store.saveMeta(this.name!, this.membership.generation, this.membership.assignor);
  }

  // ---- membership ----

  /** Joins a member (or re-joins a static one) and answers its assignment. */
  async join(
    group: string,
    request: JoinRequest,
    pushTo: string | null = null,
  ): Promise<Result<MemberAssignment>> {
    for (const name of request.topics) {
      const topic = await this.topic(name);
      if (!topic.ok) return topic;
      this.membership.setPartitionCount(name, topic.value.partitions);
    }
    const created = await this.ensureGroup(group);
    if (!created.ok) return created;
    // No await below: the membership change and its rebalance are one transaction.
    const joined = this.membership.join(group, {
      memberId: `${request.instanceId ?? "member"}-${crypto.randomUUID()}`,
      instanceId: request.instanceId,
      topics: request.topics,
      sessionTimeoutMs: request.sessionTimeoutMs,
      autoOffsetReset: request.autoOffsetReset,
      isolation: request.isolation,
      pushTo,
      assignor: request.assignor,
    });
    if (!joined.ok) return joined;
    const { member, replaced, moved } = joined.value;
    if (replaced) {
      // Static membership: the old member id is fenced; the new one takes over its partitions.
      this.store.deleteMember(replaced.memberId);
      this.store.fence(replaced.memberId);
      this.polls.forgetMember(replaced.memberId);
    }
    this.store.saveMember(member);
    if (moved === null) {
      this.store.replaceAssignments(this.membership.ownedList());
      this.saveMeta();
    } else this.afterRebalance(moved);
    void this.alarms.schedule(Date.now() + Math.min(member.sessionTimeoutMs, LAG_SAMPLE_INTERVAL_MS));
    return ok({
      memberId: member.memberId,
      generation: this.membership.generation,
      assignments: this.membership.assignmentsOf(member.memberId),
    });
  }

  /**
   * A new generation was assigned: partitions that changed owner lose their
   * positions, the assignment is stored, parked polls answer, and WebSocket
   * members are told at once (API.md: an `assigned` frame on every reassignment).
   */
  private afterRebalance(moved: readonly string[]): void {
    for (const key of moved) this.polls.drop(key);
    this.store.replaceAssignments(this.membership.ownedList());
    this.saveMeta();
    this.polls.wakeAll();
    for (const m of this.membership.members.values())
      if (m.pushTo !== null)
        void wsSession(this.env, m.pushTo)
          .onAssignment(this.name!, m.memberId)
          .catch((error) => console.warn(`group ${this.name}: assignment push failed`, String(error)));
  }

  async heartbeat(memberId: string): Promise<Result<HeartbeatInfo>> {
    const m = this.member(memberId);
    if (!m.ok) return m;
    const rebalancing = this.membership.heartbeat(m.value);
    return ok({
      generation: this.membership.generation,
      assignments: this.membership.assignmentsOf(memberId),
      rebalancing,
    });
  }

  async leave(memberId: string): Promise<Result<null>> {
    const m = this.member(memberId);
    if (!m.ok) return m;
    this.removeMembers([memberId]);
    return ok(null);
  }

  private removeMembers(memberIds: readonly string[]): void {
    for (const id of memberIds) {
      this.store.deleteMember(id);
      this.polls.forgetMember(id);
    }
    this.afterRebalance(this.membership.remove(memberIds));
  }

  // ---- poll ----

  /**
   * Fetches the member's owned partitions (GroupPoll) and advances its positions.
   * With waitMs, parks until a partition has records, the time is up, or a
   * rebalance changes the assignment.
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
      for (const topic of new Set(this.membership.assignmentsOf(memberId).map((tp) => tp.topic)))
        if (!allows(rights, "topic", topic, "read"))
          return fail("TOPIC_AUTHORIZATION_FAILED", `not authorized to read topic '${topic}'`);
    m.value.seenGeneration = this.membership.generation;
    return this.polls.poll(m.value, options);
  }

  // ---- commits and offsets ----

  /**
   * Commits offsets (the next offset to read, Kafka's convention) for partitions
   * the member owns in the current generation; all or nothing. An offset above
   * the partition's high watermark is OFFSET_OUT_OF_RANGE.
   */
  async commit(request: CommitRequest): Promise<Result<CommittedOffsets>> {
    const admitted = await this.admitCommit(request);
    if (!admitted.ok) return admitted;
    const now = Date.now();
    for (const o of request.offsets) this.saveOffset(o.topic, o.partition, o.offset, now);
    return ok({
      offsets: request.offsets.map((o) => ({
        topic: o.topic,
        partition: o.partition,
        committedOffset: o.offset,
      })),
    });
  }

  /**
   * Offsets sent to a producer's transaction: checked as a commit now, held until
   * the coordinator's marker applies them (commit) or drops them (abort).
   */
  async transactionalCommit(
    producerId: string,
    epoch: number,
    request: CommitRequest,
  ): Promise<Result<null>> {
    const admitted = await this.admitCommit(request);
    if (!admitted.ok) return admitted;
    this.transactions.hold(producerId, epoch, request.offsets);
    return ok(null);
  }

  /** A transaction coordinator's marker: the producer's held offsets are applied (commit) or dropped. */
  async transactionMarker(producerId: string, marker: TransactionMarker): Promise<void> {
    const now = Date.now();
    for (const o of this.transactions.release(producerId, marker))
      this.saveOffset(o.topic, o.partition, o.offset, now);
  }

  /** A commit's checks: the member, its generation and ownership, offsets within the high watermark. */
  private async admitCommit(request: CommitRequest): Promise<Result<null>> {
    const check = (): Result<null> => {
      const m = this.member(request.memberId);
      if (!m.ok) return m;
      return this.membership.mayCommit(request.memberId, request.generation, request.offsets);
    };
    const first = check();
    if (!first.ok) return first;
    return this.lag.checkWithinHighWatermarks(request.offsets, check);
  }

  private saveOffset(topic: string, partition: number, offset: number, committedAt: number): void {
    const committed = { topic, partition, offset, committedAt };
    this.offsets.set(partitionKey(topic, partition), committed);
    this.store.saveOffset(committed);
  }

  /** Committed offsets sorted by topic then partition, with high watermark and lag at most 5 s old. */
  async listOffsets(): Promise<Result<{ offsets: OffsetInfo[] }>> {
    if (this.name === null) return fail("GROUP_ID_NOT_FOUND", "the group does not exist");
    return ok({ offsets: await this.lag.offsetInfos(this.offsets, this.membership.readsCommitted()) });
  }

  // ---- administration ----

  async summary(): Promise<GroupSummary | null> {
    if (this.name === null) return null;
    const { membership } = this;
    return {
      group: this.name,
      state: membership.state(),
      generation: membership.generation,
      members: membership.members.size,
    };
  }

  /** State, members and their assignments, and lag (total, max, per partition with its recent history). */
  async describe() {
    if (this.name === null) return fail("GROUP_ID_NOT_FOUND", "the group does not exist");
    const { membership } = this;
    return ok({
      group: this.name,
      state: membership.state(),
      generation: membership.generation,
      assignor: membership.assignor,
      members: membership.describeMembers(),
      lag: await this.lag.summary(this.offsets, this.membership.readsCommitted()),
    });
  }

  /** Sets a topic's committed offsets for every partition; only while the group has no members. */
  async resetOffsets(group: string, request: ResetRequest): Promise<Result<CommittedOffsets>> {
    const members = () => this.membership.members.size;
    if (members() > 0)
      return fail(
        "NON_EMPTY_GROUP",
        `group '${group}' has ${members()} members; offsets reset only while it is Empty`,
      );
    const topic = await this.topic(request.topic);
    if (!topic.ok) return topic;
    const meta = topic.value;
    const resolved = await this.lag.resolveAll(meta, request.to);
    if (!resolved.ok) return resolved; // nothing is written unless every partition resolves
    const offsets = resolved.value;
    const created = await this.ensureGroup(group);
    if (!created.ok) return created;
    if (members() > 0) return fail("NON_EMPTY_GROUP", `group '${group}' gained members during the reset`);
    const now = Date.now();
    return ok({
      offsets: offsets.map((value, partition) => {
        this.saveOffset(meta.name, partition, value.offset, now);
        this.polls.drop(partitionKey(meta.name, partition));
        this.lag.set(meta.name, partition, value);
        return { topic: meta.name, partition, committedOffset: value.offset };
      }),
    });
  }

  /** Deletes an Empty group: its offsets and state, and its entry in the registry. */
  async deleteGroup(group: string): Promise<Result<null>> {
    if (this.name === null) return fail("GROUP_ID_NOT_FOUND", `group '${group}' does not exist`);
    const members = this.membership.members.size;
    if (members > 0)
      return fail(
        "NON_EMPTY_GROUP",
        `group '${group}' has ${members} members; it can be deleted only while Empty`,
      );
    await topicRegistry(this.env).unregisterGroup(group);
    await this.ctx.storage.deleteAll();
    this.alarms.fired();
    this.lag.clear();
    this.load();
    return ok(null);
  }

  /** A deleted topic: its offsets and positions go, and members subscribed to it are rebalanced. */
  async forgetTopic(topic: string): Promise<void> {
    this.store.forgetTopic(topic);
    this.topics.forget(topic); // a re-created topic of that name is another incarnation
    for (const key of [...this.offsets.keys()]) if (isKeyOfTopic(key, topic)) this.offsets.delete(key);
    this.polls.forgetTopic((key) => isKeyOfTopic(key, topic));
    if (this.membership.forgetTopic(topic)) this.afterRebalance(this.membership.rebalance());
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
    const membership = this.membership;
    const expired = membership.expired();
    if (expired.length > 0) {
      console.warn(`group ${this.name}: session expired for ${expired.join(", ")}`);
      this.removeMembers(expired);
    }
    if (membership.members.size === 0) return;
    let changed = false;
    for (const name of membership.subscribedTopics()) {
      const topic = await this.topic(name);
      if (membership.setPartitionCount(name, topic.ok ? topic.value.partitions : undefined)) changed = true;
    }
    if (changed) this.afterRebalance(membership.rebalance());
    this.lag.sample(await this.lag.offsetInfos(this.offsets, membership.readsCommitted()));
    const next = Math.min(Date.now() + LAG_SAMPLE_INTERVAL_MS, membership.nextExpiryMs());
    await this.alarms.schedule(Math.max(next, Date.now() + 1));
  }
}
