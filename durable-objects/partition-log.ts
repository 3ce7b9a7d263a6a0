import { assert, type ErrorInfo, fail } from "../core/errors";
import { APPEND_CHUNK_BYTES_MAX } from "../core/limits";
import { type AbortedRange, isAborted } from "../core/partition-transactions";
import {
  type AppendChunk,
  encodeAppendChunks,
  INSERT_CONTIGUOUS_SQL,
  INSERT_WITH_OFFSETS_SQL,
  type LogRow,
  type LogRowWithProducer,
  recordJson,
  rowOffset,
  rowProducer,
  rowRecord,
  rowSize,
  rowTimestamp,
  SELECT_ROWS_SQL,
  SELECT_ROWS_WITH_PRODUCER_SQL,
} from "../core/record-codec";
import type { EpochEntry } from "../core/replication";
import { withDefaults } from "../core/topic-config";
import type { ReplicaState } from "./contract";
import { PARTITION_LOG_MIGRATIONS, type StateRow } from "./partition-log-schema";
import { PartitionTransactionStore } from "./partition-transaction-store";
import { ProducerStateStore } from "./producer-state";
import { runMigrations } from "./sql-migrations";

/**
 * One replica's log in its Durable Object's SQLite (Kafka's LocalLog): records by
 * offset, a time index, the leader-epoch history and the replica's durable state.
 * Synchronous: every method is one or a few statements without an await, so a
 * caller's sequence of calls commits as one transaction.
 */

/** The refusal of a replica that is not (or no longer) this incarnation's. */
export function unknownTopic() {
  return fail("UNKNOWN_TOPIC_OR_PARTITION", "this topic-partition does not exist (deleted or never created)");
}

/**
 * How long a moved high watermark may wait for the next append's transaction to
 * write it before it is written by a commit of its own (Kafka checkpoints every 5 s).
 * Each such commit is an fsync on the one thread locally: at 100 ms, a partition
 * written every second or so paid two commits an append. A restarted leader reads
 * up to its checkpoint until its followers answer (docs/replication.md).
 */
const HIGH_WATERMARK_CHECKPOINT_MS = 1_000;

export class PartitionLog {
  /** What this replica is; null until the registry creates it (or after its topic was deleted). */
  state: ReplicaState | null = null;
  logStartOffset = 0;
  logEndOffset = 0;
  /** Moved by the leader's ReplicationState rule or, on a follower, by its leader; checkpointed (saveHighWatermark). */
  highWatermark = 0;
  /** The high watermark storage holds (an append's transaction writes a moved one: no commit of its own). */
  private checkpointedHighWatermark = 0;
  private checkpointTimer: ReturnType<typeof setTimeout> | null = null;
  maxTimestamp = 0;
  /** Kafka's leader-epoch cache: which epoch wrote the records from which offset on. */
  epochs: EpochEntry[] = [];
  readonly producers: ProducerStateStore;
  readonly transactions: PartitionTransactionStore;

  constructor(private readonly sql: SqlStorage) {
    this.producers = new ProducerStateStore(sql);
    this.transactions = new PartitionTransactionStore(sql);
  }

  /** The replica's state where the caller already knows it exists (a leader, a running timer): a bug otherwise. */
  get current(): ReplicaState {
    if (this.state === null) throw new Error("partition state read before the replica was created");
    return this.state;
  }

  isLeader(): boolean {
    return this.state !== null && this.state.leader === this.state.replica;
  }

  /** Null when this replica leads `leaderEpoch` of incarnation `topicId`; else the refusal to answer. */
  leaderCheck(topicId: string, leaderEpoch: number): { ok: false; error: ErrorInfo } | null {
    const state = this.state;
    if (state === null || state.topicId !== topicId) return unknownTopic();
    if (!this.isLeader() || leaderEpoch !== state.leaderEpoch)
      return fail(
        "NOT_LEADER_OR_FOLLOWER",
        `replica ${state.replica} is not the leader of epoch ${leaderEpoch} (it knows epoch ${state.leaderEpoch}, leader ${state.leader})`,
        { leaderEpoch: state.leaderEpoch },
      );
    return null;
  }

