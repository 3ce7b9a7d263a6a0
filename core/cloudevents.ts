import { base64 } from "./credentials";

/**
 * CloudEvents 1.0 (https://github.com/cloudevents/spec) on edgelog records, as
 * the Kafka protocol binding's binary content mode stores them: the event's
 * `data` is the record's value (`data_base64` its valueBase64), each context
 * attribute and extension a `ce_<name>` header, `datacontenttype` the
 * `content-type` header, and the `partitionkey` extension (else `subject`) the
 * key. So plain consumers read the data, and `format=cloudevents` gives the
 * event back in structured mode. Pure: the gateway parses HTTP, this checks and
 * converts.
 */

export const CLOUDEVENTS_SPEC_VERSION = "1.0";
/** Header prefix of the Kafka binding's binary mode (HTTP's is `ce-`). */
export const CE_HEADER_PREFIX = "ce_";

/** Context attributes other than extensions; `data`/`data_base64` carry the payload. */
export const CONTEXT_ATTRIBUTES = [
  "specversion",
  "id",
  "source",
  "type",
  "datacontenttype",
  "dataschema",
  "subject",
  "time",
];
/** The spec's attribute names: lower-case ASCII letters and digits, at most 20 characters (its SHOULD, enforced). */
const ATTRIBUTE_NAME = /^[a-z0-9]{1,20}$/;
/** RFC 3339 date-time, as `time` must be. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export type StructuredEvent = Record<string, unknown>;

/** A produce request's record (API.md "Produce") holding one event. */
export type EventRecord = {
  key: string | null;
  value?: unknown;
  valueBase64?: string;
  headers: Record<string, string>;
};

/** A record as a fetch answers it (the fields this needs). */
export type ReadRecord = { value?: unknown; valueBase64?: string; headers?: Record<string, string> };

export class InvalidEvent extends Error {}

function refuse(message: string): never {
  throw new InvalidEvent(message);
}

function requiredString(event: StructuredEvent, name: string, path: string): string {
  const value = event[name];
  if (typeof value !== "string" || value.length === 0) refuse(`${path}.${name} must be a non-empty string`);
  return value;
}

/** Checks one event in structured JSON form and turns it into the record that stores it. */
export function eventToRecord(input: unknown, path: string): EventRecord {
  if (typeof input !== "object" || input === null || Array.isArray(input))
    refuse(`${path} must be a CloudEvent (a JSON object)`);
  const event = input as StructuredEvent;
  if (event.specversion !== CLOUDEVENTS_SPEC_VERSION)
    refuse(
      `${path}.specversion must be '${CLOUDEVENTS_SPEC_VERSION}', got ${JSON.stringify(event.specversion)}`,
    );
  const headers: Record<string, string> = {};
  for (const name of ["id", "source", "type"])
    headers[CE_HEADER_PREFIX + name] = requiredString(event, name, path);
  headers[`${CE_HEADER_PREFIX}specversion`] = CLOUDEVENTS_SPEC_VERSION;
  for (const name of ["dataschema", "subject", "time"]) {
    if (event[name] === undefined) continue;
    headers[CE_HEADER_PREFIX + name] = requiredString(event, name, path);
  }
  if (event.time !== undefined && !RFC3339.test(event.time as string))
    refuse(`${path}.time must be an RFC 3339 timestamp, got '${event.time}'`);
  if (event.datacontenttype !== undefined)
    headers["content-type"] = requiredString(event, "datacontenttype", path);
  const record: EventRecord = { key: null, headers };
  if (event.data !== undefined && event.data_base64 !== undefined)
    refuse(`${path} has both data and data_base64; an event carries one`);
  if (event.data_base64 !== undefined) {
    if (typeof event.data_base64 !== "string" || !BASE64.test(event.data_base64))
      refuse(`${path}.data_base64 must be a standard base64 string`);
    record.valueBase64 = event.data_base64;
  } else record.value = event.data ?? null;
  for (const name in event) {
    if (CONTEXT_ATTRIBUTES.includes(name) || name === "data" || name === "data_base64") continue;
    if (!ATTRIBUTE_NAME.test(name))
      refuse(`${path} has attribute '${name}'; extension names are 1 to 20 lower-case letters and digits`);
    const value = event[name];
    if (typeof value !== "string" && typeof value !== "boolean" && !Number.isSafeInteger(value))
      refuse(`${path}.${name} must be a string, a boolean or an integer`);
    headers[CE_HEADER_PREFIX + name] = String(value);
  }
  // The Kafka binding's partitioning extension, else the subject, keys the record.
  record.key = headers[`${CE_HEADER_PREFIX}partitionkey`] ?? headers[`${CE_HEADER_PREFIX}subject`] ?? null;
  return record;
}

/**
 * The structured form of an event in HTTP binary mode: `ce-*` headers (values
 * percent-decoded, as the HTTP binding encodes them), content-type, and the body.
 */
export function binaryToEvent(headers: Iterable<[string, string]>, body: Uint8Array | null): StructuredEvent {
  const event: StructuredEvent = {};
  let contentType: string | null = null;
  for (const [rawName, value] of headers) {
    const name = rawName.toLowerCase();
    if (name === "content-type") contentType = value;
    if (!name.startsWith("ce-")) continue;
    try {
      event[name.slice(3)] = decodeURIComponent(value);
    } catch {
      refuse(`header ${name} is not validly percent-encoded`);
    }
  }
  if (event.specversion === undefined)
    refuse(
      "a CloudEvent needs ce-specversion (binary mode), or content-type application/cloudevents+json or application/cloudevents-batch+json",
    );
  if (contentType !== null) event.datacontenttype = contentType;
  if (body === null || body.byteLength === 0) return event;
  const media = (contentType ?? "application/json").split(";")[0]!.trim().toLowerCase();
  if (media === "application/json" || media.endsWith("+json")) {
    try {
      event.data = JSON.parse(UTF8.decode(body));
    } catch {
      refuse(`the body is not valid JSON, as its content-type '${contentType ?? "application/json"}' says`);
    }
  } else if (media.startsWith("text/")) {
    try {
      event.data = UTF8.decode(body);
    } catch {
      refuse("a text/* body must be UTF-8");
    }
  } else event.data_base64 = base64(body);
  return event;
}

/** A stored record back as a structured event, or null when it was not produced as one. */
export function recordToEvent(record: ReadRecord): StructuredEvent | null {
  const headers = record.headers ?? {};
  if (headers[`${CE_HEADER_PREFIX}specversion`] === undefined) return null;
  const event: StructuredEvent = {};
  for (const name in headers)
    if (name.startsWith(CE_HEADER_PREFIX)) event[name.slice(CE_HEADER_PREFIX.length)] = headers[name];
  if (headers["content-type"] !== undefined) event.datacontenttype = headers["content-type"];
  if (record.valueBase64 !== undefined) event.data_base64 = record.valueBase64;
  else if (record.value !== undefined && record.value !== null) event.data = record.value;
  return event;
}
