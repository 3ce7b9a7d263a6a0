import { DurableObject } from "cloudflare:workers";
import { type ErrorInfo, errorInfo, fail, ok, type Result } from "../core/errors";
import { streamBody } from "../core/stream-body";
import {
  expiresAtMs,
  forkExpiry,
  isJsonStream,
  mediaType,
  STREAM_DEFAULT_CONTENT_TYPE,
} from "../core/stream-headers";
import { type ReadFrom, streamOffset } from "../core/stream-offsets";
import { checkProducer, type StreamProducerState } from "../core/stream-producers";
import type {
  AppendStream,
  CreateStream,
  ForkData,
  StreamChunk,
  StreamHeaders,
  StreamInfo,
  StreamWrite,
} from "./contract";
import type { Env } from "./env";
import { Waiters } from "./partition-watchers";
import { forkSource } from "./stream-fork";
import { type StreamMeta, StreamStore } from "./stream-store";
import { encodeBody, producerHeaders, recreate, refused, sameClaim, settingsHeaders } from "./stream-writes";
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

export class DurableStream extends DurableObject<Env> {
  private readonly store: StreamStore;
  /** Long-polls and SSE readers waiting for the next change (append, close, delete). */
  private readonly waiters = new Waiters();
  /** Writes run one at a time: a create awaits its source, and nothing may slip in meanwhile. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new StreamStore(ctx.storage.sql);
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The stream if it exists; one past its expiry ends here (soft-deleted if forks read it). */
  private async current(): Promise<StreamMeta | null> {
    const meta = this.store.meta;
    if (meta === null) return null;
    const end = expiresAtMs(meta.expiry, meta.lastAccessMs);
    if (end === null || Date.now() < end || meta.softDeleted) return meta;
    if (meta.forks > 0) {
      this.store.saveMeta({ ...meta, softDeleted: true });
      this.waiters.wakeAll();
      return this.store.meta;
    }
    await this.erase();
    return null;
  }

  /** Removes everything and lets the source (if a fork) drop its reference. */
  private async erase(): Promise<void> {
    const source = this.store.meta?.fork?.from;
    this.ctx.storage.transactionSync(() => this.store.clear());
    await this.ctx.storage.deleteAlarm();
    this.waiters.wakeAll();
    if (source !== undefined) await durableStream(this.env, source).releaseFork();
  }

  /** Reads and writes (never HEAD) restart a sliding TTL (§5.1). */
  private touch(meta: StreamMeta): StreamMeta {
    if (meta.expiry.ttlSeconds === undefined) return meta;
    const touched = { ...meta, lastAccessMs: Date.now() };
    this.store.saveMeta(touched);
    return touched;
  }

  private async scheduleExpiry(meta: StreamMeta): Promise<void> {
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

  private missing(meta: StreamMeta | null): ErrorInfo | null {
    if (meta === null) return errorInfo("STREAM_NOT_FOUND", "no stream at this path");
    if (meta.softDeleted)
      return errorInfo("STREAM_GONE", "this stream was deleted; its forks still read its data");
    return null;
  }

  create(request: CreateStream): Promise<StreamWrite> {
    return this.serial(async () => {
      const meta = await this.current();
      if (meta !== null) return recreate(meta, request);
      let contentType = request.contentType ?? (request.fork ? null : STREAM_DEFAULT_CONTENT_TYPE);
      let expiry = request.expiry;
      const rows: { end: number; data: Uint8Array }[] = [];
      let tail = 0;
      let fork: StreamMeta["fork"];
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
      const encoded = encodeBody(type, request.body, true);
      if (!encoded.ok) {
        // The source counted this fork already: give its reference back.
        if (request.fork !== null) await durableStream(this.env, request.fork.from).releaseFork();
        return { ok: false, error: encoded.error, headers: {} };
      }
      const initial = encoded.value;
      if (initial !== null) {
        tail += initial.byteLength;
        rows.push({ end: tail, data: initial });
      }
      const created: StreamMeta = {
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
        for (const row of rows) this.store.insert(row);
        this.store.saveMeta(created);
      });
      await this.scheduleExpiry(created);
      this.waiters.wakeAll();
      return { ok: true, status: 201, headers: settingsHeaders(created) };
    });
  }

  /** The source side of a fork: checks, counts the fork, and hands over the data up to the fork point. */
  forkData(
    position: number | null,
    subOffset: number,
    contentType: string | null,
  ): Promise<Result<ForkData>> {
    return this.serial(async () => {
      const meta = await this.current();
      const data = forkSource(this.store, meta, position, subOffset, contentType);
      if (data.ok && meta !== null) this.store.saveMeta({ ...meta, forks: meta.forks + 1 });
      return data;
    });
  }

  /** A fork went away: one reference fewer; a deleted source with none left goes for good. */
  releaseFork(): Promise<void> {
    return this.serial(async () => {
      const meta = this.store.meta;
      if (meta === null) return;
      const forks = Math.max(0, meta.forks - 1);
      if (meta.softDeleted && forks === 0) await this.erase();
      else this.store.saveMeta({ ...meta, forks });
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
      const state = claim ? this.store.producer(claim.id) : undefined;
      if (meta.closed) {
        if (claim && sameClaim(meta.closedBy, claim))
          return {
            ok: true,
            status: 204,
            headers: { ...settingsHeaders(meta), ...producerHeaders(claim.epoch, claim.seq) },
          };
        if (claim && state && claim.epoch < state.epoch)
          return refused("STREAM_PRODUCER_FENCED", `Producer-Epoch ${claim.epoch} is stale`, {
            "producer-epoch": String(state.epoch),
          });
        if (empty) return { ok: true, status: 204, headers: settingsHeaders(meta) };
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
        const encoded = encodeBody(meta.contentType, request.body, false);
        if (!encoded.ok) return { ok: false, error: encoded.error, headers: {} };
        data = encoded.value;
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
      const next: StreamMeta = {
        ...meta,
        tail,
        lastAccessMs: meta.expiry.ttlSeconds === undefined ? meta.lastAccessMs : now,
        ...(request.writerSeq !== null && { writerSeq: request.writerSeq }),
        ...(request.close && { closed: true, ...(claim && { closedBy: claim }) }),
      };
      this.ctx.storage.transactionSync(() => {
        if (data !== null) this.store.insert({ end: tail, data });
        if (claim && accepted) this.store.putProducer(claim.id, accepted, now);
        this.store.saveMeta(next);
      });
      this.waiters.wakeAll();
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
    const found = await this.serial(() => this.current());
    const gone = this.missing(found);
    if (gone !== null || found === null) return { ok: false, error: gone! };
    let meta = this.touch(found);
    const start = from.kind === "start" ? 0 : from.kind === "now" ? meta.tail : from.position;
    if (start > meta.tail) return fail("INVALID_REQUEST", "offset is past the stream's tail");
    if (start === meta.tail && waitMs > 0 && !meta.closed) {
      await this.waiters.wait(waitMs);
      const after = this.store.meta;
      const stillGone = this.missing(after);
      if (stillGone !== null || after === null) return { ok: false, error: stillGone! };
      meta = after;
    }
    const { appends, next } = this.store.readFrom(start);
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
        this.store.saveMeta({ ...meta, softDeleted: true });
        this.waiters.wakeAll();
      } else await this.erase();
      return ok(null);
    });
  }
}
