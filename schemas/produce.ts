import * as z from "zod";
import { EdgelogError } from "../core/errors";
import type { ProducerRef } from "../core/idempotence";
import {
  PRODUCE_RECORDS_MAX,
  PRODUCER_EPOCH_MAX,
  RECORD_HEADER_KEY_LENGTH_MAX,
  RECORD_HEADERS_MAX,
  RECORD_VALUE_DEPTH_MAX,
  TIMESTAMP_MAX,
} from "../core/limits";
import { invalid, utf8Length } from "./input";
import { ProducerId } from "./producers";
import { parseInput } from "./validate";

/** One validated record of a produce request, with its value already serialised for storage. */
export type ProduceRecord = {
  key: string | null;
  /** Explicit partition, if the client named one. */
  partition: number | undefined;
  timestamp: number | undefined;
  /** The value as JSON text ("null" when the record carries bytes). */
  valueJson: string;
  valueBase64: string | null;
  /** The headers as a JSON object text ("{}" when none). */
  headersJson: string;
  /** Bytes the record occupies: key + value text (JSON or base64) + headers JSON, UTF-8. */
  sizeBytes: number;
};

export type ProduceRequest = {
  records: ProduceRecord[];
  producer: ProducerRef | undefined;
  transactional: boolean;
};

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const HEADER_NAME_LENGTH = `header names must be 1 to ${RECORD_HEADER_KEY_LENGTH_MAX} characters long`;

/** Record headers: string → string, names 1 to 255 characters, at most 64 (request trace context included). */
export const RecordHeaders = z
  .record(
    z
      .string()
      .min(1, { error: HEADER_NAME_LENGTH })
      .max(RECORD_HEADER_KEY_LENGTH_MAX, { error: HEADER_NAME_LENGTH }),
    z.string(),
  )
  .meta({ id: "RecordHeaders", description: `At most ${RECORD_HEADERS_MAX} headers, string → string` });

/** A record of a produce request (API.md "Produce"): exactly one of `value` and `valueBase64`. */
export const ProduceRecordInput = z
  .strictObject({
    key: z.string().nullable().optional(),
    value: z.unknown().optional().meta({ description: "Any JSON value" }),
    valueBase64: z
      .string()
      .regex(BASE64, { error: "must be a standard base64 string (RFC 4648, padded)" })
      .optional(),
    headers: RecordHeaders.optional(),
    partition: z.int().min(0).optional(),
    timestamp: z.int().min(0).max(TIMESTAMP_MAX).optional(),
  })
  .meta({ id: "ProduceRecord" });

/** `producer: { id, epoch, sequence }` of an idempotent produce request. */
export const ProducerRefInput = z.strictObject({
  id: ProducerId,
  epoch: z.int().min(0).max(PRODUCER_EPOCH_MAX),
  sequence: z.int().min(0),
});

export const ProduceBody = z
  .strictObject({
    records: z
      .array(ProduceRecordInput)
      .min(1, { error: "must hold at least one record" })
      .max(PRODUCE_RECORDS_MAX, { error: `may hold at most ${PRODUCE_RECORDS_MAX} records a request` }),
    producer: ProducerRefInput.optional(),
    transactional: z.boolean().optional(),
  })
  .meta({
    id: "ProduceRequest",
    description: "`transactional: true` needs `producer` (one started with a transactionalId)",
  });

type RecordInput = z.output<typeof ProduceRecordInput>;

/** True when `value` nests arrays/objects deeper than `depthMax` (SQLite's JSON refuses > 1000). */
function nestsDeeperThan(value: unknown, depthMax: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (depthMax === 0) return true;
  for (const key in value) {
    if (nestsDeeperThan((value as Record<string, unknown>)[key], depthMax - 1)) return true;
  }
  return false;
}

/** Headers a produce request gives every record that has none of its own (W3C trace context). */
export type InheritedHeaders = { traceparent: string; tracestate: string | null };

