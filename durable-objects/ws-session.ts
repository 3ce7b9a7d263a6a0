import { DurableObject } from "cloudflare:workers";
import type { Rights } from "../core/acl";
import { EdgelogError, type ErrorInfo, errorInfo, ok, type Result, statusOf } from "../core/errors";
import {
  WS_CREDITS_MAX,
  WS_FRAME_BYTES_MAX,
  WS_FRAMES_BURST,
  WS_FRAMES_PER_SECOND,
  WS_NON_JSON_FRAMES_MAX,
  WS_PUSH_RECORDS_MAX,
  WS_SUBSCRIPTIONS_MAX,
} from "../core/limits";
import { parsePartitionKey, partitionKey, type TopicPartition } from "../core/partition-key";
import { TokenBucket } from "../core/token-bucket";
import { isCompacted } from "../core/topic-config";
import {
  type CommitFrame,
  type FrameId,
  frameId,
  type GroupSubscribe,
  type ProduceFrame,
  parseFrame,
  type TailSubscribe,
} from "../schemas/frames";
import { parseProduceRequest } from "../schemas/produce";
import { authMode, authorize, type Identity, rightsOf, unauthenticated } from "./authorizer";
import type { Env } from "./env";
import { callLeader, callPartitionLeader, LEADER_CALL_SLACK_MS } from "./leader-call";
import { startProduce } from "./produce-path";
import { bucketsOf, enforce } from "./quotas";
import { runMigrations } from "./sql-migrations";
import { consumerGroup } from "./stubs";
import { TopicCache } from "./topic-cache";

/**
 * One client WebSocket (`GET /v1/ws`): the Worker hands every upgrade to a new
 * WsSession, which accepts it with the Hibernation API, so an idle socket costs
 * nothing. A socket holds partition tails (pushed, never polled: the partition
 * leader calls `onHighWatermark` when its high watermark moves, and the session
 * reads and sends what the subscription's credits allow) and produce requests.
 * Subscriptions live in the session's SQLite, so they survive hibernation.
 */

const MIGRATIONS = [
  `CREATE TABLE subscriptions (
     id TEXT PRIMARY KEY,
     topic TEXT NOT NULL,
     partition INTEGER NOT NULL,
     topic_id TEXT NOT NULL,
     position INTEGER NOT NULL,
     credits INTEGER NOT NULL
   );`,
  // Tails and group memberships in one table: the subscription as JSON, keyed by its frame id.
  `DROP TABLE subscriptions;
   CREATE TABLE subscriptions (id TEXT PRIMARY KEY, data TEXT NOT NULL);`,
];

/** Frames one delivery run sends at most before yielding (a later notification or credit continues). */
const DELIVERY_FRAMES_MAX = 100;
/** Bytes one push frame carries at most: half the frame limit leaves room for the envelope. */
const PUSH_FRAME_BYTES_MAX = WS_FRAME_BYTES_MAX / 2;
/** WebSocket close code for a policy violation (API.md: three non-JSON frames in a row). */
const CLOSE_POLICY = 1008;

type TailSubscription = {
  kind: "tail";
  id: FrameId;
  topic: string;
  partition: number;
  topicId: string;
  position: number;
  credits: number;
};
/** The socket is a member of a group: the group keeps its positions; pushes come through its poll. */
type GroupSubscription = {
  kind: "group";
  id: FrameId;
  group: string;
  memberId: string;
  generation: number;
  assignments: TopicPartition[];
  credits: number;
};
type Subscription = TailSubscription | GroupSubscription;

/** The partitions a subscription reads (a tail one, a group member its assignment). */
function partitionsOf(sub: Subscription): TopicPartition[] {
  return sub.kind === "tail" ? [{ topic: sub.topic, partition: sub.partition }] : sub.assignments;
}
/**
 * UTF-8 bytes of a frame, which the limit counts (not UTF-16 units). A text frame
 * short enough to be under the limit whatever its characters (at most 3 bytes a
 * unit) is not encoded: the hot path pays nothing.
 */
