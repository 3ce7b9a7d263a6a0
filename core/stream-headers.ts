import { EdgelogError } from "./errors";
import { STREAM_PRODUCER_ID_BYTES_MAX, STREAM_SEQ_BYTES_MAX, STREAM_TTL_S_MAX } from "./limits";
import { streamPosition } from "./stream-offsets";

/**
 * The request headers of the Durable Streams protocol (PROTOCOL.md §4–5), parsed
 * strictly: a malformed value is a 400 that changes nothing.
 */

type HeaderGet = (name: string) => string | null;

function invalid(message: string): never {
  throw new EdgelogError("INVALID_REQUEST", message);
}

/** A non-negative decimal integer with no sign, leading zero, point or exponent. */
const DECIMAL = /^(0|[1-9]\d*)$/;
/** RFC 3339 date-time (a `T` or space, seconds, optional fraction, `Z` or an offset). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
/** type/subtype with optional parameters (RFC 9110 token characters). */
const MEDIA_TYPE = /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+\s*(;.*)?$/;

export const STREAM_DEFAULT_CONTENT_TYPE = "application/octet-stream";

/** The media type without parameters, lower case: what two content types are compared by. */
export function mediaType(contentType: string): string {
  return (contentType.split(";")[0] ?? "").trim().toLowerCase();
}

export function isJsonStream(contentType: string): boolean {
  return mediaType(contentType) === "application/json";
}

/** SSE carries text and JSON as they are, anything else base64-encoded (§5.8). */
export function sseNeedsBase64(contentType: string): boolean {
  const type = mediaType(contentType);
  return !(type.startsWith("text/") || type === "application/json");
}

/** `Stream-Closed` counts only when it says `true`, in any case; other values are ignored (§4.1). */
export function closedFlag(get: HeaderGet): boolean {
  return (get("stream-closed") ?? "").trim().toLowerCase() === "true";
}

export function contentTypeOf(get: HeaderGet): string | null {
  const text = get("content-type");
  if (text === null || text.trim() === "") return null;
  if (!MEDIA_TYPE.test(text.trim())) invalid(`content-type '${text.slice(0, 100)}' is not a media type`);
  return text.trim();
}

export type Expiry = { ttlSeconds?: number; expiresAt?: string };

/** Stream-TTL or Stream-Expires-At (never both), validated. */
export function expiryOf(get: HeaderGet): Expiry {
  const ttl = get("stream-ttl");
  const expiresAt = get("stream-expires-at");
  if (ttl !== null && expiresAt !== null) invalid("give Stream-TTL or Stream-Expires-At, not both");
  if (ttl !== null) {
    if (!DECIMAL.test(ttl)) invalid(`Stream-TTL '${ttl.slice(0, 40)}' is not a decimal number of seconds`);
    const ttlSeconds = Number(ttl);
    if (ttlSeconds > STREAM_TTL_S_MAX) invalid(`Stream-TTL is at most ${STREAM_TTL_S_MAX} seconds`);
    return { ttlSeconds };
  }
  if (expiresAt !== null) {
    if (!RFC3339.test(expiresAt) || !Number.isFinite(Date.parse(expiresAt)))
      invalid(`Stream-Expires-At '${expiresAt.slice(0, 60)}' is not an RFC 3339 timestamp`);
    return { expiresAt };
  }
  return {};
}

/** When an expiry ends, given the last read or write (ms); null: never. */
export function expiresAtMs(expiry: Expiry, lastAccessMs: number): number | null {
  if (expiry.expiresAt !== undefined) return Date.parse(expiry.expiresAt);
  if (expiry.ttlSeconds !== undefined) return lastAccessMs + expiry.ttlSeconds * 1000;
  return null;
}

/** The fork table of §4.2: the fork's own expiry if it asks for one, else its source's. */
export function forkExpiry(requested: Expiry, source: Expiry): Expiry {
  if (requested.ttlSeconds !== undefined || requested.expiresAt !== undefined) return requested;
  if (source.ttlSeconds !== undefined) return { ttlSeconds: source.ttlSeconds };
  if (source.expiresAt !== undefined) return { expiresAt: source.expiresAt };
  return {};
}

export type ForkRequest = { from: string; position: number | null; subOffset: number };

/** Stream-Forked-From, Stream-Fork-Offset and Stream-Fork-Sub-Offset (§4.2), or null for a plain create. */
export function forkOf(get: HeaderGet): ForkRequest | null {
  const from = get("stream-forked-from");
  const offset = get("stream-fork-offset");
  const sub = get("stream-fork-sub-offset");
  if (from === null) {
    if (offset !== null || sub !== null)
      invalid("Stream-Fork-Offset and Stream-Fork-Sub-Offset need Stream-Forked-From");
    return null;
  }
  let position: number | null = null;
  if (offset !== null) {
    position = streamPosition(offset);
    if (position === null)
      invalid(`Stream-Fork-Offset '${offset.slice(0, 64)}' is not an offset this server returned`);
  }
  let subOffset = 0;
  if (sub !== null) {
    if (!DECIMAL.test(sub) || !Number.isSafeInteger(Number(sub)))
      invalid(`Stream-Fork-Sub-Offset '${sub.slice(0, 40)}' is not a non-negative integer`);
    subOffset = Number(sub);
    if (subOffset > 0 && offset === null) invalid("Stream-Fork-Sub-Offset needs Stream-Fork-Offset");
  }
  return { from, position, subOffset };
}

export type ProducerClaim = { id: string; epoch: number; seq: number };

function producerNumber(name: string, text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value))
    invalid(`${name} '${text.slice(0, 40)}' is not a non-negative integer up to 2^53-1`);
  return value;
}

/** Producer-Id, Producer-Epoch and Producer-Seq (§5.2.1): all three or none. */
export function producerOf(get: HeaderGet): ProducerClaim | null {
  const id = get("producer-id");
  const epoch = get("producer-epoch");
  const seq = get("producer-seq");
  if (id === null && epoch === null && seq === null) return null;
  if (id === null || epoch === null || seq === null)
    invalid("give Producer-Id, Producer-Epoch and Producer-Seq together");
  if (id === "") invalid("Producer-Id is empty");
  if (new TextEncoder().encode(id).byteLength > STREAM_PRODUCER_ID_BYTES_MAX)
    invalid(`Producer-Id is longer than ${STREAM_PRODUCER_ID_BYTES_MAX} bytes`);
  return { id, epoch: producerNumber("Producer-Epoch", epoch), seq: producerNumber("Producer-Seq", seq) };
}

/** Stream-Seq: an opaque writer sequence compared as a string; bounded in length. */
export function writerSeqOf(get: HeaderGet): string | null {
  const seq = get("stream-seq");
  if (seq === null) return null;
  if (seq === "") invalid("Stream-Seq is empty");
  if (new TextEncoder().encode(seq).byteLength > STREAM_SEQ_BYTES_MAX)
    invalid(`Stream-Seq is longer than ${STREAM_SEQ_BYTES_MAX} bytes`);
  return seq;
}
