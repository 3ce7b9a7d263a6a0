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
import { expectInt, expectObject, invalid, rejectUnknownFields, typeName, utf8Length } from "./input";
import { PRODUCER_ID } from "./producers";

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

const REQUEST_FIELDS = ["records", "producer", "transactional"] as const;
const RECORD_FIELDS = ["key", "value", "valueBase64", "headers", "partition", "timestamp"] as const;
const PRODUCER_FIELDS = ["id", "epoch", "sequence"] as const;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

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

function parseHeaders(
  value: unknown,
  path: string,
  inherited: InheritedHeaders | null,
): { json: string; bytes: number } {
  let headers = value === undefined ? {} : expectObject(value, path);
  // A record's own trace context wins; otherwise it carries its request's (tracestate goes with traceparent).
  if (inherited !== null && !("traceparent" in headers)) {
    headers = { ...headers, traceparent: inherited.traceparent };
    if (inherited.tracestate !== null) headers.tracestate = inherited.tracestate;
  }
  const from = inherited === null ? "" : " (the request's traceparent and tracestate included)";
  let count = 0;
  for (const name in headers) {
    count++;
    if (count > RECORD_HEADERS_MAX) invalid(`${path} has more than ${RECORD_HEADERS_MAX} headers${from}`);
    if (name.length === 0 || name.length > RECORD_HEADER_KEY_LENGTH_MAX)
      invalid(`${path} header names must be 1 to ${RECORD_HEADER_KEY_LENGTH_MAX} characters long`);
    const headerValue = headers[name];
    if (typeof headerValue !== "string")
      invalid(`${path}.${name} must be a string, got ${typeName(headerValue)}`);
  }
  if (count === 0) return { json: "{}", bytes: 2 };
  const json = JSON.stringify(headers);
  return { json, bytes: utf8Length(json) };
}

function parseRecord(
  input: unknown,
  index: number,
  partitions: number,
  maxMessageBytes: number,
  keyRequired: boolean,
  inherited: InheritedHeaders | null,
): ProduceRecord {
  const path = `records[${index}]`;
  const record = expectObject(input, path);
  rejectUnknownFields(record, RECORD_FIELDS, path);

  let key: string | null = null;
  if (record.key !== undefined && record.key !== null) {
    if (typeof record.key !== "string")
      invalid(`${path}.key must be a string or null, got ${typeName(record.key)}`);
    key = record.key;
  }
  if (key === null && keyRequired)
    throw new EdgelogError(
      "INVALID_RECORD",
      `${path} has no key; a compacted topic keeps the latest record per key, so every record needs one`,
    );

  let partition: number | undefined;
  if (record.partition !== undefined) {
    partition = expectInt(record.partition, `${path}.partition`, 0, Number.MAX_SAFE_INTEGER);
    if (partition >= partitions)
      throw new EdgelogError(
        "UNKNOWN_TOPIC_OR_PARTITION",
        `${path}.partition is ${partition} but the topic has partitions 0 to ${partitions - 1}`,
      );
  }

  const timestamp =
    record.timestamp === undefined
      ? undefined
      : expectInt(record.timestamp, `${path}.timestamp`, 0, TIMESTAMP_MAX);

  const hasValue = "value" in record;
  const hasBytes = record.valueBase64 !== undefined;
  if (hasValue === hasBytes) invalid(`${path} must have exactly one of 'value' (any JSON) or 'valueBase64'`);
  let valueJson = "null";
  let valueBase64: string | null = null;
  let valueBytes: number;
  if (hasBytes) {
    if (typeof record.valueBase64 !== "string" || !BASE64.test(record.valueBase64))
      invalid(`${path}.valueBase64 must be a standard base64 string (RFC 4648, padded)`);
    valueBase64 = record.valueBase64;
    valueBytes = valueBase64.length;
  } else {
    if (record.value === undefined) invalid(`${path}.value must be a JSON value`);
    if (nestsDeeperThan(record.value, RECORD_VALUE_DEPTH_MAX))
      invalid(`${path}.value nests deeper than ${RECORD_VALUE_DEPTH_MAX} levels`);
    valueJson = JSON.stringify(record.value);
    valueBytes = utf8Length(valueJson);
  }

  const headers =
    record.headers === undefined && inherited === null
      ? { json: "{}", bytes: 2 }
      : parseHeaders(record.headers, `${path}.headers`, inherited);
  const sizeBytes = (key === null ? 0 : utf8Length(key)) + valueBytes + headers.bytes;
  if (sizeBytes > maxMessageBytes)
    throw new EdgelogError(
      "RECORD_TOO_LARGE",
      `${path} is ${sizeBytes} bytes; the topic's max.message.bytes is ${maxMessageBytes}`,
    );
  return { key, partition, timestamp, valueJson, valueBase64, headersJson: headers.json, sizeBytes };
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
  const request = expectObject(body, "body");
  rejectUnknownFields(request, REQUEST_FIELDS, "body");
  const producer = request.producer === undefined ? undefined : parseProducerRef(request.producer);
  const transactional = request.transactional ?? false;
  if (typeof transactional !== "boolean")
    invalid(`body.transactional must be true or false, got ${typeName(transactional)}`);
  if (transactional && producer === undefined)
    invalid(
      'body.transactional needs body.producer: a producer from POST /v1/producers with a "transactionalId"',
    );
  const records = request.records;
  if (!Array.isArray(records)) invalid(`body.records must be an array of records, got ${typeName(records)}`);
  if (records.length === 0) invalid("body.records must hold at least one record");
  if (records.length > PRODUCE_RECORDS_MAX)
    invalid(
      `body.records holds ${records.length} records; at most ${PRODUCE_RECORDS_MAX} are allowed a request`,
    );
  const parsed = new Array<ProduceRecord>(records.length);
  for (let i = 0; i < records.length; i++) {
    parsed[i] = parseRecord(
      records[i],
      i,
      topic.partitions,
      topic.maxMessageBytes,
      topic.keyRequired ?? false,
      inherited,
    );
  }
  return { records: parsed, producer, transactional };
}

/** `producer: { id, epoch, sequence }` of an idempotent produce request. */
function parseProducerRef(input: unknown): ProducerRef {
  const producer = expectObject(input, "body.producer");
  rejectUnknownFields(producer, PRODUCER_FIELDS, "body.producer");
  if (typeof producer.id !== "string" || !PRODUCER_ID.test(producer.id))
    invalid("body.producer.id must be an id from POST /v1/producers (64 hexadecimal digits)");
  return {
    id: producer.id,
    epoch: expectInt(producer.epoch, "body.producer.epoch", 0, PRODUCER_EPOCH_MAX),
    sequence: expectInt(producer.sequence, "body.producer.sequence", 0, Number.MAX_SAFE_INTEGER),
  };
}
