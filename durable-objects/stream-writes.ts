import { EdgelogError, type ErrorCode, errorInfo, fail, ok, type Result } from "../core/errors";
import {
  type Expiry,
  isJsonStream,
  mediaType,
  type ProducerClaim,
  STREAM_DEFAULT_CONTENT_TYPE,
} from "../core/stream-headers";
import { jsonAppend } from "../core/stream-json";
import { streamOffset } from "../core/stream-offsets";
import type { CreateStream, StreamHeaders, StreamWrite } from "./contract";
import type { StreamMeta } from "./stream-store";

/** The answers of a Durable Stream's writes (PROTOCOL.md §5.1–5.2), and what a write stores. */

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

export function refused(code: ErrorCode, message: string, headers: StreamHeaders = {}): StreamWrite {
  return { ok: false, error: errorInfo(code, message), headers };
}

export function producerHeaders(epoch: number, seq: number): StreamHeaders {
  return { "producer-epoch": String(epoch), "producer-seq": String(seq) };
}

export function sameClaim(a: ProducerClaim | undefined, b: ProducerClaim): boolean {
  return a !== undefined && a.id === b.id && a.epoch === b.epoch && a.seq === b.seq;
}

function sameExpiry(a: Expiry, b: Expiry): boolean {
  return a.ttlSeconds === b.ttlSeconds && a.expiresAt === b.expiresAt;
}

export function settingsHeaders(meta: StreamMeta): StreamHeaders {
  const headers: StreamHeaders = {
    "content-type": meta.contentType,
    "stream-next-offset": streamOffset(meta.tail),
  };
  if (meta.closed) headers["stream-closed"] = "true";
  return headers;
}

/** A PUT of an existing stream: 200 if it asks for what exists, else 409 (§5.1). */
export function recreate(meta: StreamMeta, request: CreateStream): StreamWrite {
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
  return { ok: true, status: 200, headers: settingsHeaders(meta) };
}

/** A body as stored: JSON checked and flattened one level (§9.1); null when there is nothing to store. */
export function encodeBody(
  contentType: string,
  body: Uint8Array | null,
  creating: boolean,
): Result<Uint8Array | null> {
  if (body === null || body.byteLength === 0) return ok(null);
  if (!isJsonStream(contentType)) return ok(body);
  let text: string;
  try {
    text = fromUtf8.decode(body);
  } catch {
    return fail("INVALID_REQUEST", "body is not valid UTF-8");
  }
  try {
    const stored = jsonAppend(text, creating);
    return ok(stored === "" ? null : utf8.encode(stored));
  } catch (error) {
    if (error instanceof EdgelogError) return { ok: false, error: error.info };
    throw error;
  }
}
