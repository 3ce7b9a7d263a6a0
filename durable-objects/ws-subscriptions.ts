import type { Rights } from "../core/acl";
import { EdgelogError, type ErrorInfo, ok, type Result } from "../core/errors";
import { WS_CREDITS_MAX, WS_PUSH_RECORDS_MAX, WS_SUBSCRIPTIONS_MAX } from "../core/limits";
import { parsePartitionKey, partitionKey, type TopicPartition } from "../core/partition-key";
import type { Isolation } from "../core/partition-transactions";
import type { FrameId } from "../schemas/frames";
import type { Identity } from "./authorizer";
import { authorize } from "./authorizer";
import type { CommittedRecords } from "./contract";
import type { Env } from "./env";
import { callPartitionLeader, LEADER_CALL_SLACK_MS } from "./leader-call";
import { bucketsOf } from "./quotas";
import { consumerGroup } from "./stubs";
import type { TopicCache } from "./topic-cache";

/**
 * A socket's subscriptions (tails and group memberships) and their delivery:
 * kept in the session's SQLite so they survive hibernation, each pushed from its
 * position while it has credits, in offset order, one delivery at a time. The
 * partition leaders they read are watched, so pushes follow the high watermark
 * (never polled).
 */

/** Frames one delivery run sends at most before yielding (a later notification or credit continues). */
const DELIVERY_FRAMES_MAX = 100;
/**
 * How long a push's new position and credits may wait before they are written.
 * Written at each push, every push to every socket was a SQLite commit (an fsync on
 * the one thread locally, ~1 ms here) before its frame could leave (the output
 * gate): a produce with N sockets tailing paid N fsyncs. A pending timer keeps the
 * object from hibernating, so what hibernation needs is on disk first; an object
 * reset with the socket still open resumes from the last write (records of at most
 * this long sent again, never skipped). Subscribe, credit and assignment changes are
 * still written at once.
 */
export const SUBSCRIPTION_SAVE_DELAY_MS = 1_000;
/** WebSocket close code for a policy violation. */
export const CLOSE_POLICY = 1008;

export type TailSubscription = {
  kind: "tail";
  id: FrameId;
  topic: string;
  partition: number;
  topicId: string;
  position: number;
  credits: number;
  /** read_committed: up to the last stable offset, never an aborted record (absent: read_uncommitted). */
  isolation?: Isolation;
};
/** The socket is a member of a group: the group keeps its positions; pushes come through its poll. */
export type GroupSubscription = {
  kind: "group";
  id: FrameId;
  group: string;
  memberId: string;
  generation: number;
  assignments: TopicPartition[];
  credits: number;
};
export type Subscription = TailSubscription | GroupSubscription;

/** The partitions a subscription reads (a tail one, a group member its assignment). */
export function partitionsOf(sub: Subscription): TopicPartition[] {
  return sub.kind === "tail" ? [{ topic: sub.topic, partition: sub.partition }] : sub.assignments;
}

const refKey = (tp: TopicPartition) => partitionKey(tp.topic, tp.partition);

/** A refusal that ends a subscription: its reader may no longer read what it reads. */
const AUTHORIZATION_FAILURES: readonly string[] = [
  "TOPIC_AUTHORIZATION_FAILED",
  "GROUP_AUTHORIZATION_FAILED",
];

/** Records fetched for one push; `caughtUp` when they reach the high watermark (nothing more to fetch now). */
export type Pushed = Result<{ records: string; count: number; caughtUp?: boolean }>;

/** What the subscriptions need of their session. */
export type SessionPort = {
  env: Env;
  topics: TopicCache;
  /** This session's object id, by which leaders notify it. */
  sessionId: string;
  send(frame: string): void;
  sendError(id: FrameId | null, error: ErrorInfo): void;
  identity(): Identity | null;
  /** What the socket's identity may do now: null at once on an open gateway (nothing awaited). */
  rights(): Promise<Rights> | null;
  close(code: number, reason: string): void;
  /** Fetches records for a push (a tail from its position, a group member through its poll). */
  fetch(sub: Subscription, maxRecords: number, rights: Rights): Promise<Pushed>;
};

/**
 * The pushed committed records as a tail's next push when the tail stands at
 * their start of the same topic incarnation and may take them all; else null
 * (the tail fetches). The tail's position moves past them.
 */
function takeCommitted(
  sub: Subscription,
  committed: CommittedRecords | null,
  maxRecords: number,
): Pushed | null {
  // The pushed records reach the high watermark: a read_committed tail stops at the LSO, so it fetches.
  if (committed === null || sub.kind !== "tail" || sub.isolation === "read_committed") return null;
  if (sub.topicId !== committed.topicId || sub.position !== committed.from || committed.count > maxRecords)
    return null;
  sub.position = committed.next;
  return ok({
    records: committed.records,
    count: committed.count,
    caughtUp: committed.next >= committed.highWatermark,
  });
}

