import { type Context, Hono } from "hono";
import type { Operation } from "../../core/acl";
import { EdgelogError, type ErrorInfo, statusOf } from "../../core/errors";
import { STREAM_LONG_POLL_MS, STREAM_NAME_BYTES_MAX } from "../../core/limits";
import { responseCursor } from "../../core/stream-cursor";
import {
  closedFlag,
  contentTypeOf,
  expiryOf,
  forkOf,
  producerOf,
  writerSeqOf,
} from "../../core/stream-headers";
import { parseReadOffset, streamOffset } from "../../core/stream-offsets";
import { authMode, authorize } from "../../durable-objects/authorizer";
import type { StreamHeaders, StreamWrite } from "../../durable-objects/contract";
import { durableStream } from "../../durable-objects/stubs";
import { readBodyBytes } from "../body";
import { maxRequestBytes } from "../config";
import type { GatewayEnv } from "../gateway-env";
import { chargeProduce, startFetch } from "../quota";
import { streamSse } from "../stream-sse";

/**
 * The Durable Streams protocol (PROTOCOL.md of durable-streams/durable-streams)
 * under /v1/stream/{name}: PUT creates (or forks), POST appends (or closes),
 * GET reads (catch-up, long-poll, SSE), HEAD describes, DELETE deletes. Each
 * stream is a DurableStream object. Errors keep the protocol's statuses and
 * headers, with edgelog's error envelope as the body. Authorization uses the
 * topic ACLs of the stream's name (read, write, create, delete).
 */

