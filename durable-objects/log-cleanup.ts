import { deletesByRetention, isCompacted } from "../core/topic-config";
import type { AlarmScheduler } from "./alarm-scheduler";
import type { PartitionLog } from "./partition-log";

/**
 * What a replica's log lets go (Kafka's log cleanup): retention by time and
 * size (cleanup.policy delete), compaction (cleanup.policy compact) and the
 * expiry of silent idempotent producers — the policies and their SQL. Every run
 * is bounded work; each answers when it is due again, and the partition's alarm
 * runs them.
 */

/** Records deleted per step of retention (one alarm run, one replicate call on a follower). */
const RETENTION_DELETE_ROWS_MAX = 10_000;
/** After appends, how soon retention.bytes is checked (coalesced with any earlier alarm). */
const RETENTION_BYTES_CHECK_MS = 1_000;
/** How soon retention looks again when expired records wait for the high watermark. */
const RETENTION_BLOCKED_RETRY_MS = 1_000;
/** The latest a retention.ms check is put off (a clock or config change is caught by then). */
const RETENTION_CHECK_MS_MAX = 60 * 60 * 1000;
/** Offsets one compaction step covers (one alarm run): bounded work, readers never wait long. */
const COMPACTION_STEP_OFFSETS = 10_000;
/** How soon a compacted log is looked at again after new records or with tombstones waiting (Kafka's cleaner back-off is 15 s). */
const COMPACTION_INTERVAL_MS = 5_000;
/** Producers forgotten per alarm run once silent for producer.id.expiration.ms (bounded work). */
const PRODUCER_EXPIRY_MAX = 1_000;

export class LogCleanup {
  /**
   * Log compaction: the pass under way (the next offset to clean and the bound
   * fixed when it started), and what the last pass saw, to skip passes with nothing new.
   */
  private compaction: { next: number; end: number; bound: number } | null = null;
  private lastCompactionBound = -1;
  /** When the oldest tombstone the last pass kept may go (delete.retention.ms after its timestamp). */
  private tombstoneDueMs = 0;
  /** An alarm is set for forgetting silent producers (one per leadership; re-armed by the alarm). */
  private producerExpiryArmed = false;
  /** A follower still has rows below logStartOffset to delete (set when the leader's moves; true after a load). */
  private retentionPending = true;

  constructor(
    private readonly sql: SqlStorage,
    private readonly log: PartitionLog,
    private readonly alarms: AlarmScheduler,
    /** Kafka's producer.id.expiration.ms (a deployment setting). */
    private readonly producerExpirationMs: number,
  ) {}

  /**
   * The alarm's cleanup: every replica compacts its own log (as Kafka's brokers
   * do; the same rule gives the same result), a leader also applies retention
   * and forgets silent producers. Answers when it is due again (Infinity: never).
   */
  run(now: number): number {
    const compactionNextMs = this.compactStep(now);
    if (!this.log.isLeader()) return compactionNextMs;
    return Math.min(compactionNextMs, this.applyRetention(now), this.expireProducers(now));
  }

  /** A leader appended a batch at `baseOffset`: arm the checks its configs call for. */
  afterAppend(baseOffset: number): void {
    const configs = this.log.current.configs;
    if (isCompacted(configs)) void this.alarms.schedule(Date.now() + COMPACTION_INTERVAL_MS);
    if (configs["retention.bytes"] >= 0) void this.alarms.schedule(Date.now() + RETENTION_BYTES_CHECK_MS);
    else if (configs["retention.ms"] >= 0 && baseOffset === this.log.logStartOffset)
      void this.alarms.schedule(this.nextRetentionCheck()); // the first batch: when could it expire?
  }

  /** A follower stored its leader's records: a compacted log is looked at again soon. */
  afterReplicate(): void {
    if (isCompacted(this.log.current.configs)) void this.alarms.schedule(Date.now() + COMPACTION_INTERVAL_MS);
  }

