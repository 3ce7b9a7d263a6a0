import { STREAM_PRODUCER_IDLE_MS, STREAM_READ_BYTES_MAX } from "../core/limits";
import type { Expiry, ProducerClaim } from "../core/stream-headers";
import type { StreamProducerState } from "../core/stream-producers";
import { runMigrations } from "./sql-migrations";

/**
 * A Durable Stream's SQLite: one row per append keyed by the stream's length after it
 * (its offset), the stream's settings as one JSON row, and its idempotent producers.
 * Synchronous: callers group statements in one transaction (transactionSync).
 */

const MIGRATIONS = [
  `CREATE TABLE stream_meta (id INTEGER PRIMARY KEY CHECK (id = 0), meta TEXT NOT NULL);
   CREATE TABLE stream_messages (end_position INTEGER PRIMARY KEY, data BLOB NOT NULL);
   CREATE TABLE stream_producers (id TEXT PRIMARY KEY, epoch INTEGER NOT NULL, last_seq INTEGER NOT NULL, used_at INTEGER NOT NULL);`,
];

export type StreamMeta = {
  /** A new random id per creation: ETags of a recreated stream never match the old one's. */
  instance: string;
  contentType: string;
  /** The expiry in force (a fork may inherit its source's). */
  expiry: Expiry;
  /** The expiry the creating PUT asked for: what an idempotent PUT is compared with. */
  requestedExpiry: Expiry;
  closed: boolean;
  /** The producer request that closed the stream: its repeat is a duplicate, not a conflict. */
  closedBy?: ProducerClaim;
  /** The last Stream-Seq appended with (compared as a string). */
  writerSeq?: string;
  tail: number;
  lastAccessMs: number;
  /** Deleted (or expired) while forks read it: 410 to everyone, kept until the last fork goes. */
  softDeleted: boolean;
  forks: number;
  fork?: { from: string; position: number; subOffset: number };
};

export type StoredAppend = { end: number; data: Uint8Array };

export class StreamStore {
  /** The stream's settings, or null when there is none (never created, deleted, expired). */
  meta: StreamMeta | null;

  constructor(private readonly sql: SqlStorage) {
    runMigrations(sql, MIGRATIONS);
    const row = sql.exec<{ meta: string }>("SELECT meta FROM stream_meta").toArray()[0];
    this.meta = row ? (JSON.parse(row.meta) as StreamMeta) : null;
  }

  saveMeta(meta: StreamMeta): void {
    this.meta = meta;
    this.sql.exec("INSERT OR REPLACE INTO stream_meta (id, meta) VALUES (0, ?)", JSON.stringify(meta));
  }

  insert(append: StoredAppend): void {
    this.sql.exec("INSERT INTO stream_messages (end_position, data) VALUES (?, ?)", append.end, append.data);
  }

  /** The appends after `start`, at most STREAM_READ_BYTES_MAX of them unless the first is larger. */
  readFrom(start: number): { appends: Uint8Array[]; next: number } {
    const appends: Uint8Array[] = [];
    let next = start;
    let bytes = 0;
    for (const row of this.sql.exec<{ end_position: number; data: ArrayBuffer }>(
      "SELECT end_position, data FROM stream_messages WHERE end_position > ? ORDER BY end_position",
      start,
    )) {
      if (appends.length > 0 && bytes + row.data.byteLength > STREAM_READ_BYTES_MAX) break;
      appends.push(new Uint8Array(row.data));
      bytes += row.data.byteLength;
      next = row.end_position;
    }
    return { appends, next };
  }

  /** Bytes stored up to a position (what a fork there would copy). */
  bytesUpTo(position: number): number {
    return (
      this.sql
        .exec<{ n: number | null }>(
          "SELECT sum(length(data)) AS n FROM stream_messages WHERE end_position <= ?",
          position,
        )
        .one().n ?? 0
    );
  }

  /** Every append up to a position, in order. */
  upTo(position: number): StoredAppend[] {
    return this.sql
      .exec<{ end_position: number; data: ArrayBuffer }>(
        "SELECT end_position, data FROM stream_messages WHERE end_position <= ? ORDER BY end_position",
        position,
      )
      .toArray()
      .map((row) => ({ end: row.end_position, data: new Uint8Array(row.data) }));
  }

  /** The append that starts at a position, if any. */
  appendAfter(position: number): Uint8Array | undefined {
    const row = this.sql
      .exec<{ data: ArrayBuffer }>(
        "SELECT data FROM stream_messages WHERE end_position > ? ORDER BY end_position LIMIT 1",
        position,
      )
      .toArray()[0];
    return row ? new Uint8Array(row.data) : undefined;
  }

  /** A producer's state; one unused for STREAM_PRODUCER_IDLE_MS is forgotten (treated as new). */
  producer(id: string): StreamProducerState | undefined {
    const row = this.sql
      .exec<{ epoch: number; last_seq: number; used_at: number }>(
        "SELECT epoch, last_seq, used_at FROM stream_producers WHERE id = ?",
        id,
      )
      .toArray()[0];
    if (row === undefined || Date.now() - row.used_at > STREAM_PRODUCER_IDLE_MS) return undefined;
    return { epoch: row.epoch, lastSeq: row.last_seq };
  }

  putProducer(id: string, state: StreamProducerState, nowMs: number): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO stream_producers (id, epoch, last_seq, used_at) VALUES (?, ?, ?, ?)",
      id,
      state.epoch,
      state.lastSeq,
      nowMs,
    );
  }

  /** Everything gone (the caller wraps it in a transaction). */
  clear(): void {
    this.sql.exec("DELETE FROM stream_messages");
    this.sql.exec("DELETE FROM stream_producers");
    this.sql.exec("DELETE FROM stream_meta");
    this.meta = null;
  }
}