  /** Reads the replica's state and offsets back from storage (at start, and after a wipe). */
  load(): void {
    runMigrations(this.sql, PARTITION_LOG_MIGRATIONS);
    const row = this.sql.exec<StateRow>("SELECT * FROM partition_state WHERE id = 0").toArray()[0];
    this.state = row
      ? {
          topic: row.topic,
          partition: row.partition,
          topicId: row.topic_id,
          configs: withDefaults(JSON.parse(row.configs), row.replication_factor),
          replica: row.replica,
          replicationFactor: row.replication_factor,
          leader: row.leader,
          leaderEpoch: row.leader_epoch,
          isr: JSON.parse(row.isr),
        }
      : null;
    this.logStartOffset = row?.log_start_offset ?? 0;
    this.transactions.load();
    const last = this.sql.exec<{ last: number | null }>('SELECT max("offset") AS last FROM log').one().last;
    // Offsets are never reused: when retention has emptied the log, logStartOffset marks its end;
    // a transaction marker (not a record) may be the last offset.
    this.logEndOffset = Math.max(
      last === null ? 0 : last + 1,
      this.transactions.markersEnd(),
      this.logStartOffset,
    );
    this.highWatermark = Math.min(row?.high_watermark ?? 0, this.logEndOffset);
    this.checkpointedHighWatermark = row?.high_watermark ?? 0;
    this.maxTimestamp = this.storedMaxTimestamp();
    this.epochs = this.sql
      .exec<{ epoch: number; start_offset: number }>(
        "SELECT epoch, start_offset FROM leader_epochs ORDER BY epoch",
      )
      .toArray()
      .map((e) => ({ epoch: e.epoch, startOffset: e.start_offset }));
  }

  /** Writes the replica's state with its logStartOffset and high watermark. */
  saveState(): void {
    const state = this.current;
    const logStartOffset = this.logStartOffset;
    const highWatermark = this.highWatermark;
    this.sql.exec(
      `INSERT INTO partition_state (id, topic, partition, topic_id, configs, log_start_offset, replica,
         replication_factor, leader, leader_epoch, isr, high_watermark)
       VALUES (0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET configs = excluded.configs, log_start_offset = excluded.log_start_offset,
         leader = excluded.leader, leader_epoch = excluded.leader_epoch, isr = excluded.isr,
         high_watermark = excluded.high_watermark`,
      state.topic,
      state.partition,
      state.topicId,
      JSON.stringify(state.configs),
      logStartOffset,
      state.replica,
      state.replicationFactor,
      state.leader,
      state.leaderEpoch,
      JSON.stringify(state.isr),
      highWatermark,
    );
    this.checkpointedHighWatermark = highWatermark;
  }

  /** Kafka's last stable offset: the first offset of the oldest open transaction, else the high watermark. */
  get lastStableOffset(): number {
    return this.transactions.lastStableOffset(this.highWatermark);
  }

  /** Checkpoints the high watermark (a restarted leader asks its followers for the rest). */
  saveHighWatermark(): void {
    this.sql.exec("UPDATE partition_state SET high_watermark = ? WHERE id = 0", this.highWatermark);
    this.checkpointedHighWatermark = this.highWatermark;
  }

  /**
   * The high watermark moved: written by the leader's next append's transaction
   * (LeaderAppend), or by a commit of its own HIGH_WATERMARK_CHECKPOINT_MS later
   * when no append came. (A follower writes its leader's with every call.)
   */
  checkpointHighWatermarkSoon(): void {
    if (this.checkpointTimer !== null || !this.highWatermarkUnsaved) return;
    this.checkpointTimer = setTimeout(() => {
      this.checkpointTimer = null;
      if (this.highWatermarkUnsaved) this.saveHighWatermark();
    }, HIGH_WATERMARK_CHECKPOINT_MS);
  }

