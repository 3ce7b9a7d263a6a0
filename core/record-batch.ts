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
 * tuples (with the offset as a 7th member when the records are not contiguous: a
 * compacted log sent to a follower), stored with one INSERT … SELECT over json_each (one statement, not one a record),
 * and the records' bytes (for retention.bytes).
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