  /**
   * A follower follows its leader's logStartOffset: what it lacks below it is gone
   * everywhere (it goes on from there), and its own rows below it are deleted, a
   * bounded number per call.
   */
  followLogStart(leaderLogStartOffset: number): void {
    const log = this.log;
    if (leaderLogStartOffset > log.logStartOffset) {
      log.logStartOffset = leaderLogStartOffset;
      if (log.logEndOffset < log.logStartOffset) log.logEndOffset = log.logStartOffset;
      log.saveState();
      this.retentionPending = true;
    }
    if (this.retentionPending)
      this.retentionPending = this.deleteBelow(log.logStartOffset, RETENTION_DELETE_ROWS_MAX);
  }

  /** A new leader forgets the producers its predecessor's copies hold once they expire. */
  armProducerExpiry(): void {
    this.producerExpiryArmed = true;
    void this.alarms.schedule(Date.now() + this.producerExpirationMs);
  }

  /** An idempotent producer's batch was appended: producers expire from now on. */
  onProducerBatch(): void {
    if (!this.producerExpiryArmed) this.armProducerExpiry();
  }

  /**
   * Moves logStartOffset past what retention.ms / retention.bytes let go (whole
   * batches, never past the high watermark: only records every consumer could
   * have read expire) and deletes a bounded number of records below it. Offsets
   * are never reused. Answers when the next check is due (Infinity: none).
   */
  private applyRetention(now: number): number {
    const log = this.log;
    const configs = log.current.configs;
    const deletes = deletesByRetention(configs); // cleanup.policy=compact alone keeps old records
    const retentionMs = deletes ? configs["retention.ms"] : -1;
    const cutoff = retentionMs >= 0 ? now - retentionMs : -1;
    const target = this.retentionStart(
      cutoff,
      deletes ? configs["retention.bytes"] : -1,
      log.logStartOffset,
      // Never past an open transaction's records: its outcome is not known yet.
      log.lastStableOffset,
    );
    if (target > log.logStartOffset) {
      log.logStartOffset = target;
      log.saveState();
    }
    if (this.deleteBelow(log.logStartOffset, RETENTION_DELETE_ROWS_MAX)) return now; // more to delete: continue at once
    return retentionMs >= 0 ? this.nextRetentionCheck() : Number.POSITIVE_INFINITY;
  }

  /**
   * One step of log compaction (cleanup.policy compact): a pass cleans from
   * logStartOffset up to the last record (never cleaned, so the log end survives a
   * restart), against the records below the high watermark when it started, COMPACTION_STEP_OFFSETS
   * offsets a step, each step one transaction. A pass starts when records arrived
   * since the last one or a kept tombstone's delete.retention.ms is up. Answers when
   * the next step is due (Infinity: nothing to do).
   */
  private compactStep(now: number): number {
    const log = this.log;
    const configs = log.current.configs;
    if (!isCompacted(configs)) {
      this.compaction = null;
      return Number.POSITIVE_INFINITY;
    }
    if (this.compaction === null) {
      // Never an open transaction's records (Kafka's cleaner stops at the last stable offset too).
      const bound = log.lastStableOffset;
      const end = Math.min(bound, log.logEndOffset - 1);
      if (end <= log.logStartOffset) return Number.POSITIVE_INFINITY;
      if (bound === this.lastCompactionBound && now < this.tombstoneDueMs) return this.tombstoneDueMs;
      this.compaction = { next: log.logStartOffset, end, bound };
    }
    const pass = this.compaction;
    const from = Math.max(pass.next, log.logStartOffset);
    const to = Math.min(pass.end, from + COMPACTION_STEP_OFFSETS);
    this.compact(from, to, pass.bound, now - configs["delete.retention.ms"]);
    if (to < pass.end) {
      pass.next = to;
      return now; // more of this pass: the next alarm run, at once
    }
    this.compaction = null;
    this.lastCompactionBound = pass.bound;
    const oldest = this.oldestTombstone();
    this.tombstoneDueMs =
      oldest === null
        ? Number.POSITIVE_INFINITY
        : Math.max(now + COMPACTION_INTERVAL_MS, oldest + configs["delete.retention.ms"] + 1);
    return this.tombstoneDueMs;
  }