function headersOf(
  own: Record<string, string> | undefined,
  path: string,
  inherited: InheritedHeaders | null,
): { json: string; bytes: number } {
  let headers = own ?? {};
  // A record's own trace context wins; otherwise it carries its request's (tracestate goes with traceparent).
  if (inherited !== null && !("traceparent" in headers)) {
    headers = { ...headers, traceparent: inherited.traceparent };
    if (inherited.tracestate !== null) headers.tracestate = inherited.tracestate;
  }
  let count = 0;
  for (const _ in headers) count++;
  if (count > RECORD_HEADERS_MAX) {
    const from = inherited === null ? "" : " (the request's traceparent and tracestate included)";
    invalid(`${path} has more than ${RECORD_HEADERS_MAX} headers${from}`);
  }
  if (count === 0) return { json: "{}", bytes: 2 };
  const json = JSON.stringify(headers);
  return { json, bytes: utf8Length(json) };
}

/** What a record's checked shape leaves to check: its topic's partitions and limits, then its stored form. */
function toProduceRecord(
  record: RecordInput,
  index: number,
  partitions: number,
  maxMessageBytes: number,
  keyRequired: boolean,
  inherited: InheritedHeaders | null,
): ProduceRecord {
  const path = `body.records[${index}]`;
  const key = record.key ?? null;
  if (key === null && keyRequired)
    throw new EdgelogError(
      "INVALID_RECORD",
      `${path} has no key; a compacted topic keeps the latest record per key, so every record needs one`,
    );
  const partition = record.partition;
  if (partition !== undefined && partition >= partitions)
    throw new EdgelogError(
      "UNKNOWN_TOPIC_OR_PARTITION",
      `${path}.partition is ${partition} but the topic has partitions 0 to ${partitions - 1}`,
    );
  const hasValue = record.value !== undefined;
  const hasBytes = record.valueBase64 !== undefined;
  if (hasValue === hasBytes) invalid(`${path} must have exactly one of 'value' (any JSON) or 'valueBase64'`);
  let valueJson = "null";
  let valueBase64: string | null = null;
  let valueBytes: number;
  if (hasBytes) {
    valueBase64 = record.valueBase64!;
    valueBytes = valueBase64.length;
  } else {
    if (nestsDeeperThan(record.value, RECORD_VALUE_DEPTH_MAX))
      invalid(`${path}.value nests deeper than ${RECORD_VALUE_DEPTH_MAX} levels`);
    valueJson = JSON.stringify(record.value);
    valueBytes = utf8Length(valueJson);
  }
  const headers =
    record.headers === undefined && inherited === null
      ? { json: "{}", bytes: 2 }
      : headersOf(record.headers, `${path}.headers`, inherited);
  const sizeBytes = (key === null ? 0 : utf8Length(key)) + valueBytes + headers.bytes;
  if (sizeBytes > maxMessageBytes)
    throw new EdgelogError(
      "RECORD_TOO_LARGE",
      `${path} is ${sizeBytes} bytes; the topic's max.message.bytes is ${maxMessageBytes}`,
    );
  return {
    key,
    partition,
    timestamp: record.timestamp,
    valueJson,
    valueBase64,
    headersJson: headers.json,
    sizeBytes,
  };
}

/**
 * Checks a whole produce body before anything is appended (a bad request changes
 * nothing): shape, types, limits, partitions against the topic, record sizes.
 */
export function parseProduceRequest(
  body: unknown,
  topic: { partitions: number; maxMessageBytes: number; keyRequired?: boolean },
  inherited: InheritedHeaders | null = null,
): ProduceRequest {
  // parseInput answers valid bodies from the check compiled from ProduceBody (compiled-check.ts).
  const request = parseInput(ProduceBody, body, "body");
  if (request.transactional && request.producer === undefined)
    invalid(
      'body.transactional needs body.producer: a producer from POST /v1/producers with a "transactionalId"',
    );
  const records = request.records;
  const parsed = new Array<ProduceRecord>(records.length);
  for (let i = 0; i < records.length; i++) {
    parsed[i] = toProduceRecord(
      records[i]!,
      i,
      topic.partitions,
      topic.maxMessageBytes,
      topic.keyRequired ?? false,
      inherited,
    );
  }
  return { records: parsed, producer: request.producer, transactional: request.transactional ?? false };
}