export class Subscriptions {
  readonly all = new Map<string, Subscription>();
  /** Subscriptions being set up (id → group, null for a tail): counted by the limits before they exist. */
  private readonly subscribing = new Map<string, string | null>();
  /** Partitions whose leaders notify this session. */
  private readonly watched = new Set<string>();
  private readonly delivering = new Set<string>();
  private readonly redeliver = new Set<string>();
  /** Subscriptions pushed to since their last write (see SUBSCRIPTION_SAVE_DELAY_MS). */
  private readonly unsaved = new Set<string>();
  private saveTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly port: SessionPort,
    private readonly sql: SqlStorage,
  ) {}

  load(): void {
    for (const row of this.sql
      .exec<{ id: string; data: string }>("SELECT id, data FROM subscriptions")
      .toArray())
      this.all.set(row.id, JSON.parse(row.data));
    // The leaders keep their watchers durably: what the subscriptions read is already watched.
    for (const sub of this.all.values()) for (const tp of partitionsOf(sub)) this.watched.add(refKey(tp));
  }

  /**
   * Reserves a subscription id (and, for a group, the group) before the first await,
   * so frames handled while this one waits see it: the limit and the duplicate checks
   * hold however many subscribes arrive at once. Released by `release` when done.
   */
  reserve(key: string, group: string | null): void {
    if (this.all.has(key) || this.subscribing.has(key))
      throw new EdgelogError("INVALID_REQUEST", `subscription id ${key} is already in use on this socket`);
    if (this.all.size + this.subscribing.size >= WS_SUBSCRIPTIONS_MAX)
      throw new EdgelogError(
        "INVALID_REQUEST",
        `a socket holds at most ${WS_SUBSCRIPTIONS_MAX} subscriptions`,
      );
    if (
      group !== null &&
      ([...this.all.values()].some((s) => s.kind === "group" && s.group === group) ||
        [...this.subscribing.values()].includes(group))
    )
      throw new EdgelogError("INVALID_REQUEST", `this socket is already a member of group '${group}'`);
    this.subscribing.set(key, group);
  }

  release(key: string): void {
    this.subscribing.delete(key);
  }

  add(key: string, sub: Subscription): void {
    this.all.set(key, sub);
    this.save(sub);
  }

  save(sub: Subscription): void {
    this.unsaved.delete(JSON.stringify(sub.id));
    this.sql.exec(
      "INSERT OR REPLACE INTO subscriptions (id, data) VALUES (?, ?)",
      JSON.stringify(sub.id),
      JSON.stringify(sub),
    );
  }

  remove(key: string): Subscription | undefined {
    const sub = this.all.get(key);
    if (!sub) return undefined;
    this.all.delete(key);
    this.unsaved.delete(key);
    this.sql.exec("DELETE FROM subscriptions WHERE id = ?", key);
    return sub;
  }

  /** The socket is gone: every subscription ends (group members leave), the leaders stop notifying. */
  async closeAll(): Promise<void> {
    const subs = [...this.all.values()];
    this.all.clear();
    this.unsaved.clear();
    if (this.saveTimer !== null) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    // A closed socket is a member leaving its group (API.md): the group rebalances now.
    await Promise.all(
      subs.map((s) =>
        s.kind === "group"
          ? consumerGroup(this.port.env, s.group)
              .leave(s.memberId)
              .catch(() => undefined)
          : undefined,
      ),
    );
    await this.syncWatches().catch(() => undefined);
  }

  async unsubscribe(id: FrameId): Promise<void> {
    const key = JSON.stringify(id);
    const sub = this.remove(key);
    if (!sub) throw new EdgelogError("INVALID_REQUEST", `no subscription ${key} on this socket`);
    if (sub.kind === "group") await consumerGroup(this.port.env, sub.group).leave(sub.memberId);
    await this.syncWatches().catch(() => undefined);
    this.port.send(JSON.stringify({ op: "unsubscribed", id }));
  }

  credit(subscription: FrameId | null, credits: number): void {
    let sub: Subscription | undefined;
    if (subscription === null) {
      if (this.all.size !== 1)
        throw new EdgelogError(
          "INVALID_REQUEST",
          "name the subscription: this socket has more than one (or none)",
        );
      sub = [...this.all.values()][0];
    } else sub = this.all.get(JSON.stringify(subscription));
    if (!sub)
      throw new EdgelogError(
        "INVALID_REQUEST",
        `no subscription ${JSON.stringify(subscription)} on this socket`,
      );
    if (sub.credits + credits > WS_CREDITS_MAX)
      throw new EdgelogError(
        "INVALID_REQUEST",
        `a subscription holds at most ${WS_CREDITS_MAX} credits (it has ${sub.credits})`,
      );
    sub.credits += credits;
    this.save(sub);
    void this.deliver(JSON.stringify(sub.id));
  }

  /** Writes a pushed subscription within SUBSCRIPTION_SAVE_DELAY_MS, with every other pushed since. */
  private saveSoon(key: string): void {
    this.unsaved.add(key);
    this.saveTimer ??= setTimeout(() => {
      this.saveTimer = null;
      for (const pending of [...this.unsaved]) {
        const sub = this.all.get(pending);
        if (sub) this.save(sub);
      }
      this.unsaved.clear();
    }, SUBSCRIPTION_SAVE_DELAY_MS);
  }

  /**
   * Makes the set of watched partition leaders match what the subscriptions read:
   * watch the new ones, unwatch the ones no subscription reads any more.
   */
  async syncWatches(): Promise<void> {
    const wanted = new Map<string, TopicPartition>();
    for (const sub of this.all.values()) for (const tp of partitionsOf(sub)) wanted.set(refKey(tp), tp);
    const { env, topics, sessionId } = this.port;
    const changes: Promise<void>[] = [];
    for (const [key, tp] of wanted) {
      if (this.watched.has(key)) continue;
      changes.push(
        (async () => {
          const watched = await callPartitionLeader(
            env,
            topics,
            tp,
            LEADER_CALL_SLACK_MS,
            (leader, _epoch, topic) => leader.watch(topic.topicId, sessionId),
          );
          if (!watched.ok) throw new EdgelogError(watched.error.code, watched.error.message);
          this.watched.add(key);
        })(),
      );
    }
    for (const key of [...this.watched]) {
      if (wanted.has(key)) continue;
      this.watched.delete(key);
      changes.push(
        (async () => {
          await callPartitionLeader(
            env,
            topics,
            parsePartitionKey(key),
            LEADER_CALL_SLACK_MS,
            async (leader) => {
              await leader.unwatch(sessionId);
              return ok(null);
            },
          );
        })(),
      );
    }
    const results = await Promise.allSettled(changes);
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  /**
   * A leader's high watermark moved: deliver to what reads it, a tail at the
   * start of the `committed` records from them. False when nothing here reads it.
   */
  onHighWatermark(
    topic: string,
    partition: number,
    highWatermark: number,
    committed: CommittedRecords | null,
  ): boolean {
    let reads = false;
    for (const [key, sub] of this.all) {
      if (!partitionsOf(sub).some((tp) => tp.topic === topic && tp.partition === partition)) continue;
      reads = true;
      if (sub.kind === "group" || sub.position < highWatermark) void this.deliver(key, committed);
    }
    return reads;
  }

  /**
   * Sends a subscription's records from its position while it has credits, in
   * offset order (one delivery at a time per subscription; a request meanwhile
   * runs once more afterwards). Bounded: at most DELIVERY_FRAMES_MAX frames a run.
   * A tail standing at the start of `committed` sends those instead of fetching.
   */
  async deliver(key: string, committed: CommittedRecords | null = null): Promise<void> {
    if (this.delivering.has(key)) {
      this.redeliver.add(key);
      return;
    }
    this.delivering.add(key);
    const port = this.port;
    try {
      for (let frames = 0; frames < DELIVERY_FRAMES_MAX; frames++) {
        const sub = this.all.get(key);
        if (!sub || sub.credits <= 0) return;
        // Pushes too are reads: checked with the rights of now, and charged to the fetch quota.
        const identity = port.identity();
        const pending = port.rights();
        const rights = pending === null ? null : await pending;
        if (sub.kind === "tail") authorize(rights, "topic", sub.topic, "read");
        const fetchBytes = identity === null ? undefined : (await bucketsOf(port.env, identity))?.fetchBytes;
        const allowed = fetchBytes?.check();
        if (allowed && !allowed.ok) {
          setTimeout(() => void this.deliver(key), allowed.retryAfterS * 1000);
          return;
        }
        const maxRecords = Math.min(sub.credits, WS_PUSH_RECORDS_MAX);
        const got = takeCommitted(sub, committed, maxRecords) ?? (await port.fetch(sub, maxRecords, rights));
        committed = null;
        if (this.all.get(key) !== sub) return; // unsubscribed meanwhile
        if (!got.ok) {
          if (AUTHORIZATION_FAILURES.includes(got.error.code)) await this.end(key, got.error);
          else port.sendError(sub.id, got.error);
          return;
        }
        if (got.value.count === 0) return;
        const frame = `{"op":"records","subscription":${JSON.stringify(sub.id)},"records":[${got.value.records}]}`;
        port.send(frame);
        fetchBytes?.charge(frame.length);
        sub.credits -= got.value.count;
        this.saveSoon(key);
        // The next move of the high watermark notifies again: no fetch to find nothing.
        if (got.value.caughtUp) return;
      }
    } catch (error) {
      const sub = this.all.get(key);
      if (error instanceof EdgelogError) {
        if (AUTHORIZATION_FAILURES.includes(error.info.code)) await this.end(key, error.info);
        else port.sendError(sub?.id ?? null, error.info);
        if (error.info.code === "UNAUTHENTICATED") port.close(CLOSE_POLICY, "credential expired or revoked");
      } else console.error("delivery failed", error);
    } finally {
      this.delivering.delete(key);
      if (this.redeliver.delete(key)) void this.deliver(key);
    }
  }

  /** Ends a subscription whose reader lost the right to read it: the error says why, a group member leaves. */
  private async end(key: string, error: ErrorInfo): Promise<void> {
    const sub = this.remove(key);
    if (!sub) return;
    this.port.sendError(sub.id, error);
    if (sub.kind === "group")
      await consumerGroup(this.port.env, sub.group)
        .leave(sub.memberId)
        .catch(() => undefined);
    await this.syncWatches().catch(() => undefined);
  }
}