  /**
   * Whether the high watermark moved since storage last had it, and is kept: a sole
   * replica keeps none (restarted, its high watermark is its log end at once).
   */
  get highWatermarkUnsaved(): boolean {
    const state = this.state;
    return (
      state !== null && state.replicationFactor > 1 && this.highWatermark !== this.checkpointedHighWatermark
    );
  }

  /**
   * Inserts the records of `chunks` from `baseOffset` on, skipping the first
   * `skip` (already present: a re-sent batch never duplicates). One INSERT … SELECT
   * over json_each per chunk. Returns the new log end offset.
   */
  append(baseOffset: number, chunks: readonly AppendChunk[], maxTimestamp: number, skip = 0): number {
    let next = baseOffset;
    let toSkip = skip;
    for (const chunk of chunks) {
      if (toSkip < chunk.count) {
        this.sql.exec(INSERT_CONTIGUOUS_SQL, next, chunk.records, toSkip);
      }
      toSkip = Math.max(0, toSkip - chunk.count);
      next += chunk.count;
    }
    const firstNew = baseOffset + skip;
    assert(next > firstNew, "an append stores at least one new record");
    // A re-sent batch partly present counts its bytes whole: retention by bytes errs on keeping.
    const bytes = chunks.reduce((n, c) => n + c.bytes, 0);
    this.sql.exec(
      "INSERT OR REPLACE INTO time_index (base_offset, max_timestamp, bytes) VALUES (?, ?, ?)",
      firstNew,
      maxTimestamp,
      bytes,
    );
    return next;
  }

  /**
   * Inserts records that carry their own offsets (read from a compacted leader
   * log, so possibly with gaps), those at or above `from` only. The batch counts
   * as appended at `from` in the time index.
   */
  appendAt(chunks: readonly AppendChunk[], from: number, maxTimestamp: number): void {
    for (const chunk of chunks) this.sql.exec(INSERT_WITH_OFFSETS_SQL, chunk.records, from);
    const bytes = chunks.reduce((n, c) => n + c.bytes, 0);
    this.sql.exec(
      "INSERT OR REPLACE INTO time_index (base_offset, max_timestamp, bytes) VALUES (?, ?, ?)",
      from,
      maxTimestamp,
      bytes,
    );
  }

  /** Removes every record at or above `offset` (a follower's divergent suffix). */
  truncateTo(offset: number): void {
    this.sql.exec("DELETE FROM producer_batches WHERE base_offset >= ?", offset);
    this.sql.exec('DELETE FROM log WHERE "offset" >= ?', offset);
    this.sql.exec("DELETE FROM time_index WHERE base_offset >= ?", offset);
    this.sql.exec("DELETE FROM leader_epochs WHERE start_offset >= ?", offset);
    this.transactions.truncateTo(offset);
  }

  /** The largest timestamp stored (the time index's running maximum), 0 for an empty log. */
  storedMaxTimestamp(): number {
    return this.sql.exec<{ t: number | null }>("SELECT max(max_timestamp) AS t FROM time_index").one().t ?? 0;
  }

  /** Replaces the leader-epoch history (a follower mirrors its leader's, cut at its log end). */
  saveEpochs(epochs: readonly EpochEntry[]): void {
    this.sql.exec("DELETE FROM leader_epochs");
    for (const e of epochs)
      this.sql.exec("INSERT INTO leader_epochs (epoch, start_offset) VALUES (?, ?)", e.epoch, e.startOffset);
  }

