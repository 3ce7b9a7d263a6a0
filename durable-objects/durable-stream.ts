import { DurableObject } from "cloudflare:workers";
import { type ErrorCode, type ErrorInfo, errorInfo, fail, ok, type Result } from "../core/errors";
import { STREAM_FORK_BYTES_MAX, STREAM_PRODUCER_IDLE_MS, STREAM_READ_BYTES_MAX } from "../core/limits";
import { streamBody } from "../core/stream-body";
import {
  type Expiry,
  expiresAtMs,
  type ForkRequest,
  forkExpiry,
  isJsonStream,
  mediaType,
  type ProducerClaim,
  STREAM_DEFAULT_CONTENT_TYPE,
} from "../core/stream-headers";
import { jsonAppend, jsonPrefix } from "../core/stream-json";
import type { ReadFrom } from "../core/stream-offsets";
import { streamOffset } from "../core/stream-offsets";
import { checkProducer, type StreamProducerState } from "../core/stream-producers";
import type { Env } from "./env";
import { runMigrations } from "./sql-migrations";
import { durableStream } from "./stubs";

/**
 * One stream of the Durable Streams protocol (PROTOCOL.md), under /v1/stream/{name}:
 * a byte (or JSON) log in this object's SQLite, one row per append keyed by the
 * stream's length after it (its offset), with the stream's settings, its
 * idempotent producers and its forks' reference count. Each append, close and
 * create is one SQLite transaction; long-polls wait here for the next append
 * (no polling); TTL and Expires-At end the stream by alarm.
 *
 * Why an object of its own, not a one-partition topic: the protocol's offsets
 * address bytes, its appends carry any content type, its producers declare their
 * own epochs, and streams fork, close and expire; a partition holds records with
 * keys, headers and Kafka's producer protocol. docs/web-streams.md says more.
 */

const MIGRATIONS = [
  `CREATE TABLE stream_meta (id INTEGER PRIMARY KEY CHECK (id = 0), meta TEXT NOT NULL);
   CREATE TABLE stream_messages (end_position INTEGER PRIMARY KEY, data BLOB NOT NULL);
   CREATE TABLE stream_producers (id TEXT PRIMARY KEY, epoch INTEGER NOT NULL, last_seq INTEGER NOT NULL, used_at INTEGER NOT NULL);`,
];

type Meta = {
  /** A new random id per creation: ETags of a recreated stream never match the old one's. */
  instance: string;
  contentType: string;
  /** The expiry in force (a fork may inherit its source's). */
  expiry: Expiry;
  /** The expiry the creating PUT asked for: what an idempotent PUT is compared with. */
  requestedExpiry: Expiry;
  closed: boolean;
  /** The producer request that closed the stream: its repeat is a duplicate, not a conflict. */
  closedBy?: ProducerClaim;
  /** The last Stream-Seq appended with (compared as a string). */
  writerSeq?: string;
  tail: number;
  lastAccessMs: number;
  /** Deleted (or expired) while forks read it: 410 to everyone, kept until the last fork goes. */
  softDeleted: boolean;
  forks: number;
  fork?: { from: string; position: number; subOffset: number };
};

export type StreamHeaders = Record<string, string>;
/** A write's answer: its status and protocol headers, or an error with headers of its own. */
export type StreamWrite =
  | { ok: true; status: 200 | 201 | 204; headers: StreamHeaders }
  | { ok: false; error: ErrorInfo; headers: StreamHeaders };

export type CreateStream = {
  contentType: string | null;
  expiry: Expiry;
  closed: boolean;
  body: Uint8Array | null;
  /** `from` is the source stream's name. */
  fork: ForkRequest | null;
};

export type AppendStream = {
  contentType: string | null;
  body: Uint8Array | null;
  close: boolean;
  producer: ProducerClaim | null;
  writerSeq: string | null;
};

/**
 * A read: the body of the appends from `start` (at most STREAM_READ_BYTES_MAX unless one
 * append is larger; core/stream-body.ts), how many appends it holds, and the state.
 */
