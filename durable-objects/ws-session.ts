import { DurableObject } from "cloudflare:workers";
import { EdgelogError, type ErrorInfo, errorInfo, statusOf } from "../core/errors";
import {
  WS_CREDITS_MAX,
  WS_FRAME_BYTES_MAX,
  WS_FRAMES_PER_SECOND,
  WS_NON_JSON_FRAMES_MAX,
  WS_PUSH_RECORDS_MAX,
  WS_SUBSCRIPTIONS_MAX,
} from "../core/limits";
import { type FrameId, frameId, type ProduceFrame, parseFrame, type TailSubscribe } from "../schemas/frames";
import { parseProduceRequest } from "../schemas/produce";
import type { Env } from "./env";
import { callLeader, LEADER_CALL_SLACK_MS } from "./leader-call";
import { appendToLeader, groupByPartition, produceResults } from "./produce-path";
import { runMigrations } from "./sql-migrations";
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
];

/** WebSocket close code for a policy violation (API.md: three non-JSON frames in a row). */
const CLOSE_POLICY = 1008;

type Subscription = {
  id: FrameId;
  topic: string;
  partition: number;
  topicId: string;
  position: number;
  credits: number;
};
type Attachment = { nonJson: number };

export class WsSession extends DurableObject<Env> {
  private readonly topics = new TopicCache();
  private subscriptions = new Map<string, Subscription>();
  private readonly delivering = new Set<string>();
  private readonly redeliver = new Set<string>();
  /** Token bucket of frames (memory only: a hibernated socket starts with a full bucket). */
  private tokens = 2 * WS_FRAMES_PER_SECOND;
  private tokensAtMs = Date.now();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      try {
        runMigrations(ctx.storage.sql, MIGRATIONS);
        for (const row of ctx.storage.sql
          .exec<{
            id: string;
            topic: string;
            partition: number;
            topic_id: string;
            position: number;
            credits: number;
          }>("SELECT * FROM subscriptions")
          .toArray())
          this.subscriptions.set(row.id, {
            id: JSON.parse(row.id),
            topic: row.topic,
            partition: row.partition,
            topicId: row.topic_id,
            position: row.position,
            credits: row.credits,
          });
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
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ nonJson: 0 } satisfies Attachment);
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

  private takeToken(): boolean {
    const now = Date.now();
    this.tokens = Math.min(
      2 * WS_FRAMES_PER_SECOND,
      this.tokens + ((now - this.tokensAtMs) * WS_FRAMES_PER_SECOND) / 1000,
    );
    this.tokensAtMs = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (!this.takeToken()) {
      // Past twice the burst the client is not listening to the errors: close instead.
      if (this.tokens < -2 * WS_FRAMES_PER_SECOND) ws.close(CLOSE_POLICY, "frame rate limit exceeded");
      this.tokens -= 1;
      this.sendError(
        null,
        errorInfo(
          "THROTTLING_QUOTA_EXCEEDED",
          `more than ${WS_FRAMES_PER_SECOND} frames a second; slow down`,
        ),
      );
      return;
    }
    const bytes = typeof message === "string" ? message.length : message.byteLength;
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
      ws.serializeAttachment({ nonJson } satisfies Attachment);
      this.sendError(null, errorInfo("INVALID_REQUEST", "frames must be JSON text objects"));
      if (nonJson >= WS_NON_JSON_FRAMES_MAX)
        ws.close(CLOSE_POLICY, `${WS_NON_JSON_FRAMES_MAX} frames in a row were not JSON`);
      return;
    }
    if (attachment.nonJson !== 0) ws.serializeAttachment({ nonJson: 0 } satisfies Attachment);
    const id = idOf(parsed);
    try {
      const frame = parseFrame(parsed);
      if (frame.op === "subscribe") await this.subscribe(frame);
      else if (frame.op === "credit") this.credit(frame.subscription, frame.credits);
      else if (frame.op === "unsubscribe") await this.unsubscribe(frame.id);
      else await this.produce(frame);
    } catch (error) {
      if (error instanceof EdgelogError) this.sendError(id, error.info);
      else {
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
    await Promise.all(subs.map((s) => this.unwatch(s).catch(() => undefined)));
    await this.ctx.storage.deleteAll();
  }

  // ---- tails ----

  private async subscribe(frame: TailSubscribe): Promise<void> {
    const key = JSON.stringify(frame.id);
    if (this.subscriptions.has(key))
      throw new EdgelogError("INVALID_REQUEST", `subscription id ${key} is already in use on this socket`);
    if (this.subscriptions.size >= WS_SUBSCRIPTIONS_MAX)
      throw new EdgelogError(
        "INVALID_REQUEST",
        `a socket holds at most ${WS_SUBSCRIPTIONS_MAX} subscriptions`,
      );
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
      topic,
      frame.partition,
      LEADER_CALL_SLACK_MS,
      true,
      (leader, epoch) => leader.resolveOffset(topic.topicId, epoch, position),
    );
    if (!resolved.ok) throw new EdgelogError(resolved.error.code, resolved.error.message, resolved.error);
    const watched = await callLeader(
      this.env,
      this.topics,
      topic,
      frame.partition,
      LEADER_CALL_SLACK_MS,
      true,
      (leader) => leader.watch(topic.topicId, this.ctx.id.toString()),
    );
    if (!watched.ok) throw new EdgelogError(watched.error.code, watched.error.message);
    if (this.subscriptions.has(key))
      throw new EdgelogError("INVALID_REQUEST", `subscription id ${key} is already in use on this socket`);
    const sub: Subscription = {
      id: frame.id,
      topic: topic.name,
      partition: frame.partition,
      topicId: topic.topicId,
      position: resolved.value.offset,
      credits: frame.credits,
    };
    this.subscriptions.set(key, sub);
    this.save(sub);
    this.send(JSON.stringify({ op: "subscribed", id: frame.id, nextOffset: sub.position }));
    void this.deliver(key);
  }

  private async unsubscribe(id: FrameId): Promise<void> {
    const key = JSON.stringify(id);
    const sub = this.subscriptions.get(key);
    if (!sub) throw new EdgelogError("INVALID_REQUEST", `no subscription ${key} on this socket`);
    this.subscriptions.delete(key);
    this.ctx.storage.sql.exec("DELETE FROM subscriptions WHERE id = ?", key);
    if (![...this.subscriptions.values()].some((s) => s.topic === sub.topic && s.partition === sub.partition))
      await this.unwatch(sub);
    this.send(JSON.stringify({ op: "unsubscribed", id }));
  }

  private async unwatch(sub: Subscription): Promise<void> {
    const topic = await this.topics.get(this.env, sub.topic).catch(() => null);
    if (!topic) return;
    await callLeader(
      this.env,
      this.topics,
      topic,
      sub.partition,
      LEADER_CALL_SLACK_MS,
      true,
      async (leader) => {
        await leader.unwatch(this.ctx.id.toString());
        return { ok: true as const, value: null };
      },
    );
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
      "INSERT OR REPLACE INTO subscriptions (id, topic, partition, topic_id, position, credits) VALUES (?, ?, ?, ?, ?, ?)",
      JSON.stringify(sub.id),
      sub.topic,
      sub.partition,
      sub.topicId,
      sub.position,
      sub.credits,
    );
  }

  /** Called by a partition leader whose high watermark moved; false when this session has no socket any more. */
  async onHighWatermark(topic: string, partition: number, highWatermark: number): Promise<boolean> {
    if (!this.socket()) return false;
    for (const [key, sub] of this.subscriptions)
      if (sub.topic === topic && sub.partition === partition && sub.position < highWatermark)
        void this.deliver(key);
    return [...this.subscriptions.values()].some((s) => s.topic === topic && s.partition === partition);
  }

  /**
   * Sends a subscription's records from its position while it has credits, in
   * offset order (one delivery at a time per subscription; a request meanwhile
   * runs once more afterwards). Bounded: at most 100 frames a run.
   */
  private async deliver(key: string): Promise<void> {
    if (this.delivering.has(key)) {
      this.redeliver.add(key);
      return;
    }
    this.delivering.add(key);
    try {
      for (let frames = 0; frames < 100; frames++) {
        const sub = this.subscriptions.get(key);
        if (!sub || sub.credits <= 0) return;
        const topic = await this.topics.get(this.env, sub.topic);
        const result = await callLeader(
          this.env,
          this.topics,
          topic,
          sub.partition,
          LEADER_CALL_SLACK_MS,
          true,
          (leader, epoch) =>
            leader.readForGroup({
              topicId: sub.topicId,
              leaderEpoch: epoch,
              position: { kind: "offset", offset: sub.position },
              maxRecords: Math.min(sub.credits, WS_PUSH_RECORDS_MAX),
              maxBytes: WS_FRAME_BYTES_MAX / 2,
              waitMs: 0,
            }),
        );
        if (!this.subscriptions.has(key)) return; // unsubscribed meanwhile
        if (!result.ok) {
          this.sendError(sub.id, result.error);
          return;
        }
        if (result.value.count === 0) return;
        this.send(
          `{"op":"records","subscription":${JSON.stringify(sub.id)},"records":[${result.value.records}]}`,
        );
        sub.position = result.value.nextOffset;
        sub.credits -= result.value.count;
        this.save(sub);
      }
    } catch (error) {
      const sub = this.subscriptions.get(key);
      if (error instanceof EdgelogError) this.sendError(sub?.id ?? null, error.info);
      else console.error("delivery failed", error);
    } finally {
      this.delivering.delete(key);
      if (this.redeliver.delete(key)) void this.deliver(key);
    }
  }

  // ---- produce ----

  private async produce(frame: ProduceFrame): Promise<void> {
    const topic = await this.topics.get(this.env, frame.topic);
    const { records } = parseProduceRequest(frame.body, {
      partitions: topic.partitions,
      maxMessageBytes: topic.configs["max.message.bytes"],
    });
    const batches = groupByPartition(topic, records, Date.now());
    const appends = Promise.all(
      batches.map((b) => appendToLeader(this.env, this.topics, topic, b, frame.acks)),
    );
    if (frame.acks === "0") {
      // Nothing is promised for acks=0: answer now, append meanwhile.
      this.send(JSON.stringify({ op: "produced", id: frame.id, accepted: records.length }));
      void appends;
      return;
    }
    const answers = await appends;
    const { results, firstError } = produceResults(records.length, batches, answers);
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