  /**
   * Forgets producers silent for producer.id.expiration.ms (a bounded number a run);
   * answers when the next one could expire (Infinity: none kept).
   */
  private expireProducers(now: number): number {
    const producers = this.log.producers;
    if (producers.expireProducers(now - this.producerExpirationMs, PRODUCER_EXPIRY_MAX)) return now;
    const oldest = producers.oldestProducerActivity();
    this.producerExpiryArmed = oldest !== null;
    return oldest === null ? Number.POSITIVE_INFINITY : oldest + this.producerExpirationMs + 1;
  }

  /** When the oldest retained batch can expire by retention.ms (bounded by RETENTION_CHECK_MS_MAX). */
  private nextRetentionCheck(): number {
    const log = this.log;
    const now = Date.now();
    // Nothing retained: the next append arms the check again.
    if (log.logStartOffset >= log.logEndOffset) return Number.POSITIVE_INFINITY;
    const oldest = this.oldestBatchTimestamp(log.logStartOffset);
    if (oldest === null) return Number.POSITIVE_INFINITY;
    const due = oldest + log.current.configs["retention.ms"] + 1;
    // Expired but held back by the high watermark (replicas behind): look again a little later, not in a loop.
    if (due <= now) return now + RETENTION_BLOCKED_RETRY_MS;
    return Math.min(due, now + RETENTION_CHECK_MS_MAX);
  }

  // ---- SQL ----

  /**
   * One bounded step of log compaction (Kafka's log cleaner) over offsets
   * [from, to): removes each record that a later record with the same key below
   * `bound` supersedes, then tombstones (value null, now the latest of their key)
   * with a timestamp before `tombstoneCutoff`. A pass goes from logStartOffset to
   * `bound` in order, so a tombstone is removed only after every older record of
   * its key. Offsets of kept records never change. Answers the records removed.
   */
  private compact(from: number, to: number, bound: number, tombstoneCutoff: number): number {
    // Only compacted topics pay for this index (each partition is its own database).
    this.sql.exec('CREATE INDEX IF NOT EXISTS log_by_key ON log (key, "offset")');
    // An aborted record supersedes nothing: read_committed readers never see it.
    const superseded = this.sql.exec(
      `DELETE FROM log WHERE "offset" >= ? AND "offset" < ? AND key IS NOT NULL AND EXISTS (
         SELECT 1 FROM log AS later WHERE later.key = log.key AND later."offset" > log."offset" AND later."offset" < ?
           AND (later.producer_id IS NULL OR NOT EXISTS (SELECT 1 FROM txn_aborted AS a
             WHERE a.producer_id = later.producer_id AND later."offset" BETWEEN a.first_offset AND a.last_offset)))`,
      from,
      to,
      bound,
    ).rowsWritten;
    const tombstones = this.sql.exec(
      `DELETE FROM log WHERE "offset" >= ? AND "offset" < ? AND value = 'null' AND value_base64 IS NULL
         AND timestamp < ?`,
      from,
      to,
      tombstoneCutoff,
    ).rowsWritten;
    return superseded + tombstones + this.compactTransactions(from, to, tombstoneCutoff);
  }

  /**
   * Kafka's cleaner for transactions: a decided transaction's marker in [from, to),
   * written before `cutoff` (delete.retention.ms ago), goes — and for an abort, its
   * records and its aborted range with it (read_committed readers skipped them;
   * read_uncommitted ones no longer see them). Open transactions lie at or past the
   * pass's bound (the last stable offset), never here. Answers the rows removed.
   */
  private compactTransactions(from: number, to: number, cutoff: number): number {
    const due = this.sql
      .exec<{ offset: number; committed: number; producer_id: string; first_offset: number }>(
        'SELECT "offset", committed, producer_id, first_offset FROM txn_markers WHERE "offset" >= ? AND "offset" < ? AND timestamp < ?',
        from,
        to,
        cutoff,
      )
      .toArray();
    let removed = 0;
    for (const m of due) {
      if (m.committed === 0) {
        removed += this.sql.exec(
          'DELETE FROM log WHERE "offset" >= ? AND "offset" < ? AND producer_id = ?',
          m.first_offset,
          m.offset,
          m.producer_id,
        ).rowsWritten;
        this.sql.exec(
          "DELETE FROM txn_aborted WHERE last_offset = ? AND producer_id = ?",
          m.offset,
          m.producer_id,
        );
      }
      this.sql.exec('DELETE FROM txn_markers WHERE "offset" = ?', m.offset);
    }
    if (due.length > 0) this.log.transactions.load(); // the aborted ranges in memory follow the table
    return removed + due.length;
  }

