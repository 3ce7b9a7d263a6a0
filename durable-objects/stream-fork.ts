import { fail, ok, type Result } from "../core/errors";
import { STREAM_FORK_BYTES_MAX } from "../core/limits";
import { isJsonStream, mediaType } from "../core/stream-headers";
import { jsonPrefix } from "../core/stream-json";
import type { ForkData } from "./contract";
import type { StreamMeta, StreamStore } from "./stream-store";

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/**
 * The source side of a fork (PROTOCOL.md §4.2), copy-on-fork: checks the source can be
 * forked there, and hands over every append up to the fork point plus, for a
 * sub-offset, the first bytes (or JSON values) of the append that starts there. The
 * caller counts the fork when this succeeds.
 */
export function forkSource(
  store: StreamStore,
  meta: StreamMeta | null,
  position: number | null,
  subOffset: number,
  contentType: string | null,
): Result<ForkData> {
  if (meta === null) return fail("STREAM_NOT_FOUND", "the stream named by Stream-Forked-From does not exist");
  if (meta.softDeleted)
    return fail("STREAM_CONFLICT", "the stream named by Stream-Forked-From was deleted; it cannot be forked");
  if (contentType !== null && mediaType(contentType) !== mediaType(meta.contentType))
    return fail("STREAM_CONFLICT", `the source stream's content type is ${meta.contentType}`);
  const at = position ?? meta.tail;
  if (at > meta.tail) return fail("INVALID_REQUEST", "Stream-Fork-Offset is past the source stream's tail");
  if (store.bytesUpTo(at) > STREAM_FORK_BYTES_MAX)
    return fail(
      "MESSAGE_TOO_LARGE",
      `a fork copies what it inherits: at most ${STREAM_FORK_BYTES_MAX} bytes`,
    );
  let prefix: Uint8Array | null = null;
  if (subOffset > 0) {
    const refuse = fail(
      "INVALID_REQUEST",
      "Stream-Fork-Sub-Offset reaches past the append that starts at Stream-Fork-Offset",
    );
    const next = store.appendAfter(at);
    if (next === undefined) return refuse;
    if (isJsonStream(meta.contentType)) {
      const values = jsonPrefix(fromUtf8.decode(next), subOffset);
      if (values === null) return refuse;
      prefix = utf8.encode(values);
    } else {
      if (subOffset > next.byteLength) return refuse;
      prefix = next.slice(0, subOffset);
    }
  }
  return ok({
    contentType: meta.contentType,
    expiry: meta.expiry,
    position: at,
    messages: store.upTo(at),
    prefix,
  });
}
