import { isJsonStream } from "../core/stream-headers";
import { jsonRead } from "../core/stream-json";

const fromUtf8 = new TextDecoder();

/**
 * The body of a read of a Durable Stream: a JSON stream's appends spliced into
 * one array (text); any other stream's bytes concatenated.
 */
export function streamBody(contentType: string, chunks: Uint8Array[]): string | Uint8Array<ArrayBuffer> {
  if (isJsonStream(contentType)) return jsonRead(chunks.map((chunk) => fromUtf8.decode(chunk)));
  const out = new Uint8Array(chunks.reduce((n, chunk) => n + chunk.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}
