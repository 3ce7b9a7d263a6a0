import { EdgelogError, type ErrorCode } from "../core/errors";

/**
 * What the readers of input share: the refusal, a value's JSON type for messages, and
 * UTF-8 sizes. The readers themselves are zod schemas (validate.ts and the schema files).
 */

export function invalid(message: string, code: ErrorCode = "INVALID_REQUEST"): never {
  throw new EdgelogError(code, message);
}

export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number" && !Number.isFinite(value)) return "non-finite number";
  return typeof value;
}

/** UTF-8 byte length without allocating an encoded copy. */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      // A surrogate pair: 2 UTF-16 units → 4 UTF-8 bytes.
      bytes += 2;
      i++;
    } else bytes += 2;
  }
  return bytes;
}
