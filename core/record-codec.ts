import { APPEND_CHUNK_BYTES_MAX } from "./limits";

/**
 * The stored record's codec: the tuple a record travels in from the gateway to
 * a partition leader and from a leader to its followers, the SQL that stores
 * those tuples and reads the rows back, and the JSON text a fetch answers. No
 * other module knows the tuple's layout or the log table's columns.
 */

/** A record as the gateway hands it to a partition leader: everything but its offset. */
export type EncodableRecord = {
  key: string | null;
  valueJson: string;
  valueBase64: string | null;
  headersJson: string;
  sizeBytes: number;
};

/**
 * Part of one append: a JSON array of tuples (TUPLE below; with the offset as a
 * 7th member when the records are not contiguous: a compacted log sent to a
 * follower), stored with one INSERT … SELECT over json_each (one statement, not
 * one a record), and the records' bytes (for retention.bytes).
 */
export type AppendChunk = { records: string; count: number; bytes: number };

/** Per-record overhead of the tuple text beyond `sizeBytes` (brackets, commas, numbers, nulls). */
const TUPLE_OVERHEAD_BYTES = 64;

/**
 * Encodes one partition's records, in request order, into chunks small enough
 * for one SQLite bound parameter (APPEND_CHUNK_BYTES_MAX); a single larger
 * record still travels alone in its own chunk.
 */
export function encodeAppendChunks(
  records: readonly EncodableRecord[],
  timestamps: readonly number[],
  offsets?: readonly number[],
): AppendChunk[] {
  const chunks: AppendChunk[] = [];
  let parts: string[] = [];
  /** Approximate tuple-text bytes of the chunk so far (for the parameter limit). */
  let textBytes = 0;
  /** Record bytes (sizeBytes) of the chunk so far (for retention.bytes). */
  let recordBytes = 0;
  const flush = () => {
    chunks.push({ records: `[${parts.join(",")}]`, count: parts.length, bytes: recordBytes });
    parts = [];
    textBytes = 0;
    recordBytes = 0;
  };
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const tupleBytes = r.sizeBytes + TUPLE_OVERHEAD_BYTES;
    if (parts.length > 0 && textBytes + tupleBytes > APPEND_CHUNK_BYTES_MAX) flush();
    const key = r.key === null ? "null" : JSON.stringify(r.key);
    const base64 = r.valueBase64 === null ? "null" : `"${r.valueBase64}"`;
    const offset = offsets ? `,${offsets[i]}` : "";
    parts.push(`[${timestamps[i]},${key},${r.valueJson},${r.headersJson},${base64},${r.sizeBytes}${offset}]`);
    textBytes += tupleBytes;
    recordBytes += r.sizeBytes;
  }
  if (parts.length > 0) flush();
  return chunks;
}

/** Positions in a record tuple: `[timestamp, key, value, headers, valueBase64, size, offset?]`. */
const TUPLE = { timestamp: 0, key: 1, value: 2, headers: 3, valueBase64: 4, size: 5, offset: 6 } as const;

/** One tuple member of a json_each row `e` (`->>` a SQL value, `->` JSON text). */
function member(name: keyof typeof TUPLE, as: "->>" | "->" = "->>"): string {
  return `e.value ${as} '$[${TUPLE[name]}]'`;
}

/** The log table's columns, in the order LogRow reads them. */
const LOG_COLUMNS = '"offset", timestamp, key, value, value_base64, headers, size';

/** The stored columns but the offset, from a tuple (a base64 value stores no JSON value). */
const TUPLE_VALUES = `${member("timestamp")}, ${member("key")},
  CASE WHEN ${member("valueBase64")} IS NULL THEN ${member("value", "->")} END,
  ${member("valueBase64")}, ${member("headers", "->")}, ${member("size")}`;

/**
 * Stores one chunk of contiguous tuples: binds (first offset, chunk text, tuples to
 * skip); the n-th tuple gets offset first + n.
 */
export const INSERT_CONTIGUOUS_SQL = `INSERT INTO log (${LOG_COLUMNS})
  SELECT ? + e.key, ${TUPLE_VALUES} FROM json_each(?) AS e WHERE e.key >= ?`;

/** Stores one chunk of tuples that carry their offsets: binds (chunk text, lowest offset stored). */
export const INSERT_WITH_OFFSETS_SQL = `INSERT INTO log (${LOG_COLUMNS})
  SELECT ${member("offset")}, ${TUPLE_VALUES} FROM json_each(?) AS e WHERE ${member("offset")} >= ?`;

/** Rows in [start, end) in offset order, at most `limit` (-1: all): binds (start, end, limit). */
export const SELECT_ROWS_SQL = `SELECT ${LOG_COLUMNS} FROM log
  WHERE "offset" >= ? AND "offset" < ? ORDER BY "offset" LIMIT ?`;

/** SELECT_ROWS_SQL with each row's transactional producer (null: not transactional) last. */
export const SELECT_ROWS_WITH_PRODUCER_SQL = `SELECT ${LOG_COLUMNS}, producer_id FROM log
  WHERE "offset" >= ? AND "offset" < ? ORDER BY "offset" LIMIT ?`;

/** A stored record as SELECT_ROWS_SQL answers it (raw: no object per row). */
export type LogRow = [
  offset: number,
  timestamp: number,
  key: string | null,
  value: string | null,
  valueBase64: string | null,
  headers: string,
  size: number,
];

/** A row of SELECT_ROWS_WITH_PRODUCER_SQL. */
export type LogRowWithProducer = [...LogRow, producerId: string | null];

/** Either kind of row (the accessors below read the members both have). */
type AnyLogRow = LogRow | LogRowWithProducer;

export const rowOffset = (row: AnyLogRow): number => row[0];
export const rowProducer = (row: LogRowWithProducer): string | null => row[7];
export const rowTimestamp = (row: AnyLogRow): number => row[1];
export const rowSize = (row: AnyLogRow): number => row[6];

/**
 * A row as the JSON object a fetch answers, built by concatenating stored JSON
 * text without parsing it; `prefix` goes first (a consumer's fetch names its
 * topic and partition).
 */
export function recordJson(row: AnyLogRow, prefix: string): string {
  const [offset, timestamp, key, value, valueBase64, headers] = row;
  const keyJson = key === null ? "null" : JSON.stringify(key);
  const valueField = valueBase64 === null ? `"value":${value}` : `"valueBase64":"${valueBase64}"`;
  return `{${prefix}"offset":${offset},"timestamp":${timestamp},"key":${keyJson},${valueField},"headers":${headers}}`;
}

/** A row as a record to encode again (a catch-up read for a follower). */
export function rowRecord(row: LogRow): EncodableRecord {
  const [, , key, value, valueBase64, headers, size] = row;
  return { key, valueJson: value ?? "null", valueBase64, headersJson: headers, sizeBytes: size };
}