export type StreamChunk = {
  instance: string;
  contentType: string;
  body: Uint8Array<ArrayBuffer>;
  appends: number;
  start: number;
  next: number;
  tail: number;
  closed: boolean;
};

export type StreamInfo = {
  instance: string;
  contentType: string;
  expiry: Expiry;
  tail: number;
  closed: boolean;
};

/** What a fork copies from its source (copy-on-fork: reads of a fork never reach the source). */
export type ForkData = {
  contentType: string;
  expiry: Expiry;
  position: number;
  messages: { end: number; data: Uint8Array }[];
  prefix: Uint8Array | null;
};

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

function refused(code: ErrorCode, message: string, headers: StreamHeaders = {}): StreamWrite {
  return { ok: false, error: errorInfo(code, message), headers };
}

function producerHeaders(epoch: number, seq: number): StreamHeaders {
  return { "producer-epoch": String(epoch), "producer-seq": String(seq) };
}

function sameClaim(a: ProducerClaim | undefined, b: ProducerClaim): boolean {
  return a !== undefined && a.id === b.id && a.epoch === b.epoch && a.seq === b.seq;
}

function sameExpiry(a: Expiry, b: Expiry): boolean {
  return a.ttlSeconds === b.ttlSeconds && a.expiresAt === b.expiresAt;
}

