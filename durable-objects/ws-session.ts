import { DurableObject } from "cloudflare:workers";
import type { Rights } from "../core/acl";
import { EdgelogError, type ErrorInfo, errorInfo, statusOf } from "../core/errors";
import {
  WS_FRAME_BYTES_MAX,
  WS_FRAMES_BURST,
  WS_FRAMES_PER_SECOND,
  WS_NON_JSON_FRAMES_MAX,
  WS_PUSH_BYTES_MAX,
} from "../core/limits";
import { TokenBucket } from "../core/token-bucket";
import { isCompacted } from "../core/topic-config";
import {
  type FrameId,
  frameId,
  type GroupSubscribe,
  type ProduceFrame,
  parseFrame,
  type TailSubscribe,
} from "../schemas/frames";
import { parseProduceRequest } from "../schemas/produce";
import { authMode, authorize, type Identity, rightsOf, unauthenticated } from "./authorizer";
import type { CommittedRecords } from "./contract";
import type { Env } from "./env";
import { startProduce } from "./produce-path";
import { bucketsOf, enforce } from "./quotas";
import { runMigrations } from "./sql-migrations";
import { TopicCache } from "./topic-cache";
import { WsGroupMember } from "./ws-group-member";
import { CLOSE_POLICY, type SessionPort, Subscriptions } from "./ws-subscriptions";
import { fetchTail, startTail } from "./ws-tail";

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

/** The identity the gateway verified on the upgrade (absent with EDGELOG_AUTH=none). */
type Attachment = { nonJson: number; identity: Identity | null };

/** Request header by which the gateway tells a new session who opened it (set only by the gateway). */
export const IDENTITY_HEADER = "x-edgelog-identity";

export class WsSession extends DurableObject<Env> {
  private readonly topics = new TopicCache();
  private readonly subs: Subscriptions;
  private readonly member: WsGroupMember;
  /** Frames the client may send (memory only: a hibernated socket starts with a full bucket); tests inject a clock. */
  private frames = new TokenBucket(WS_FRAMES_PER_SECOND, WS_FRAMES_BURST);

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const port: SessionPort = {
      env,
      topics: this.topics,
      sessionId: ctx.id.toString(),
      send: (frame) => this.send(frame),
      sendError: (id, error) => this.sendError(id, error),
      identity: () => this.identity(),
      rights: () => (authMode(this.env) === "none" ? null : this.rights()),
      close: (code, reason) => this.socket()?.close(code, reason),
      fetch: (sub, maxRecords, rights) =>
        sub.kind === "tail"
          ? fetchTail(port, sub, maxRecords, WS_PUSH_BYTES_MAX)
          : this.member.poll(sub, maxRecords, WS_PUSH_BYTES_MAX, rights),
    };
    this.subs = new Subscriptions(port, ctx.storage.sql);
    this.member = new WsGroupMember(port, this.subs);
    this.port = port;
    ctx.blockConcurrencyWhile(async () => {
      try {
        runMigrations(ctx.storage.sql, MIGRATIONS);
        this.subs.load();
      } catch (error) {
        console.error("WsSession failed to load", error);
      }
    });
  }

  private readonly port: SessionPort;

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

  /** The frame protocol: rate limit, size limit, JSON, then one frame type's handler. */
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
      else if (frame.op === "credit") this.subs.credit(frame.subscription, frame.credits);
      else if (frame.op === "unsubscribe") await this.subs.unsubscribe(frame.id);
      else if (frame.op === "commit") await this.member.commit(frame, rights);
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

  /** The socket is gone: stop every subscription and forget this session. */
  private async closeSession(): Promise<void> {
    await this.subs.closeAll();
    await this.ctx.storage.deleteAll();
  }

  private async subscribe(frame: TailSubscribe, rights: Rights): Promise<void> {
    authorize(rights, "topic", frame.topic, "read");
    const key = JSON.stringify(frame.id);
    this.subs.reserve(key, null);
    try {
      await startTail(this.port, this.subs, key, frame);
    } finally {
      this.subs.release(key);
    }
  }

  /** Joins a group as a member whose assignments and records are pushed to this socket. */
  private async subscribeGroup(frame: GroupSubscribe, rights: Rights): Promise<void> {
    authorize(rights, "group", frame.group, "read");
    for (const topic of frame.join.topics) authorize(rights, "topic", topic, "read");
    const key = JSON.stringify(frame.id);
    this.subs.reserve(key, frame.group);
    try {
      await this.member.join(key, frame);
    } finally {
      this.subs.release(key);
    }
  }

  /** The group reassigned partitions (called by the group). */
  async onAssignment(group: string, memberId: string): Promise<void> {
    if (!this.socket()) return;
    await this.member.onAssignment(group, memberId);
  }

  /** For the group's session check: this socket still holds that member. */
  async holdsMember(memberId: string): Promise<boolean> {
    return this.socket() !== undefined && this.member.holds(memberId);
  }

  /**
   * Called by a partition leader whose high watermark moved, with the records that
   * just passed it when there are few enough; false when this session has no socket any more.
   */
  async onHighWatermark(
    topic: string,
    partition: number,
    highWatermark: number,
    committed: CommittedRecords | null = null,
  ): Promise<boolean> {
    if (!this.socket()) return false;
    return this.subs.onHighWatermark(topic, partition, highWatermark, committed);
  }

  private async produce(frame: ProduceFrame): Promise<void> {
    const topic = await this.topics.get(this.env, frame.topic);
    const { records, producer, transactional } = parseProduceRequest(frame.body, {
      partitions: topic.partitions,
      maxMessageBytes: topic.configs["max.message.bytes"],
      keyRequired: isCompacted(topic.configs),
    });
    const produced = startProduce(this.env, this.topics, topic, records, frame.acks, producer, {
      transactional,
    });
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
