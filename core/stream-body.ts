/**
 * The body of a read of a Durable Stream, built once where the appends are
 * stored (one buffer crosses RPC, not one per append): a JSON stream's appends
 * (each its values joined by commas) spliced into one array, any other stream's
 * bytes concatenated.
 */

const COMMA = 0x2c;
const OPEN = 0x5b;
const CLOSE = 0x5d;

export function streamBody(json: boolean, appends: Uint8Array[]): Uint8Array<ArrayBuffer> {
  let size = appends.reduce((n, append) => n + append.byteLength, 0);
  if (json) size += 2 + Math.max(0, appends.length - 1);
  const out = new Uint8Array(size);
  let at = 0;
  if (json) out[at++] = OPEN;
  for (const [i, append] of appends.entries()) {
    if (json && i > 0) out[at++] = COMMA;
    out.set(append, at);
    at += append.byteLength;
  }
  if (json) out[at++] = CLOSE;
  return out;
}
