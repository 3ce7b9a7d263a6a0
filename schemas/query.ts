import {
  FETCH_MAX_BYTES_DEFAULT,
  FETCH_MAX_BYTES_MAX,
  FETCH_MAX_RECORDS_DEFAULT,
  FETCH_MAX_RECORDS_MAX,
  FETCH_WAIT_MS_MAX,
  OFFSET_MAX,
} from "../core/limits";
import { ISOLATION_LEVELS, type Isolation } from "../core/partition-transactions";
import { invalid } from "./input";

/**
 * Strict query-string reading: unknown or repeated parameters are refused, and
 * numbers must be plain decimal integers (no signs, exponents or fractions).
 */
export function readQuery(url: string, allowed: readonly string[]): Map<string, string> {
  const params = new URL(url).searchParams;
  const query = new Map<string, string>();
  for (const [name, value] of params) {
    if (!allowed.includes(name))
      invalid(`unknown query parameter '${name}'; allowed: ${allowed.join(", ") || "none"}`);
    if (query.has(name)) invalid(`query parameter '${name}' is given more than once`);
    query.set(name, value);
  }
  return query;
}

const DECIMAL = /^[0-9]{1,16}$/;

/** A non-negative decimal integer in [min, max], or the default when absent. */
/** A decimal integer within [min, max], or null. */
function decimalIn(text: string, min: number, max: number): number | null {
  const value = DECIMAL.test(text) ? Number(text) : Number.NaN;
  return Number.isSafeInteger(value) && value >= min && value <= max ? value : null;
}

/** An offset given as text outside the query (a header): a decimal integer from 0 to OFFSET_MAX. */
export function parseOffset(text: string, what: string): number {
  return (
    decimalIn(text, 0, OFFSET_MAX) ??
    invalid(`${what} must be an offset from 0 to ${OFFSET_MAX}, got '${text.slice(0, 40)}'`)
  );
}

export function queryInt(
  query: Map<string, string>,
  name: string,
  min: number,
  max: number,
  fallback?: number,
): number | undefined {
  const text = query.get(name);
  if (text === undefined) return fallback;
  return (
    decimalIn(text, min, max) ??
    invalid(`query parameter '${name}' must be an integer from ${min} to ${max}, got '${text}'`)
  );
}

/** A path segment that must be a non-negative integer (a partition number). */
export function pathInt(text: string, name: string, max: number): number {
  const value = DECIMAL.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value > max)
    invalid(`${name} must be an integer from 0 to ${max}, got '${text}'`);
  return value;
}

/** The query parameters that bound a read (fetch and group poll alike). */
export const READ_LIMIT_PARAMS = ["maxRecords", "maxBytes", "waitMs"] as const;
export type ReadLimits = { maxRecords: number; maxBytes: number; waitMs: number };

/** `maxRecords`, `maxBytes` and `waitMs` of a fetch or a poll, with API.md's defaults and bounds. */
export function readLimits(query: Map<string, string>): ReadLimits {
  return {
    maxRecords: queryInt(query, "maxRecords", 1, FETCH_MAX_RECORDS_MAX, FETCH_MAX_RECORDS_DEFAULT)!,
    maxBytes: queryInt(query, "maxBytes", 1, FETCH_MAX_BYTES_MAX, FETCH_MAX_BYTES_DEFAULT)!,
    waitMs: queryInt(query, "waitMs", 0, FETCH_WAIT_MS_MAX, 0)!,
  };
}

/** `isolation` of a read (API.md "Transactions"): read_uncommitted when absent, as Kafka. */
export function readIsolation(query: Map<string, string>): Isolation {
  return parseIsolation(query.get("isolation"), "query parameter 'isolation'");
}

/** How fetches and polls give records: as stored, or (`cloudevents`) events in CloudEvents' structured mode. */
export type ReadFormat = "json" | "cloudevents";

export function readFormat(query: Map<string, string>): ReadFormat {
  const format = query.get("format") ?? "json";
  if (format !== "json" && format !== "cloudevents")
    invalid(`query parameter 'format' must be 'json' or 'cloudevents', got '${format}'`);
  return format;
}

/** An `isolation` field (a query parameter, a group join body, a subscribe frame): read_uncommitted when absent. */
export function parseIsolation(value: unknown, path: string): Isolation {
  if (value === undefined) return "read_uncommitted";
  if (!(ISOLATION_LEVELS as readonly string[]).includes(value as string))
    invalid(`${path} must be one of ${ISOLATION_LEVELS.join(", ")}, got ${JSON.stringify(value)}`);
  return value as Isolation;
}
