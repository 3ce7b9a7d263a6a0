import * as z from "zod";
import {
  FETCH_MAX_BYTES_DEFAULT,
  FETCH_MAX_BYTES_MAX,
  FETCH_MAX_RECORDS_DEFAULT,
  FETCH_MAX_RECORDS_MAX,
  FETCH_WAIT_MS_MAX,
  OFFSET_MAX,
  TIMESTAMP_MAX,
} from "../core/limits";
import { IsolationLevel } from "./groups";
import { invalid } from "./input";
import { parseInput, refusal } from "./validate";

/**
 * Strict query strings: each route's parameters are a zod object (the same one the
 * OpenAPI document lists), unknown or repeated parameters are refused, and numbers must
 * be plain decimal integers (no signs, exponents or fractions).
 */

const DECIMAL = /^[0-9]{1,16}$/;

/** A decimal integer within [min, max], or null. */
function decimalIn(text: string, min: number, max: number): number | null {
  const value = DECIMAL.test(text) ? Number(text) : Number.NaN;
  return Number.isSafeInteger(value) && value >= min && value <= max ? value : null;
}

/** A decimal integer given as text (a query parameter, a path segment, a header) within [min, max]. */
export function decimal(min: number, max: number, what = "an integer") {
  return z
    .string()
    .transform((text, context) => {
      const value = decimalIn(text, min, max);
      if (value !== null) return value;
      refusal(context, `must be ${what} from ${min} to ${max}, got '${text.slice(0, 40)}'`);
      return z.NEVER;
    })
    .meta({ type: "integer", minimum: min, maximum: max });
}

/** A route without query parameters. */
export const NoQuery = z.strictObject({});

/** Reads `url`'s query string with `schema`; a parameter given twice is refused before. */
export function readQuery<T extends z.ZodType>(url: string, schema: T): z.output<T> {
  const query: Record<string, string> = {};
  const search = url.indexOf("?");
  if (search >= 0)
    for (const [name, value] of new URLSearchParams(url.slice(search + 1))) {
      if (Object.hasOwn(query, name)) invalid(`query parameter '${name}' is given more than once`);
      query[name] = value;
    }
  return parseInput(schema, query, "query");
}

/** An offset given as text outside the query (a header): a decimal integer from 0 to OFFSET_MAX. */
const OffsetText = decimal(0, OFFSET_MAX, "an offset");

export function parseOffset(text: string, what: string): number {
  return parseInput(OffsetText, text, what);
}

/** A partition number in a path. */
export const PartitionParam = decimal(0, OFFSET_MAX);

export function pathInt(text: string, name: string): number {
  return parseInput(PartitionParam, text, name);
}

/** `acks` of a produce (API.md "Produce"): all (or -1) by default. */
export const Acks = z.enum(["all", "-1", "1", "0"]).meta({ default: "all" });

/** How fetches and polls give records: as stored, or (`cloudevents`) events in CloudEvents' structured mode. */
export type ReadFormat = "json" | "cloudevents";
const Format = z.enum(["json", "cloudevents"]).meta({ default: "json" });

/** The parameters that bound a read (fetch and group poll alike), with API.md's defaults and bounds. */
const readLimits = {
  maxRecords: decimal(1, FETCH_MAX_RECORDS_MAX).optional().meta({ default: FETCH_MAX_RECORDS_DEFAULT }),
  maxBytes: decimal(1, FETCH_MAX_BYTES_MAX).optional().meta({ default: FETCH_MAX_BYTES_DEFAULT }),
  waitMs: decimal(0, FETCH_WAIT_MS_MAX).optional().meta({ default: 0 }),
  format: Format.optional(),
};

export const ProduceQuery = z.strictObject({ acks: Acks.optional() });
export const PartitionProduceQuery = z.strictObject({
  acks: Acks.optional(),
  expectedOffset: decimal(0, OFFSET_MAX)
    .optional()
    .meta({ description: "Append only if the partition's log end offset is this (else 412)" }),
});
export const PollQuery = z.strictObject(readLimits);

const fetchShape = {
  ...readLimits,
  offset: z
    .union([z.enum(["earliest", "latest"]), decimal(0, OFFSET_MAX)], {
      error: `must be an offset from 0 to ${OFFSET_MAX}, 'earliest' or 'latest'`,
    })
    .optional(),
  timestamp: decimal(0, TIMESTAMP_MAX)
    .optional()
    .meta({ description: "Start at the first record with a timestamp ≥ this (instead of offset)" }),
  isolation: IsolationLevel.optional(),
};
export const FetchQuery = z.strictObject(fetchShape);
/** An EventSource cannot send headers: its credential may ride as ?access_token=. */
export const AccessToken = z
  .string()
  .optional()
  .meta({ description: "Bearer token, for clients that cannot set headers" });
export const WebSocketQuery = z.strictObject({ access_token: AccessToken });
export const FetchEventStreamQuery = z.strictObject({ ...fetchShape, access_token: AccessToken });

export type ReadLimits = { maxRecords: number; maxBytes: number; waitMs: number };

/** A read's limits with their defaults. */
export function limitsOf(query: { maxRecords?: number; maxBytes?: number; waitMs?: number }): ReadLimits {
  return {
    maxRecords: query.maxRecords ?? FETCH_MAX_RECORDS_DEFAULT,
    maxBytes: query.maxBytes ?? FETCH_MAX_BYTES_DEFAULT,
    waitMs: query.waitMs ?? 0,
  };
}
