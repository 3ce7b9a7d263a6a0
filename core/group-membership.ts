import { type AssignorName, assign } from "./assignors";
import { fail, ok, type Result } from "./errors";
import { GROUP_MEMBERS_MAX } from "./limits";
import {
  compareTopicPartitions,
  isKeyOfTopic,
  parsePartitionKey,
  partitionKey,
  type TopicPartition,
} from "./partition-key";
import type { Isolation } from "./partition-transactions";

/**
 * A consumer group's membership (Kafka's group coordinator state machine, with
 * server-side assignment as in KIP-848): members and their sessions, static
 * members and fencing, the generation and its assignment, and the decision of
 * when to rebalance. Every membership change is a rebalance: the generation
 * moves on and the assignment is computed at once, so one partition has one
 * owner per generation, and a commit is accepted only from the partition's
 * owner in the current generation. Pure: the clock is injected; the caller
 * persists what the answers say changed.
 */

export type GroupState = "Empty" | "PreparingRebalance" | "Stable" | "Dead";
export type OffsetReset = "earliest" | "latest";

/** A member as it joined (and as it is stored). */
export type MemberSpec = {
  memberId: string;
  instanceId: string | null;
  topics: string[];
  sessionTimeoutMs: number;
  autoOffsetReset: OffsetReset;
  /** What the member reads: read_committed stops at the last stable offset (API.md "Transactions"). */
  isolation: Isolation;
  /** The WsSession object id of a WebSocket member, null for an HTTP member. */
  pushTo: string | null;
};

export type Member = MemberSpec & {
  lastSeenMs: number;
  /** The last generation this member was told about (by join, heartbeat or poll). */
  seenGeneration: number;
};

export type Owned = TopicPartition & { memberId: string };

/** What a join changed, for the caller to persist. */
export type JoinOutcome = {
  member: Member;
  /** A static member's previous id, now fenced (its partitions went to `member` when the subscription is the same). */
  replaced: Member | null;
  /** Partitions whose owner changed (their positions are dropped); null when no rebalance ran. */
  moved: string[] | null;
};

export class GroupMembership {
  readonly members = new Map<string, Member>();
  /** partitionKey → owning member id, in the current generation. */
  private owners = new Map<string, string>();
  /** Partition counts of the members' topics, as last looked up. */
  readonly partitionCounts = new Map<string, number>();

  constructor(
    public generation: number,
    public assignor: AssignorName | null,
    members: readonly MemberSpec[],
    assignments: readonly Owned[],
    private readonly now: () => number,
  ) {
    // Sessions restart with the object: a member gets a full session timeout from now.
    const at = now();
    for (const m of members)
      this.members.set(m.memberId, { ...m, lastSeenMs: at, seenGeneration: generation });
    for (const a of assignments) this.owners.set(partitionKey(a.topic, a.partition), a.memberId);
  }

  state(): GroupState {
    if (this.members.size === 0) return "Empty";
    for (const m of this.members.values())
      if (m.seenGeneration < this.generation) return "PreparingRebalance";
    return "Stable";
  }

  ownerOf(topic: string, partition: number): string | undefined {
    return this.owners.get(partitionKey(topic, partition));
  }

  /** A member's partitions in the current generation, sorted by topic then partition. */
  assignmentsOf(memberId: string): TopicPartition[] {
    const owned: TopicPartition[] = [];
    for (const [key, owner] of this.owners) if (owner === memberId) owned.push(parsePartitionKey(key));
    return owned.sort(compareTopicPartitions);
  }

  /** A member reads read_committed: the group's lag is measured to the last stable offset. */
  readsCommitted(): boolean {
    for (const m of this.members.values()) if (m.isolation === "read_committed") return true;
    return false;
  }