  /** The oldest stored tombstone's or transaction marker's timestamp (a later pass removes it), or null. */
  private oldestTombstone(): number | null {
    return this.sql
      .exec<{ t: number | null }>(
        `SELECT min(t) AS t FROM (
           SELECT min(timestamp) AS t FROM log WHERE value = 'null' AND value_base64 IS NULL
           UNION ALL SELECT min(timestamp) FROM txn_markers)`,
      )
      .one().t;
  }

  /**
   * Where retention would start the log (Kafka deletes whole batches): the first
   * batch whose records are not all older than `cutoff` (the time index holds the
   * running maximum timestamp, so every batch before it is entirely older), and the
   * first batch from which at most `bytesMax` bytes remain. -1 disables either rule.
   * Answers an offset ≥ `from` and ≤ `end`.
   */
  private retentionStart(cutoff: number, bytesMax: number, from: number, end: number): number {
    let start = from;
    if (cutoff >= 0) {
      const kept = this.sql
        .exec<{ base_offset: number }>(
          "SELECT base_offset FROM time_index WHERE max_timestamp >= ? ORDER BY max_timestamp, base_offset LIMIT 1",
          cutoff,
        )
        .toArray()[0];
      start = Math.max(start, kept ? kept.base_offset : end);
    }
    if (bytesMax >= 0) {
      const batches = this.sql
        .exec<{ base_offset: number; bytes: number }>(
          "SELECT base_offset, bytes FROM time_index WHERE base_offset >= ? ORDER BY base_offset DESC",
          start,
        )
        .toArray();
      let kept = 0;
      let firstKept = end;
      for (const b of batches) {
        if (kept + b.bytes > bytesMax) break;
        kept += b.bytes;
        firstKept = b.base_offset;
      }
      start = Math.max(start, firstKept);
    }
    return Math.min(start, end);
  }

  /** The running maximum timestamp of the first batch at or after `from`, or null when there is none. */
  private oldestBatchTimestamp(from: number): number | null {
    const row = this.sql
      .exec<{ t: number }>(
        "SELECT max_timestamp AS t FROM time_index WHERE base_offset <= ? ORDER BY base_offset DESC LIMIT 1",
        from,
      )
      .toArray()[0];
    return row?.t ?? null;
  }

  /** The lowest offset still stored (rows below logStartOffset are deleted in bounded steps), or null. */
  private lowestOffset(): number | null {
    return this.sql.exec<{ low: number | null }>('SELECT min("offset") AS low FROM log').one().low;
  }

  /** Deletes up to `rowsMax` records below `offset`, and time-index batches wholly below it; true while more remain. */
  private deleteBelow(offset: number, rowsMax: number): boolean {
    this.log.transactions.forgetBelow(offset);
    const low = this.lowestOffset();
    if (low === null || low >= offset) return false;
    const upTo = Math.min(offset, low + rowsMax);
    this.sql.exec('DELETE FROM log WHERE "offset" < ?', upTo);
    this.sql.exec(
      "DELETE FROM time_index WHERE base_offset < (SELECT max(base_offset) FROM time_index WHERE base_offset <= ?)",
      offset,
    );
    if (upTo >= offset) return false;
    const next = this.lowestOffset();
    return next !== null && next < offset;
  }
}
