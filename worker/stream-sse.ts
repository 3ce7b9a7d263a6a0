import { base64 } from "../core/credentials";
import { EdgelogError, type Result } from "../core/errors";
import { STREAM_LONG_POLL_MS, STREAM_SSE_CONNECTION_MS } from "../core/limits";
import { responseCursor, sseEvent } from "../core/stream-cursor";
import { sseNeedsBase64 } from "../core/stream-headers";
import { type ReadFrom, streamOffset } from "../core/stream-offsets";
import type { StreamChunk } from "../durable-objects/contract";
import { sseChannel } from "./sse-channel";

/**
 * A live read of a Durable Stream over SSE (PROTOCOL.md §5.8): each batch of
 * appends as one `event: data` (text and JSON as they are, other content types
 * base64), always followed by an `event: control` with the next offset, the
 * cursor, and `upToDate` / `streamClosed`. Nothing is polled: each read waits in
 * the stream's object for the next append. A closed stream ends the connection
 * after its last control event; any connection ends after STREAM_SSE_CONNECTION_MS
 * so CDNs can collapse readers (§10.2), and the client resumes from the offset.
 */

const fromUtf8 = new TextDecoder();

type Read = (from: ReadFrom, waitMs: number) => Promise<Result<StreamChunk>>;

export async function streamSse(
  read: Read,
  from: ReadFrom,
  cursor: string | null,
  charge: (bytes: number) => void,
): Promise<Response> {
  // The first read answers errors (no stream, a bad offset) as plain HTTP, before the stream starts.
  const first = await read(from, 0);
  if (!first.ok) throw new EdgelogError(first.error.code, first.error.message);
  const encoded = sseNeedsBase64(first.value.contentType);
  const { readable, send, close } = sseChannel();
  const endAt = Date.now() + STREAM_SSE_CONNECTION_MS;
  const run = async () => {
    let chunk = first.value;
    try {
      for (;;) {
        const upToDate = chunk.next === chunk.tail;
        const ended = chunk.closed && upToDate;
        // A data event and its control event go out in one write: readers see both at once.
        let events = "";
        if (chunk.appends > 0)
          events += sseEvent("data", encoded ? base64(chunk.body) : fromUtf8.decode(chunk.body));
        const control: Record<string, unknown> = { streamNextOffset: streamOffset(chunk.next) };
        if (ended) control.streamClosed = true;
        else {
          control.streamCursor = responseCursor(cursor);
          if (upToDate) control.upToDate = true;
        }
        await send(events + sseEvent("control", JSON.stringify(control)));
        charge(chunk.body.byteLength);
        if (ended || Date.now() >= endAt) break;
        const waitMs = upToDate ? Math.min(STREAM_LONG_POLL_MS, Math.max(0, endAt - Date.now())) : 0;
        const got = await read({ kind: "at", position: chunk.next }, waitMs);
        // Deleted meanwhile: the connection ends; the client's next request gets 404 or 410.
        if (!got.ok) break;
        chunk = got.value;
      }
    } catch {
      // The client went away (a failed write): nothing more to send.
    }
    await close();
  };
  void run();
  const headers: Record<string, string> = {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
  };
  if (encoded) headers["stream-sse-data-encoding"] = "base64";
  return new Response(readable, { headers });
}
