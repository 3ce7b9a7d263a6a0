import { EdgelogError } from "../core/errors";
import { invalid } from "../schemas/input";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
export const JSON_TYPE = /^application\/json\s*(;|$)/i;
/** What an oversized body may still send, read and dropped before the 413, before it is cut off. */
const DISCARD_BYTES_MAX = 16 * 1024 * 1024;

/**
 * Reads a JSON request body within `limitBytes`: refuses a wrong content type,
 * a declared or actual size over the limit (413 MESSAGE_TOO_LARGE, without
 * buffering more than the limit), and malformed JSON. An empty body is
 * `undefined` (for POSTs that take no parameters).
 */
export async function readJsonBody(request: Request, limitBytes: number): Promise<unknown> {
  return (await readJsonBodySized(request, limitBytes)).value;
}

/** The same, with the body's size in bytes (what a produce quota charges). */
export async function readJsonBodySized(
  request: Request,
  limitBytes: number,
): Promise<{ value: unknown; bytes: number }> {
  const body = await readBodyBytes(request, limitBytes);
  if (body === null) return { value: undefined, bytes: 0 };
  const type = request.headers.get("content-type");
  if (type === null || !JSON_TYPE.test(type))
    invalid(`content-type must be application/json, got ${type === null ? "none" : `'${type}'`}`);
  return { value: parseJsonBytes(body), bytes: body.byteLength };
}

/** UTF-8 JSON, or a 400 saying what is wrong. */
export function parseJsonBytes(body: Uint8Array): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    invalid("body is not valid UTF-8");
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    invalid(`body is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * A request body's bytes within `limitBytes` (null when empty): a declared or
 * actual size over the limit is 413 MESSAGE_TOO_LARGE, without buffering more
 * than the limit.
 */
export async function readBodyBytes(request: Request, limitBytes: number): Promise<Uint8Array | null> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limitBytes) {
    // workerd answers only once the request body is consumed. A client waiting for
    // `100 Continue`, or one declaring more than we would ever read, has its body
    // cancelled (an early 413); one already sending a moderately oversized body has
    // it read and dropped, which keeps wrangler dev's proxy connection usable.
    const waitsToSend = /100-continue/i.test(request.headers.get("expect") ?? "");
    if (request.body !== null) {
      if (waitsToSend || Number(declared) > limitBytes + DISCARD_BYTES_MAX) await request.body.cancel();
      else await discardRest(request.body.getReader(), 0);
    }
    tooLarge(Number(declared), limitBytes);
  }
  if (request.body === null) return null;
  const reader = request.body.getReader();
  const parts: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    if (bytes > limitBytes) {
      await discardRest(reader, bytes);
      tooLarge(bytes, limitBytes);
    }
    parts.push(value);
  }
  return bytes === 0 ? null : concat(parts, bytes);
}

/**
 * Reads and drops the rest of an oversized body, up to DISCARD_BYTES_MAX, before the
 * 413: a body left half-read breaks the local proxy's connection to workerd (wrangler
 * dev then leaves the next request unanswered). Past the cap the body is cancelled.
 */
async function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>, read: number): Promise<void> {
  const capBytes = read + DISCARD_BYTES_MAX;
  for (let bytes = read; bytes <= capBytes; ) {
    const { done, value } = await reader.read();
    if (done) return;
    bytes += value.byteLength;
  }
  await reader.cancel();
}

function tooLarge(bytes: number, limitBytes: number): never {
  throw new EdgelogError(
    "MESSAGE_TOO_LARGE",
    `request body is ${bytes} bytes or more; the gateway accepts at most ${limitBytes} bytes`,
  );
}

function concat(parts: Uint8Array[], bytes: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const all = new Uint8Array(bytes);
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.byteLength;
  }
  return all;
}