export const STREAM_PREFIX = "/v1/stream/";
/** Path segments of URL-safe characters; no empty, `.` or `..` segment. */
const STREAM_NAME = /^(?!.*(^|\/)\.{1,2}(\/|$))[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/;

export function checkStreamName(name: string): string {
  if (!STREAM_NAME.test(name) || name.length > STREAM_NAME_BYTES_MAX)
    throw new EdgelogError(
      "INVALID_REQUEST",
      `a stream name is 1 to ${STREAM_NAME_BYTES_MAX} characters of A-Z a-z 0-9 . _ ~ - in /-separated segments (no . or .. segment)`,
    );
  return name;
}

/** The stream a request is about, checked, with the caller's right to act on it. */
function streamOf(c: Context<GatewayEnv>, op: Operation): string {
  const name = checkStreamName(new URL(c.req.url).pathname.slice(STREAM_PREFIX.length));
  authorize(c.get("auth").rights, "topic", name, op);
  return name;
}

function errorAnswer(c: Context<GatewayEnv>, error: ErrorInfo, headers: StreamHeaders = {}): Response {
  c.set("errorCode", error.code);
  return c.json({ error }, statusOf(error.code) as 400, headers);
}

function writeAnswer(c: Context<GatewayEnv>, answer: StreamWrite, extra: StreamHeaders = {}): Response {
  if (!answer.ok) return errorAnswer(c, answer.error, answer.headers);
  return c.body(null, answer.status, { ...answer.headers, ...extra });
}

/** Catch-up reads may be cached (§10.1): by anyone on an open gateway, only privately with credentials. */
function cacheable(c: Context<GatewayEnv>): string {
  const scope = authMode(c.env) === "none" ? "public" : "private";
  return `${scope}, max-age=60, stale-while-revalidate=300`;
}

/** Appends count against the principal's produce bytes/s like a produce (a refusal appends nothing). */
async function charge(c: Context<GatewayEnv>, body: Uint8Array | null): Promise<void> {
  const charged = body === null ? null : chargeProduce(c.env, c.get("auth"), body.byteLength);
  if (charged) await charged;
}

const get = (c: Context<GatewayEnv>) => (name: string) => c.req.header(name) ?? null;

export const streamRoutes = new Hono<GatewayEnv>();

// Every answer of the protocol, errors included, carries its browser security headers (§12.7).
streamRoutes.use(async (c, next) => {
  await next();
  c.res.headers.set("x-content-type-options", "nosniff");
  c.res.headers.set("cross-origin-resource-policy", "cross-origin");
});

streamRoutes.put("/*", async (c) => {
  const name = streamOf(c, "create");
  const header = get(c);
  const fork = forkOf(header);
  if (fork !== null) {
    if (!fork.from.startsWith(STREAM_PREFIX))
      throw new EdgelogError("INVALID_REQUEST", `Stream-Forked-From must be a path under ${STREAM_PREFIX}`);
    fork.from = checkStreamName(fork.from.slice(STREAM_PREFIX.length));
    authorize(c.get("auth").rights, "topic", fork.from, "read");
  }
  const request = {
    contentType: contentTypeOf(header),
    expiry: expiryOf(header),
    closed: closedFlag(header),
    fork,
    body: await readBodyBytes(c.req.raw, maxRequestBytes(c.env)),
  };
  await charge(c, request.body);
  const answer = await durableStream(c.env, name).create(request);
  const extra: StreamHeaders = {};
  if (answer.ok && answer.status === 201) extra.location = new URL(c.req.url).href.split("?")[0]!;
  return writeAnswer(c, answer, extra);
});

streamRoutes.post("/*", async (c) => {
  const name = streamOf(c, "write");
  const header = get(c);
  const request = {
    close: closedFlag(header),
    producer: producerOf(header),
    writerSeq: writerSeqOf(header),
    contentType: null as string | null,
    body: await readBodyBytes(c.req.raw, maxRequestBytes(c.env)),
  };
  // A close-only request ignores its content type (§5.2): clients attach defaults.
  if (request.body !== null && request.body.byteLength > 0) request.contentType = contentTypeOf(header);
  await charge(c, request.body);
  return writeAnswer(c, await durableStream(c.env, name).append(request));
});

streamRoutes.delete("/*", async (c) => {
  const removed = await durableStream(c.env, streamOf(c, "delete")).remove();
  if (!removed.ok) return errorAnswer(c, removed.error);
  return c.body(null, 204);
});

// Hono answers HEAD with the GET route (and drops the body); c.req.method tells them apart.
streamRoutes.get("/*", async (c) => {
  const stream = durableStream(c.env, streamOf(c, c.req.method === "HEAD" ? "describe" : "read"));
  if (c.req.method === "HEAD") {
    const info = await stream.info();
    if (!info.ok) return errorAnswer(c, info.error);
    const { contentType, tail, closed, expiry, instance } = info.value;
    const headers: StreamHeaders = {
      "content-type": contentType,
      "stream-next-offset": streamOffset(tail),
      "cache-control": "no-store",
      etag: `"${instance}:-1:${streamOffset(tail)}${closed ? ":c" : ""}"`,
    };
    if (closed) headers["stream-closed"] = "true";
    if (expiry.ttlSeconds !== undefined) headers["stream-ttl"] = String(expiry.ttlSeconds);
    if (expiry.expiresAt !== undefined) headers["stream-expires-at"] = expiry.expiresAt;
    return c.body(null, 200, headers);
  }
  const url = new URL(c.req.url);
  const offsets = url.searchParams.getAll("offset");
  const from = parseReadOffset(offsets);
  const live = url.searchParams.get("live");
  if (live !== null && live !== "long-poll" && live !== "sse")
    throw new EdgelogError("INVALID_REQUEST", `live is long-poll or sse, not '${live.slice(0, 40)}'`);
  if (live !== null && offsets.length === 0)
    throw new EdgelogError(
      "INVALID_REQUEST",
      `live=${live} needs an offset (-1 for the start, now for the tail)`,
    );
  const cursor = url.searchParams.get("cursor");
  // Reads count against fetch bytes/s as fetches do: refused while in debt, charged after.
  const started = startFetch(c.env, c.get("auth"));
  const charged = typeof started === "function" ? started : await started;
  if (live === "sse") return streamSse((at, waitMs) => stream.read(at, waitMs), from, cursor, charged);
  const got = await stream.read(from, live === "long-poll" ? STREAM_LONG_POLL_MS : 0);
  if (!got.ok) return errorAnswer(c, got.error);
  charged(got.value.body.byteLength);
  const { contentType, body, appends, next, tail, closed, instance } = got.value;
  const upToDate = next === tail;
  const headers: StreamHeaders = { "content-type": contentType, "stream-next-offset": streamOffset(next) };
  if (upToDate) headers["stream-up-to-date"] = "true";
  if (closed && upToDate) headers["stream-closed"] = "true";
  if (live !== null && !(closed && upToDate)) headers["stream-cursor"] = responseCursor(cursor);
  if (appends === 0 && live === "long-poll") return c.body(null, 204, headers);
  // offset=now answers the tail, never data: not cacheable, no ETag (§8).
  if (from.kind === "now" && live === null)
    return c.body(body, 200, { ...headers, "cache-control": "no-store" });
  const etag = `"${instance}:${offsets[0] ?? "-1"}:${streamOffset(next)}${closed && upToDate ? ":c" : ""}"`;
  headers.etag = etag;
  if (c.req.header("if-none-match") === etag) return c.body(null, 304, { etag });
  // The tail's answer changes with the next append or the close: only data is cached.
  headers["cache-control"] = appends > 0 ? cacheable(c) : "no-store";
  return c.body(body, 200, headers);
});
