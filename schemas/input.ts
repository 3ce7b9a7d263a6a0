import { EdgelogError, type ErrorCode } from "../core/errors";

/**
 * Small strict readers for JSON input. Hand-written instead of a schema library
 * because the produce path checks up to 10,000 records a request and must not
 * copy them; each failure names the field and says what to fix.
 */

export type JsonObject = Record<string, unknown>;

export function invalid(message: string, code: ErrorCode = "INVALID_REQUEST"): never {
  throw new EdgelogError(code, message);
}

export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number" && !Number.isFinite(value)) return "non-finite number";
  return typeof value;
}

export function expectObject(value: unknown, path: string): JsonObject {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    invalid(`${path} must be a JSON object, got ${typeName(value)}`);
  return value as JsonObject;
}

/** Unknown fields are refused so that a typo never silently changes meaning. */
export function rejectUnknownFields(object: JsonObject, allowed: readonly string[], path: string): void {
  for (const key in object) {
    if (!allowed.includes(key)) invalid(`${path} has unknown field '${key}'; allowed: ${allowed.join(", ")}`);
  }
}

/** An integer field within [min, max]; `code` lets topic settings answer INVALID_PARTITIONS etc. */
export function expectInt(
  value: unknown,
  path: string,
  min: number,
  max: number,
  code: ErrorCode = "INVALID_REQUEST",
): number {
  if (typeof value !== "number") invalid(`${path} must be an integer, got ${typeName(value)}`);
  if (!Number.isSafeInteger(value) || value < min || value > max)
    invalid(`${path} must be an integer from ${min} to ${max}, got ${value}`, code);
  return value;
}

export function expectString(value: unknown, path: string): string {
  if (typeof value !== "string") invalid(`${path} must be a string, got ${typeName(value)}`);
  return value;
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