function frameBytes(message: string | ArrayBuffer): number {
  if (typeof message !== "string") return message.byteLength;
  if (message.length * 3 <= WS_FRAME_BYTES_MAX) return message.length;
  return new TextEncoder().encode(message).byteLength;
}

const refKey = (tp: TopicPartition) => partitionKey(tp.topic, tp.partition);
/** The identity the gateway verified on the upgrade (absent with EDGELOG_AUTH=none). */
type Attachment = { nonJson: number; identity: Identity | null };

/** Request header by which the gateway tells a new session who opened it (set only by the gateway). */
export const IDENTITY_HEADER = "x-edgelog-identity";

/** A refusal that ends a subscription: its reader may no longer read what it reads. */
const AUTHORIZATION_FAILURES: readonly string[] = [
  "TOPIC_AUTHORIZATION_FAILED",
  "GROUP_AUTHORIZATION_FAILED",
];

export class WsSession extends DurableObject<Env> {
  private readonly topics = new TopicCache();
  private subscriptions = new Map<string, Subscription>();
  private readonly delivering = new Set<string>();
  private readonly redeliver = new Set<string>();
  /** Partitions whose leaders notify this session. */
  private readonly watched = new Set<string>();
  /** Subscriptions being set up (id → group, null for a tail): counted by the limits before they exist. */
  private readonly subscribing = new Map<string, string | null>();
  /** Frames the client may send (memory only: a hibernated socket starts with a full bucket); tests inject a clock. */
  private frames = new TokenBucket(WS_FRAMES_PER_SECOND, WS_FRAMES_BURST);

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      try {
        runMigrations(ctx.storage.sql, MIGRATIONS);
        for (const row of ctx.storage.sql
          .exec<{ id: string; data: string }>("SELECT id, data FROM subscriptions")
          .toArray())
          this.subscriptions.set(row.id, JSON.parse(row.data));
        // The leaders keep their watchers durably: what the subscriptions read is already watched.
        for (const sub of this.subscriptions.values())
          for (const tp of partitionsOf(sub)) this.watched.add(refKey(tp));
      } catch (error) {
        console.error("WsSession failed to load", error);
      }
    });
  }

  /** The upgrade, forwarded by the Worker. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket")
      return Response.json(
        { error: errorInfo("INVALID_REQUEST", "GET /v1/ws needs a WebSocket upgrade") },
        { status: 400 },
      );
    const claimed = request.headers.get(IDENTITY_HEADER);
    const identity = claimed === null ? null : (JSON.parse(claimed) as Identity);
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ nonJson: 0, identity } satisfies Attachment);
    return new Response(null, { status: 101, webSocket: client });
  }

  private socket(): WebSocket | undefined {
    return this.ctx.getWebSockets()[0];
  }

  private send(frame: string): void {
    try {
      this.socket()?.send(frame);
    } catch {
      // the socket closed meanwhile: webSocketClose cleans up
    }
  }

  private sendError(id: FrameId | null, error: ErrorInfo): void {
    this.send(JSON.stringify({ op: "error", id, error }));
  }

  private identity(): Identity | null {
    const socket = this.socket();
    return socket ? (socket.deserializeAttachment() as Attachment).identity : null;
  }

  /** What the socket's identity may do now (401 once its key is revoked or its token expired). */
  private async rights(): Promise<Rights> {
    if (authMode(this.env) === "none") return null;
    const identity = this.identity();
    if (identity === null) throw unauthenticated("this socket was opened without a credential");
    return rightsOf(this.env, identity);
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (!this.frames.take()) {
      // A burst's worth of refused frames: the client is not listening to the errors, so close.
      if (this.frames.overdrawnBy > this.frames.burst) ws.close(CLOSE_POLICY, "frame rate limit exceeded");
      this.sendError(
        null,
        errorInfo(
          "THROTTLING_QUOTA_EXCEEDED",
          `more than ${WS_FRAMES_PER_SECOND} frames a second; wait ${this.frames.retryAfterS} s`,
        ),
      );
      return;
    }
    const bytes = frameBytes(message);
    if (bytes > WS_FRAME_BYTES_MAX) {
      this.sendError(
        null,
        errorInfo("MESSAGE_TOO_LARGE", `frame is ${bytes} bytes; at most ${WS_FRAME_BYTES_MAX} are accepted`),
      );
      return;
    }
    const attachment = ws.deserializeAttachment() as Attachment;
    let parsed: unknown;
    try {
      if (typeof message !== "string") throw new Error("binary frame");
      parsed = JSON.parse(message);
    } catch {
      const nonJson = attachment.nonJson + 1;
      ws.serializeAttachment({ ...attachment, nonJson } satisfies Attachment);
      this.sendError(null, errorInfo("INVALID_REQUEST", "frames must be JSON text objects"));
      if (nonJson >= WS_NON_JSON_FRAMES_MAX)
        ws.close(CLOSE_POLICY, `${WS_NON_JSON_FRAMES_MAX} frames in a row were not JSON`);
      return;
    }
    if (attachment.nonJson !== 0) ws.serializeAttachment({ ...attachment, nonJson: 0 } satisfies Attachment);
    const id = idOf(parsed);
    try {
      // Every frame is checked as the identity that opened the socket, with its rights of now.
      // (Without credentials nothing is awaited here: an open gateway's frames keep their pace.)
      const rights = authMode(this.env) === "none" ? null : await this.rights();
      const quota = attachment.identity === null ? null : await bucketsOf(this.env, attachment.identity);
      if (quota?.requests) enforce(quota.requests.take(1), "requests/s");
      const frame = parseFrame(parsed);
      if (frame.op === "subscribe" && "group" in frame) await this.subscribeGroup(frame, rights);
      else if (frame.op === "subscribe") await this.subscribe(frame, rights);
      else if (frame.op === "credit") this.credit(frame.subscription, frame.credits);
      else if (frame.op === "unsubscribe") await this.unsubscribe(frame.id);
      else if (frame.op === "commit") await this.commit(frame, rights);
      else {
        authorize(rights, "topic", frame.topic, "write");
        if (quota?.produceBytes) enforce(quota.produceBytes.take(bytes), "produce bytes/s");
        await this.produce(frame);
      }
    } catch (error) {
      if (error instanceof EdgelogError) {
        this.sendError(id, error.info);
        if (error.info.code === "UNAUTHENTICATED") ws.close(CLOSE_POLICY, "credential expired or revoked");
      } else {
        console.error("WebSocket frame failed", error);
        this.sendError(
          id,
          errorInfo("UNKNOWN_SERVER_ERROR", "internal error; this is a bug, please report it"),
        );
      }
    }
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    await this.closeSession();
    try {
      ws.close(code === 1005 ? 1000 : code, "closed");
    } catch {
      // already closed
    }
  }

  override async webSocketError(): Promise<void> {
    await this.closeSession();
  }

  /** The socket is gone: stop every tail and forget this session. */
  private async closeSession(): Promise<void> {
    const subs = [...this.subscriptions.values()];
    this.subscriptions.clear();
    // A closed socket is a member leaving its group (API.md): the group rebalances now.
    await Promise.all(
      subs.map((s) =>
        s.kind === "group"
          ? consumerGroup(this.env, s.group)
              .leave(s.memberId)
              .catch(() => undefined)
          : undefined,
      ),
    );
    await this.syncWatches().catch(() => undefined);
    await this.ctx.storage.deleteAll();
  }

  // ---- tails ----

  private async subscribe(frame: TailSubscribe, rights: Rights): Promise<void> {
    authorize(rights, "topic", frame.topic, "read");
    const key = JSON.stringify(frame.id);
    this.reserveSubscription(key, null);
    try {
      await this.startTail(key, frame);
    } finally {
      this.subscribing.delete(key);
    }
  }

  private async startTail(key: string, frame: TailSubscribe): Promise<void> {
    const topic = await this.topics.get(this.env, frame.topic);
    if (frame.partition >= topic.partitions)
      throw new EdgelogError(
        "UNKNOWN_TOPIC_OR_PARTITION",
        `partition ${frame.partition} does not exist; '${topic.name}' has ${topic.partitions}`,
      );
    const position =
      typeof frame.offset === "number"
        ? { kind: "offset" as const, offset: frame.offset }
        : { kind: frame.offset };
    const resolved = await callLeader(
      this.env,
      this.topics,
      { topic, partition: frame.partition, timeoutMs: LEADER_CALL_SLACK_MS, retrySafe: true },
      (leader, epoch) => leader.resolveOffset(topic.topicId, epoch, position),
    );
    if (!resolved.ok) throw new EdgelogError(resolved.error.code, resolved.error.message, resolved.error);
    const sub: TailSubscription = {
      kind: "tail",
      id: frame.id,
      topic: topic.name,
      partition: frame.partition,
      topicId: topic.topicId,
      position: resolved.value.offset,
      credits: frame.credits,
    };
    this.subscriptions.set(key, sub);
    this.save(sub);
    try {
      await this.syncWatches();
    } catch (error) {
      this.subscriptions.delete(key);
      this.ctx.storage.sql.exec("DELETE FROM subscriptions WHERE id = ?", key);
      throw error;
    }
    this.send(JSON.stringify({ op: "subscribed", id: frame.id, nextOffset: sub.position }));
    void this.deliver(key);
  }

  /**
   * Reserves a subscription id (and, for a group, the group) before the first await,
   * so frames handled while this one waits see it: the limit and the duplicate checks
   * hold however many subscribes arrive at once. The caller releases it when done.
   */
  private reserveSubscription(key: string, group: string | null): void {
    if (this.subscriptions.has(key) || this.subscribing.has(key))
      throw new EdgelogError("INVALID_REQUEST", `subscription id ${key} is already in use on this socket`);
    if (this.subscriptions.size + this.subscribing.size >= WS_SUBSCRIPTIONS_MAX)
      throw new EdgelogError(
        "INVALID_REQUEST",
        `a socket holds at most ${WS_SUBSCRIPTIONS_MAX} subscriptions`,
      );
    if (
      group !== null &&
      ([...this.subscriptions.values()].some((s) => s.kind === "group" && s.group === group) ||
        [...this.subscribing.values()].includes(group))
    )
      throw new EdgelogError("INVALID_REQUEST", `this socket is already a member of group '${group}'`);
    this.subscribing.set(key, group);
  }

  /** Joins a group as a member whose assignments and records are pushed to this socket. */
  private async subscribeGroup(frame: GroupSubscribe, rights: Rights): Promise<void> {
    authorize(rights, "group", frame.group, "read");
    for (const topic of frame.join.topics) authorize(rights, "topic", topic, "read");
    const key = JSON.stringify(frame.id);
    this.reserveSubscription(key, frame.group);
    try {
      await this.joinGroup(key, frame);
    } finally {
      this.subscribing.delete(key);
    }
  }

  private async joinGroup(key: string, frame: GroupSubscribe): Promise<void> {
    const joined = await consumerGroup(this.env, frame.group).join(
      frame.group,
      frame.join,
      this.ctx.id.toString(),
    );
    if (!joined.ok) throw new EdgelogError(joined.error.code, joined.error.message);
    const sub: GroupSubscription = {
      kind: "group",
      id: frame.id,
      group: frame.group,
      memberId: joined.value.memberId,
      generation: joined.value.generation,
      assignments: joined.value.assignments,
      credits: frame.credits,
    };
    this.subscriptions.set(key, sub);
    this.save(sub);
    this.sendAssigned(sub);
    await this.syncWatches().catch((error) => this.sendError(sub.id, errorOf(error)));
    void this.deliver(key);
  }

  private sendAssigned(sub: GroupSubscription): void {
    this.send(
      JSON.stringify({
        op: "assigned",
        id: sub.id,
        memberId: sub.memberId,
        generation: sub.generation,
        assignments: sub.assignments,
      }),
    );
  }

  /** The group reassigned partitions: tell the client, follow the new partitions, deliver. */
  async onAssignment(group: string, memberId: string): Promise<void> {
    const entry = [...this.subscriptions].find(
      ([, s]) => s.kind === "group" && s.group === group && s.memberId === memberId,
    );
    if (!entry || !this.socket()) return;
    const [key, sub] = entry as [string, GroupSubscription];
    const hb = await consumerGroup(this.env, group).heartbeat(memberId);
    if (!hb.ok) {
      this.sendError(sub.id, hb.error);
      return;
    }
    // Pushes and heartbeats can finish out of order: never go back to an older generation.
    if (hb.value.generation < sub.generation) return;
    if (
      hb.value.generation === sub.generation &&
      JSON.stringify(hb.value.assignments) === JSON.stringify(sub.assignments)
    )
      return;
    sub.generation = hb.value.generation;
    sub.assignments = hb.value.assignments;
    this.save(sub);
    this.sendAssigned(sub);
    await this.syncWatches().catch((error) => this.sendError(sub.id, errorOf(error)));
    void this.deliver(key);
  }

  /** For the group's session check: this socket still holds that member. */
  async holdsMember(memberId: string): Promise<boolean> {
    if (!this.socket()) return false;
    return [...this.subscriptions.values()].some((s) => s.kind === "group" && s.memberId === memberId);
  }

  private async commit(frame: CommitFrame, rights: Rights): Promise<void> {
    const groups = [...this.subscriptions.values()].filter((s): s is GroupSubscription => s.kind === "group");
    const sub =
      frame.subscription === null
        ? groups.length === 1
          ? groups[0]
          : undefined
        : groups.find((g) => JSON.stringify(g.id) === JSON.stringify(frame.subscription));
    if (!sub)
      throw new EdgelogError(
        "INVALID_REQUEST",
        groups.length === 0
          ? "commit needs a group subscription on this socket"
          : "name the group subscription to commit for",
      );
    authorize(rights, "group", sub.group, "read");
    for (const o of frame.offsets) authorize(rights, "topic", o.topic, "read");
    const committed = await consumerGroup(this.env, sub.group).commit({
      memberId: sub.memberId,
      generation: sub.generation,
      offsets: frame.offsets,
    });
    if (!committed.ok) throw new EdgelogError(committed.error.code, committed.error.message, committed.error);
    this.send(JSON.stringify({ op: "committed", id: frame.id }));
  }

  /**
   * Makes the set of watched partition leaders match what the subscriptions read:
   * watch the new ones, unwatch the ones no subscription reads any more.
   */
  private async syncWatches(): Promise<void> {
    const wanted = new Map<string, TopicPartition>();
    for (const sub of this.subscriptions.values())
      for (const tp of partitionsOf(sub)) wanted.set(refKey(tp), tp);
    const me = this.ctx.id.toString();
    const changes: Promise<void>[] = [];
    for (const [key, tp] of wanted) {
      if (this.watched.has(key)) continue;
      changes.push(
        (async () => {
          const watched = await callPartitionLeader(
            this.env,
            this.topics,
            tp,
            LEADER_CALL_SLACK_MS,
            (leader, _epoch, topic) => leader.watch(topic.topicId, me),
          );
          if (!watched.ok) throw new EdgelogError(watched.error.code, watched.error.message);
          this.watched.add(key);
        })(),
      );
    }
    for (const key of [...this.watched]) {
      if (wanted.has(key)) continue;
      this.watched.delete(key);
      const { topic: topicName, partition } = parsePartitionKey(key);
      changes.push(
        (async () => {
          await callPartitionLeader(
            this.env,
            this.topics,
            { topic: topicName!, partition: Number(partition) },
            LEADER_CALL_SLACK_MS,
            async (leader) => {
              await leader.unwatch(me);
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

  private async unsubscribe(id: FrameId): Promise<void> {
    const key = JSON.stringify(id);
    const sub = this.subscriptions.get(key);
    if (!sub) throw new EdgelogError("INVALID_REQUEST", `no subscription ${key} on this socket`);
    this.subscriptions.delete(key);
    this.ctx.storage.sql.exec("DELETE FROM subscriptions WHERE id = ?", key);
    if (sub.kind === "group") await consumerGroup(this.env, sub.group).leave(sub.memberId);
    await this.syncWatches().catch(() => undefined);
    this.send(JSON.stringify({ op: "unsubscribed", id }));
  }

  private credit(subscription: FrameId | null, credits: number): void {
    let sub: Subscription | undefined;
    if (subscription === null) {
      if (this.subscriptions.size !== 1)
        throw new EdgelogError(
          "INVALID_REQUEST",
          "name the subscription: this socket has more than one (or none)",
        );
      sub = [...this.subscriptions.values()][0];
    } else sub = this.subscriptions.get(JSON.stringify(subscription));
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

  private save(sub: Subscription): void {
    this.ctx.storage.sql.exec(
      "INSERT OR REPLACE INTO subscriptions (id, data) VALUES (?, ?)",
      JSON.stringify(sub.id),
      JSON.stringify(sub),
    );
  }

  /** Called by a partition leader whose high watermark moved; false when this session has no socket any more. */
  async onHighWatermark(topic: string, partition: number, highWatermark: number): Promise<boolean> {
    if (!this.socket()) return false;
    let reads = false;
    for (const [key, sub] of this.subscriptions) {
      if (!partitionsOf(sub).some((tp) => tp.topic === topic && tp.partition === partition)) continue;
      reads = true;
      if (sub.kind === "group" || sub.position < highWatermark) void this.deliver(key);
    }
    return reads;
  }

  /**
   * Sends a subscription's records from its position while it has credits, in
   * offset order (one delivery at a time per subscription; a request meanwhile
   * runs once more afterwards). Bounded: at most DELIVERY_FRAMES_MAX frames a run.
   */
  private async deliver(key: string): Promise<void> {
    if (this.delivering.has(key)) {
      this.redeliver.add(key);
      return;
    }
    this.delivering.add(key);
    try {
      for (let frames = 0; frames < DELIVERY_FRAMES_MAX; frames++) {
        const sub = this.subscriptions.get(key);
        if (!sub || sub.credits <= 0) return;
        // Pushes too are reads: checked with the rights of now, and charged to the fetch quota.
        const identity = this.identity();
        const rights = authMode(this.env) === "none" ? null : await this.rights();
        if (sub.kind === "tail") authorize(rights, "topic", sub.topic, "read");
        const fetchBytes = identity === null ? undefined : (await bucketsOf(this.env, identity))?.fetchBytes;
        const allowed = fetchBytes?.check();
        if (allowed && !allowed.ok) {
          setTimeout(() => void this.deliver(key), allowed.retryAfterS * 1000);
          return;
        }
        const maxRecords = Math.min(sub.credits, WS_PUSH_RECORDS_MAX);
        const got =
          sub.kind === "tail"
            ? await this.fetchTail(sub, maxRecords)
            : await this.pollGroup(sub, maxRecords, rights);
        if (this.subscriptions.get(key) !== sub) return; // unsubscribed meanwhile
        if (!got.ok) {
          if (AUTHORIZATION_FAILURES.includes(got.error.code)) await this.endSubscription(key, got.error);
          else this.sendError(sub.id, got.error);
          return;
        }
        if (got.value.count === 0) return;
        const frame = `{"op":"records","subscription":${JSON.stringify(sub.id)},"records":[${got.value.records}]}`;
        this.send(frame);
        fetchBytes?.charge(frame.length);
        sub.credits -= got.value.count;
        this.save(sub);
      }
    } catch (error) {
      const sub = this.subscriptions.get(key);
      if (error instanceof EdgelogError) {
        if (AUTHORIZATION_FAILURES.includes(error.info.code)) await this.endSubscription(key, error.info);
        else this.sendError(sub?.id ?? null, error.info);
        if (error.info.code === "UNAUTHENTICATED")
          this.socket()?.close(CLOSE_POLICY, "credential expired or revoked");
      } else console.error("delivery failed", error);
    } finally {
      this.delivering.delete(key);
      if (this.redeliver.delete(key)) void this.deliver(key);
    }
  }

  /** Ends a subscription whose reader lost the right to read it: the error says why, a group member leaves. */
  private async endSubscription(key: string, error: ErrorInfo): Promise<void> {
    const sub = this.subscriptions.get(key);
    if (!sub) return;
    this.subscriptions.delete(key);
    this.ctx.storage.sql.exec("DELETE FROM subscriptions WHERE id = ?", key);
    this.sendError(sub.id, error);
    if (sub.kind === "group")
      await consumerGroup(this.env, sub.group)
        .leave(sub.memberId)
        .catch(() => undefined);
    await this.syncWatches().catch(() => undefined);
  }

  private async fetchTail(
    sub: TailSubscription,
    maxRecords: number,
  ): Promise<Result<{ records: string; count: number }>> {
    const result = await callPartitionLeader(
      this.env,
      this.topics,
      sub,
      LEADER_CALL_SLACK_MS,
      (leader, epoch) =>
        leader.fetchForConsumer({
          topicId: sub.topicId,
          leaderEpoch: epoch,
          position: { kind: "offset", offset: sub.position },
          maxRecords,
          maxBytes: PUSH_FRAME_BYTES_MAX,
          waitMs: 0,
        }),
    );
    if (result.ok) sub.position = result.value.nextOffset;
    return result;
  }

  /** Through the group's poll: it keeps the member's positions, so a group member's records are never read twice. */
  private async pollGroup(
    sub: GroupSubscription,
    maxRecords: number,
    rights: Rights,
  ): Promise<Result<{ records: string; count: number }>> {
    authorize(rights, "group", sub.group, "read");
    const polled = await consumerGroup(this.env, sub.group).pollRecords(
      sub.memberId,
      { maxRecords, maxBytes: PUSH_FRAME_BYTES_MAX, waitMs: 0 },
      rights,
    );
    // A newer generation seen here is announced through onAssignment (an `assigned` frame first).
    if (polled.ok && polled.value.generation > sub.generation)
      void this.onAssignment(sub.group, sub.memberId);
    return polled;
  }

  // ---- produce ----

  private async produce(frame: ProduceFrame): Promise<void> {
    const topic = await this.topics.get(this.env, frame.topic);
    const { records, producer } = parseProduceRequest(frame.body, {
      partitions: topic.partitions,
      maxMessageBytes: topic.configs["max.message.bytes"],
      keyRequired: isCompacted(topic.configs),
    });
    const produced = startProduce(this.env, this.topics, topic, records, frame.acks, producer);
    if (frame.acks === "0") {
      // Nothing is promised for acks=0: answer now, append meanwhile.
      this.send(JSON.stringify({ op: "produced", id: frame.id, accepted: records.length }));
      void produced.catch(() => undefined);
      return;
    }
    const { results, firstError } = await produced;
    const status = firstError ? statusOf(firstError.code) : 200;
    this.send(JSON.stringify({ op: "produced", id: frame.id, status, results }));
  }
}

/** The request id of a frame that failed to parse, when it has a usable one. */
function idOf(frame: unknown): FrameId | null {
  if (typeof frame !== "object" || frame === null) return null;
  try {
    return frameId((frame as Record<string, unknown>).id, "id");
  } catch {
    return null;
  }
}

function errorOf(error: unknown): ErrorInfo {
  return error instanceof EdgelogError ? error.info : errorInfo("LEADER_NOT_AVAILABLE", String(error));
}
