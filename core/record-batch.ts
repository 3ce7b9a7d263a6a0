import { APPEND_CHUNK_BYTES_MAX } from "./limits";

/** A record as the gateway hands it to a partition leader: everything but its offset. */
export type EncodableRecord = {
  key: string | null;
  valueJson: string;
  valueBase64: string | null;
  headersJson: string;
  sizeBytes: number;
};

/**
 * Part of one append: a JSON array of `[timestamp, key, value, headers, valueBase64, size]`
 * tuples, stored with one INSERT … SELECT over json_each (one statement, not one a record).
 */
export type AppendChunk = { records: string; count: number };

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
): AppendChunk[] {
  const chunks: AppendChunk[] = [];
  let parts: string[] = [];
  let bytes = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const recordBytes = r.sizeBytes + TUPLE_OVERHEAD_BYTES;
    if (parts.length > 0 && bytes + recordBytes > APPEND_CHUNK_BYTES_MAX) {
      chunks.push({ records: `[${parts.join(",")}]`, count: parts.length });
      parts = [];
      bytes = 0;
    }
    const key = r.key === null ? "null" : JSON.stringify(r.key);
    const base64 = r.valueBase64 === null ? "null" : `"${r.valueBase64}"`;
    parts.push(`[${timestamps[i]},${key},${r.valueJson},${r.headersJson},${base64},${r.sizeBytes}]`);
    bytes += recordBytes;
  }
  if (parts.length > 0) chunks.push({ records: `[${parts.join(",")}]`, count: parts.length });
  return chunks;
}