  /**
   * Records in [start, end) as JSON objects joined by commas, built by
   * concatenating stored JSON text without parsing it; at most `maxBytes` of them
   * after the first (always returned, so that a consumer progresses). `prefix`
   * is put first in every object (a group fetch adds `"topic":…,"partition":…,`).
   * Records of the `aborted` ranges (a read_committed read) are skipped; at most
   * `maxRecords` rows are looked at, skipped ones included.
   */
  recordsText(
    start: number,
    end: number,
    maxRecords: number,
    maxBytes: number,
    prefix = "",
    aborted: readonly AbortedRange[] = [],
  ): { text: string; records: number; next: number } {
    let text = "";
    let next = start;
    let records = 0;
    let scanned = 0;
    let full = false;
    if (start < end) {
      let bytes = 0;
      const filtering = aborted.length > 0;
      const rows = filtering
        ? this.rowsWithProducer(start, end, maxRecords)
        : this.rows(start, end, maxRecords);
      for (const row of rows) {
        scanned++;
        if (filtering && isAborted(aborted, rowProducer(row as LogRowWithProducer), rowOffset(row))) {
          next = rowOffset(row) + 1;
          continue;
        }
        const size = rowSize(row);
        if (records > 0 && bytes + size > maxBytes) {
          full = true;
          break;
        }
        bytes += size;
        if (records > 0) text += ",";
        records++;
        text += recordJson(row, prefix);
        next = rowOffset(row) + 1;
      }
      // Compaction and markers leave gaps: when nothing stopped the read early, it covered up to `end`.
      if (!full && scanned < maxRecords) next = end;
    }
    return { text, records, next };
  }

  /** Records in [start, end) re-encoded as append chunks, at most `maxBytes` (for catching a follower up). */
  readChunks(start: number, end: number, maxBytes = APPEND_CHUNK_BYTES_MAX) {
    const records = [];
    const timestamps: number[] = [];
    const offsets: number[] = [];
    let bytes = 0;
    let maxTimestamp = 0;
    let next = end;
    for (const row of this.rows(start, end)) {
      const size = rowSize(row);
      if (records.length > 0 && bytes + size > maxBytes) {
        next = rowOffset(row);
        break;
      }
      bytes += size;
      records.push(rowRecord(row));
      const timestamp = rowTimestamp(row);
      timestamps.push(timestamp);
      offsets.push(rowOffset(row));
      if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    }
    // Records carry their offsets: a compacted log has gaps. `next` is where this read ends.
    return {
      chunks: encodeAppendChunks(records, timestamps, offsets),
      count: records.length,
      maxTimestamp,
      next,
    };
  }

  /** The stored records in [start, end), in offset order, as raw rows (no per-row objects). */
  private rows(start: number, end: number, limit = -1): IterableIterator<LogRow> {
    return this.sql.exec(SELECT_ROWS_SQL, start, end, limit).raw() as IterableIterator<LogRow>;
  }

  /** The same rows with each one's transactional producer (for read_committed reads that skip aborted ones). */
  private rowsWithProducer(start: number, end: number, limit: number): IterableIterator<LogRowWithProducer> {
    return this.sql
      .exec(SELECT_ROWS_WITH_PRODUCER_SQL, start, end, limit)
      .raw() as IterableIterator<LogRowWithProducer>;
  }

  /** Kafka's offsetsForTimes: the first offset at or after `from` whose timestamp is ≥ `timestamp`, or null. */
  offsetForTimestamp(timestamp: number, from: number): number | null {
    const batch = this.sql
      .exec<{ base_offset: number }>(
        "SELECT base_offset FROM time_index WHERE max_timestamp >= ? ORDER BY max_timestamp, base_offset LIMIT 1",
        timestamp,
      )
      .toArray()[0];
    if (!batch) return null;
    const row = this.sql
      .exec<{ offset: number }>(
        'SELECT "offset" FROM log WHERE "offset" >= ? AND timestamp >= ? ORDER BY "offset" LIMIT 1',
        Math.max(batch.base_offset, from),
        timestamp,
      )
      .toArray()[0];
    return row ? row.offset : null;
  }
}