  /** The members as describe answers them: subscription, session, the generation each last heard of, assignments. */
  describeMembers() {
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      instanceId: m.instanceId,
      topics: m.topics,
      sessionTimeoutMs: m.sessionTimeoutMs,
      autoOffsetReset: m.autoOffsetReset,
      isolation: m.isolation,
      generation: m.seenGeneration,
      assignments: this.assignmentsOf(m.memberId),
    }));
  }

  ownedList(): Owned[] {
    return [...this.owners].map(([key, memberId]) => ({ ...parsePartitionKey(key), memberId }));
  }

  /** A member's request: it keeps the member alive. UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID otherwise. */
  touch(memberId: string, fenced: (memberId: string) => boolean): Result<Member> {
    const m = this.members.get(memberId);
    if (m) {
      m.lastSeenMs = this.now();
      return ok(m);
    }
    return memberError(fenced(memberId) ? "FENCED_INSTANCE_ID" : "UNKNOWN_MEMBER_ID", memberId);
  }

  /** Tells a member the current generation: whether it was rebalancing (it had not heard of it). */
  heartbeat(m: Member): boolean {
    const rebalancing = m.seenGeneration < this.generation;
    m.seenGeneration = this.generation;
    return rebalancing;
  }

  /**
   * Joins a member, or re-joins a static one (its old id is fenced; with the same
   * subscription it takes over the old member's partitions without a rebalance).
   * The caller looked the topics' partition counts up (setPartitionCount).
   */
  join(group: string, spec: MemberSpec & { assignor: AssignorName }): Result<JoinOutcome> {
    if (this.members.size > 0 && this.assignor !== null && this.assignor !== spec.assignor)
      return fail(
        "INVALID_REQUEST",
        `group '${group}' uses the '${this.assignor}' assignor; join with it or leave it out`,
      );
    const previous =
      spec.instanceId === null
        ? undefined
        : [...this.members.values()].find((m) => m.instanceId === spec.instanceId);
    if (!previous && this.members.size >= GROUP_MEMBERS_MAX)
      return fail(
        "INVALID_REQUEST",
        `group '${group}' already has the maximum of ${GROUP_MEMBERS_MAX} members`,
      );
    const { assignor, ...stored } = spec;
    const member: Member = { ...stored, lastSeenMs: this.now(), seenGeneration: 0 };
    this.assignor = assignor;
    let moved: string[] | null = null;
    if (previous) {
      this.members.delete(previous.memberId);
      this.members.set(member.memberId, member);
      const sameSubscription =
        JSON.stringify([...previous.topics].sort()) === JSON.stringify([...spec.topics].sort());
      if (sameSubscription) {
        for (const [key, owner] of this.owners)
          if (owner === previous.memberId) this.owners.set(key, member.memberId);
      } else moved = this.rebalance();
    } else {
      this.members.set(member.memberId, member);
      moved = this.rebalance();
    }
    member.seenGeneration = this.generation;
    return ok({ member, replaced: previous ?? null, moved });
  }

  /** Members leave (or their sessions expired): one rebalance for all. Answers the moved partitions. */
  remove(memberIds: readonly string[]): string[] {
    for (const id of memberIds) this.members.delete(id);
    return this.rebalance();
  }

  /** Members whose session timed out by now. */
  expired(): string[] {
    const now = this.now();
    return [...this.members.values()]
      .filter((m) => m.lastSeenMs + m.sessionTimeoutMs <= now)
      .map((m) => m.memberId);
  }

  /** When the next session could expire (Infinity: no members). */
  nextExpiryMs(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const m of this.members.values()) next = Math.min(next, m.lastSeenMs + m.sessionTimeoutMs);
    return next;
  }

  /** The topics some member subscribes to. */
  subscribedTopics(): Set<string> {
    return new Set([...this.members.values()].flatMap((m) => m.topics));
  }

  /** A topic's partition count (undefined: the topic is gone); true when it changed. */
  setPartitionCount(topic: string, count: number | undefined): boolean {
    if (count === this.partitionCounts.get(topic)) return false;
    if (count === undefined) this.partitionCounts.delete(topic);
    else this.partitionCounts.set(topic, count);
    return true;
  }

  /** A deleted topic: its partitions lose their owners; true when members subscribed to it (rebalance). */
  forgetTopic(topic: string): boolean {
    this.partitionCounts.delete(topic);
    for (const key of [...this.owners.keys()]) if (isKeyOfTopic(key, topic)) this.owners.delete(key);
    return [...this.members.values()].some((m) => m.topics.includes(topic));
  }

  /**
   * Whether a member may commit offsets for these partitions: it is a member, it
   * names the current generation, and it owns every partition in it.
   */
  mayCommit(memberId: string, generation: number, partitions: readonly TopicPartition[]): Result<null> {
    if (generation !== this.generation)
      return fail(
        "ILLEGAL_GENERATION",
        `generation ${generation} is stale; the group is at generation ${this.generation} (heartbeat to get the assignment)`,
      );
    for (const o of partitions)
      if (this.ownerOf(o.topic, o.partition) !== memberId)
        return fail(
          "PARTITION_NOT_ASSIGNED",
          `${o.topic}/${o.partition} is not assigned to member '${memberId}' in generation ${this.generation}`,
        );
    return ok(null);
  }

  /**
   * A new generation: assigns every partition of the members' topics with the
   * group's assignor (sticky keeps owners where it can). Answers the partitions
   * whose owner changed: the new owner starts from the committed offset.
   */
  rebalance(): string[] {
    this.generation++;
    if (this.members.size === 0) this.assignor = null;
    const previous = this.owners;
    const result = assign(
      this.assignor ?? "range",
      [...this.members.values()],
      this.partitionCounts,
      previous,
    );
    this.owners = new Map();
    for (const [memberId, owned] of result)
      for (const tp of owned) this.owners.set(partitionKey(tp.topic, tp.partition), memberId);
    const moved: string[] = [];
    for (const key of new Set([...previous.keys(), ...this.owners.keys()]))
      if (this.owners.get(key) !== previous.get(key)) moved.push(key);
    return moved;
  }
}

export function memberError(code: "UNKNOWN_MEMBER_ID" | "FENCED_INSTANCE_ID", memberId: string) {
  return code === "UNKNOWN_MEMBER_ID"
    ? fail(
        code,
        `member '${memberId}' is not in the group (never joined, left, or its session expired); join again`,
      )
    : fail(code, `member '${memberId}' was replaced by a newer member with the same instanceId`);
}