export class DurableStream extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private meta: Meta | null;
  /** Long-polls and SSE readers waiting for the next change (append, close, delete). */
  private readonly waiters = new Set<() => void>();
  /** Writes run one at a time: a create awaits its source, and nothing may slip in meanwhile. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    runMigrations(this.sql, MIGRATIONS);
    const row = this.sql.exec<{ meta: string }>("SELECT meta FROM stream_meta").toArray()[0];
    this.meta = row ? (JSON.parse(row.meta) as Meta) : null;
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private saveMeta(meta: Meta): void {
    this.meta = meta;
    this.sql.exec("INSERT OR REPLACE INTO stream_meta (id, meta) VALUES (0, ?)", JSON.stringify(meta));
  }

  private wake(): void {
    for (const resolve of [...this.waiters]) resolve();
  }

  private waitForChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  /** The stream if it exists; one past its expiry ends here (soft-deleted if forks read it). */
  private async current(): Promise<Meta | null> {
    const meta = this.meta;
    if (meta === null) return null;
    const end = expiresAtMs(meta.expiry, meta.lastAccessMs);
    if (end === null || Date.now() < end || meta.softDeleted) return meta;
    if (meta.forks > 0) {
      this.saveMeta({ ...meta, softDeleted: true });
      this.wake();
      return this.meta;
    }
    await this.erase();
    return null;
  }

  /** Removes everything and lets the source (if a fork) drop its reference. */
  private async erase(): Promise<void> {
    const source = this.meta?.fork?.from;
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("DELETE FROM stream_messages");
      this.sql.exec("DELETE FROM stream_producers");
      this.sql.exec("DELETE FROM stream_meta");
    });
    this.meta = null;
    await this.ctx.storage.deleteAlarm();
    this.wake();
    if (source !== undefined) await durableStream(this.env, source).releaseFork();
  }

  /** Reads and writes (never HEAD) restart a sliding TTL (§5.1). */
  private touch(meta: Meta): Meta {
    if (meta.expiry.ttlSeconds === undefined) return meta;
    const touched = { ...meta, lastAccessMs: Date.now() };
    this.saveMeta(touched);
    return touched;
  }

  private async scheduleExpiry(meta: Meta): Promise<void> {
    const end = expiresAtMs(meta.expiry, meta.lastAccessMs);
    if (end === null) return;
    const alarm = await this.ctx.storage.getAlarm();
    if (alarm === null || alarm > end) await this.ctx.storage.setAlarm(end);
  }

  override async alarm(): Promise<void> {
    await this.serial(async () => {
      const meta = await this.current();
      if (meta !== null && !meta.softDeleted) await this.scheduleExpiry(meta);
    });
  }

  private missing(meta: Meta | null): ErrorInfo | null {
    if (meta === null) return errorInfo("STREAM_NOT_FOUND", "no stream at this path");
    if (meta.softDeleted)
      return errorInfo("STREAM_GONE", "this stream was deleted; its forks still read its data");
    return null;
  }

  private settingsHeaders(meta: Meta): StreamHeaders {
    const headers: StreamHeaders = {
      "content-type": meta.contentType,
      "stream-next-offset": streamOffset(meta.tail),
    };
    if (meta.closed) headers["stream-closed"] = "true";
    return headers;
  }

  create(request: CreateStream): Promise<StreamWrite> {
    return this.serial(async () => {
      const meta = await this.current();
      if (meta !== null) return this.recreate(meta, request);
      let contentType = request.contentType ?? (request.fork ? null : STREAM_DEFAULT_CONTENT_TYPE);
      let expiry = request.expiry;
      const rows: { end: number; data: Uint8Array }[] = [];
      let tail = 0;
      let fork: Meta["fork"];
      if (request.fork !== null) {
        const source = durableStream(this.env, request.fork.from);
        const got = await source.forkData(request.fork.position, request.fork.subOffset, contentType);
        if (!got.ok) return { ok: false, error: got.error, headers: {} };
        contentType = got.value.contentType;
        expiry = forkExpiry(request.expiry, got.value.expiry);
        rows.push(...got.value.messages);
        tail = got.value.position;
        // The resolved fork point: a repeat PUT naming it (or none) is the same fork.
        fork = { from: request.fork.from, position: tail, subOffset: request.fork.subOffset };
        if (got.value.prefix !== null) {
          tail += got.value.prefix.byteLength;
          rows.push({ end: tail, data: got.value.prefix });
        }
      }
      const type = contentType ?? STREAM_DEFAULT_CONTENT_TYPE;
      let initial: Uint8Array | null = null;
      try {
        initial = this.encodeBody(type, request.body, true);
      } catch (error) {
        // The source counted this fork already: give its reference back.
        if (request.fork !== null) await durableStream(this.env, request.fork.from).releaseFork();
        const info = (error as { info?: ErrorInfo }).info;
        if (info === undefined) throw error;
        return { ok: false, error: info, headers: {} };
      }
      if (initial !== null) {
        tail += initial.byteLength;
        rows.push({ end: tail, data: initial });
      }
      const created: Meta = {
        instance: crypto.randomUUID().slice(0, 8),
        contentType: type,
        expiry,
        requestedExpiry: request.expiry,
        closed: request.closed,
        tail,
        lastAccessMs: Date.now(),
        softDeleted: false,
        forks: 0,
        ...(fork && { fork }),
      };
      this.ctx.storage.transactionSync(() => {
        for (const row of rows)
          this.sql.exec("INSERT INTO stream_messages (end_position, data) VALUES (?, ?)", row.end, row.data);
        this.saveMeta(created);
      });
      await this.scheduleExpiry(created);
      this.wake();
      return { ok: true, status: 201, headers: this.settingsHeaders(created) };
    });
  }

  /** A PUT of an existing stream: 200 if it asks for what exists, else 409 (§5.1). */
  private recreate(meta: Meta, request: CreateStream): StreamWrite {
    if (meta.softDeleted)
      return refused(
        "STREAM_ALREADY_EXISTS",
        "this path belongs to a deleted stream that forks still read; it can be reused once they are gone",
      );
    const typeMatches =
      request.contentType === null
        ? request.fork !== null || mediaType(meta.contentType) === STREAM_DEFAULT_CONTENT_TYPE
        : mediaType(request.contentType) === mediaType(meta.contentType);
    const forkMatches =
      request.fork === null
        ? meta.fork === undefined
        : meta.fork !== undefined &&
          meta.fork.from === request.fork.from &&
          (request.fork.position === null || request.fork.position === meta.fork.position) &&
          request.fork.subOffset === meta.fork.subOffset;
    if (
      !typeMatches ||
      !sameExpiry(request.expiry, meta.requestedExpiry) ||
      request.closed !== meta.closed ||
      !forkMatches
    )
      return refused(
        "STREAM_ALREADY_EXISTS",
        "a stream exists at this path with another content type, expiry, closure or fork origin",
      );
    return { ok: true, status: 200, headers: this.settingsHeaders(meta) };
  }

  /** A body as stored: JSON checked and flattened one level (§9.1); null when there is nothing to store. */
  private encodeBody(contentType: string, body: Uint8Array | null, creating: boolean): Uint8Array | null {
    if (body === null || body.byteLength === 0) return null;
    if (!isJsonStream(contentType)) return body;
    let text: string;
    try {
      text = fromUtf8.decode(body);
    } catch {
      throw { info: errorInfo("INVALID_REQUEST", "body is not valid UTF-8") };
    }
    let stored: string;
    try {
      stored = jsonAppend(text, creating);
    } catch (error) {
      throw { info: (error as { info: ErrorInfo }).info };
    }
    return stored === "" ? null : utf8.encode(stored);
  }

  /** The source side of a fork: checks, counts the fork, and hands over the data up to the fork point. */
  forkData(
    position: number | null,
    subOffset: number,
    contentType: string | null,
  ): Promise<Result<ForkData>> {
    return this.serial(async () => {
      const meta = await this.current();
      if (meta === null)
        return fail("STREAM_NOT_FOUND", "the stream named by Stream-Forked-From does not exist");
      if (meta.softDeleted)
        return fail(
          "STREAM_CONFLICT",
          "the stream named by Stream-Forked-From was deleted; it cannot be forked",
        );
      if (contentType !== null && mediaType(contentType) !== mediaType(meta.contentType))
        return fail("STREAM_CONFLICT", `the source stream's content type is ${meta.contentType}`);
      const at = position ?? meta.tail;
      if (at > meta.tail)
        return fail("INVALID_REQUEST", "Stream-Fork-Offset is past the source stream's tail");
      const size = this.sql
        .exec<{ n: number | null }>(
          "SELECT sum(length(data)) AS n FROM stream_messages WHERE end_position <= ?",
          at,
        )
        .one().n;
      if ((size ?? 0) > STREAM_FORK_BYTES_MAX)
        return fail(
          "MESSAGE_TOO_LARGE",
          `a fork copies what it inherits: at most ${STREAM_FORK_BYTES_MAX} bytes`,
        );
      const messages = this.sql
        .exec<{ end_position: number; data: ArrayBuffer }>(
          "SELECT end_position, data FROM stream_messages WHERE end_position <= ? ORDER BY end_position",
          at,
        )
        .toArray()
        .map((row) => ({ end: row.end_position, data: new Uint8Array(row.data) }));
      let prefix: Uint8Array | null = null;
      if (subOffset > 0) {
        const next = this.sql
          .exec<{ data: ArrayBuffer }>(
            "SELECT data FROM stream_messages WHERE end_position > ? ORDER BY end_position LIMIT 1",
            at,
          )
          .toArray()[0];
        const refuse = () =>
          fail(
            "INVALID_REQUEST",
            "Stream-Fork-Sub-Offset reaches past the append that starts at Stream-Fork-Offset",
          );
        if (next === undefined) return refuse();
        const data = new Uint8Array(next.data);
        if (isJsonStream(meta.contentType)) {
          const values = jsonPrefix(fromUtf8.decode(data), subOffset);
          if (values === null) return refuse();
          prefix = utf8.encode(values);
        } else {
          if (subOffset > data.byteLength) return refuse();
          prefix = data.slice(0, subOffset);
        }
      }
      this.saveMeta({ ...meta, forks: meta.forks + 1 });
      return ok({ contentType: meta.contentType, expiry: meta.expiry, position: at, messages, prefix });
    });
  }

  /** A fork went away: one reference fewer; a deleted source with none left goes for good. */
  releaseFork(): Promise<void> {
    return this.serial(async () => {
      const meta = this.meta;
      if (meta === null) return;
      const forks = Math.max(0, meta.forks - 1);
      if (meta.softDeleted && forks === 0) await this.erase();
      else this.saveMeta({ ...meta, forks });
    });
  }

  append(request: AppendStream): Promise<StreamWrite> {
    return this.serial(async () => {
      const meta = await this.current();
      const gone = this.missing(meta);
      if (gone !== null || meta === null) return { ok: false, error: gone!, headers: {} };
      const empty = request.body === null || request.body.byteLength === 0;
      if (empty && !request.close)
        return refused(
          "INVALID_REQUEST",
          "an append needs a body; only a close (Stream-Closed: true) may be empty",
        );
      const claim = request.producer;
      const state = claim ? this.producer(claim.id) : undefined;
      if (meta.closed) {
        if (claim && sameClaim(meta.closedBy, claim))
          return {
            ok: true,
            status: 204,
            headers: { ...this.settingsHeaders(meta), ...producerHeaders(claim.epoch, claim.seq) },
          };
        if (claim && state && claim.epoch < state.epoch)
          return refused("STREAM_PRODUCER_FENCED", `Producer-Epoch ${claim.epoch} is stale`, {
            "producer-epoch": String(state.epoch),
          });
        if (empty) return { ok: true, status: 204, headers: this.settingsHeaders(meta) };
        return refused("STREAM_CLOSED", "the stream is closed", {
          "stream-closed": "true",
          "stream-next-offset": streamOffset(meta.tail),
        });
      }
      let data: Uint8Array | null = null;
      if (!empty) {
        if (request.contentType === null)
          return refused("INVALID_REQUEST", "an append with a body needs a Content-Type");
        if (mediaType(request.contentType) !== mediaType(meta.contentType))
          return refused(
            "STREAM_CONFLICT",
            `this stream's content type is ${meta.contentType}, not ${request.contentType.slice(0, 100)}`,
          );
        try {
          data = this.encodeBody(meta.contentType, request.body, false);
        } catch (error) {
          const info = (error as { info?: ErrorInfo }).info;
          if (info === undefined) throw error;
          return { ok: false, error: info, headers: {} };
        }
      }
      let accepted: StreamProducerState | null = null;
      if (claim) {
        const verdict = checkProducer(state, claim.epoch, claim.seq);
        if (verdict.kind === "fenced")
          return refused("STREAM_PRODUCER_FENCED", `Producer-Epoch ${claim.epoch} is stale`, {
            "producer-epoch": String(verdict.epoch),
          });
        if (verdict.kind === "epochStartsAtZero")
          return refused("INVALID_REQUEST", "a new Producer-Epoch starts at Producer-Seq 0");
        if (verdict.kind === "gap")
          return refused(
            "STREAM_SEQUENCE_GAP",
            `expected Producer-Seq ${verdict.expected}, got ${verdict.received}`,
            {
              "producer-expected-seq": String(verdict.expected),
              "producer-received-seq": String(verdict.received),
            },
          );
        if (verdict.kind === "duplicate")
          return { ok: true, status: 204, headers: producerHeaders(claim.epoch, verdict.lastSeq) };
        accepted = verdict.state;
      }
      if (request.writerSeq !== null && meta.writerSeq !== undefined && request.writerSeq <= meta.writerSeq)
        return refused(
          "STREAM_CONFLICT",
          `Stream-Seq '${request.writerSeq}' is not after '${meta.writerSeq}'`,
        );
      const tail = meta.tail + (data?.byteLength ?? 0);
      const now = Date.now();
      const next: Meta = {
        ...meta,
        tail,
        lastAccessMs: meta.expiry.ttlSeconds === undefined ? meta.lastAccessMs : now,
        ...(request.writerSeq !== null && { writerSeq: request.writerSeq }),
        ...(request.close && { closed: true, ...(claim && { closedBy: claim }) }),
      };
      this.ctx.storage.transactionSync(() => {
        if (data !== null)
          this.sql.exec("INSERT INTO stream_messages (end_position, data) VALUES (?, ?)", tail, data);
        if (claim && accepted)
          this.sql.exec(
            "INSERT OR REPLACE INTO stream_producers (id, epoch, last_seq, used_at) VALUES (?, ?, ?, ?)",
            claim.id,
            accepted.epoch,
            accepted.lastSeq,
            now,
          );
        this.saveMeta(next);
      });
      this.wake();
      const headers: StreamHeaders = { "stream-next-offset": streamOffset(tail) };
      if (next.closed) headers["stream-closed"] = "true";
      if (claim)
        return {
          ok: true,
          status: data === null ? 204 : 200,
          headers: { ...headers, ...producerHeaders(claim.epoch, claim.seq) },
        };
      return { ok: true, status: 204, headers };
    });
  }

  /** A producer's state; one unused for STREAM_PRODUCER_IDLE_MS is forgotten (treated as new). */
  private producer(id: string): StreamProducerState | undefined {
    const row = this.sql
      .exec<{ epoch: number; last_seq: number; used_at: number }>(
        "SELECT epoch, last_seq, used_at FROM stream_producers WHERE id = ?",
        id,
      )
      .toArray()[0];
    if (row === undefined || Date.now() - row.used_at > STREAM_PRODUCER_IDLE_MS) return undefined;
    return { epoch: row.epoch, lastSeq: row.last_seq };
  }

  /** HEAD: the settings and tail, without restarting a TTL. */
  async info(): Promise<Result<StreamInfo>> {
    const meta = await this.serial(() => this.current());
    const gone = this.missing(meta);
    if (gone !== null || meta === null) return { ok: false, error: gone! };
    return ok({
      instance: meta.instance,
      contentType: meta.contentType,
      expiry: meta.expiry,
      tail: meta.tail,
      closed: meta.closed,
    });
  }

  /**
   * Appends from a position. With `waitMs`, a read with nothing to return waits
   * (no polling: the next append, close or delete wakes it) up to that long.
   */
  async read(from: ReadFrom, waitMs: number): Promise<Result<StreamChunk>> {
    let meta = await this.serial(() => this.current());
    const gone = this.missing(meta);
    if (gone !== null || meta === null) return { ok: false, error: gone! };
    meta = this.touch(meta);
    const start = from.kind === "start" ? 0 : from.kind === "now" ? meta.tail : from.position;
    if (start > meta.tail) return fail("INVALID_REQUEST", "offset is past the stream's tail");
    if (start === meta.tail && waitMs > 0 && !meta.closed) {
      await this.waitForChange(waitMs);
      const after = this.meta;
      const stillGone = this.missing(after);
      if (stillGone !== null || after === null) return { ok: false, error: stillGone! };
      meta = after;
    }
    const appends: Uint8Array[] = [];
    let next = start;
    let bytes = 0;
    for (const row of this.sql.exec<{ end_position: number; data: ArrayBuffer }>(
      "SELECT end_position, data FROM stream_messages WHERE end_position > ? ORDER BY end_position",
      start,
    )) {
      if (appends.length > 0 && bytes + row.data.byteLength > STREAM_READ_BYTES_MAX) break;
      appends.push(new Uint8Array(row.data));
      bytes += row.data.byteLength;
      next = row.end_position;
    }
    return ok({
      instance: meta.instance,
      contentType: meta.contentType,
      body: streamBody(isJsonStream(meta.contentType), appends),
      appends: appends.length,
      start,
      next,
      tail: meta.tail,
      closed: meta.closed,
    });
  }

  /** DELETE: gone for good, or soft-deleted while forks read it (§5.4). */
  remove(): Promise<Result<null>> {
    return this.serial(async () => {
      const meta = await this.current();
      const gone = this.missing(meta);
      if (gone !== null || meta === null) return { ok: false, error: gone! };
      if (meta.forks > 0) {
        this.saveMeta({ ...meta, softDeleted: true });
        this.wake();
      } else await this.erase();
      return ok(null);
    });
  }
}
