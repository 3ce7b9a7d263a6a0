import { ok, type Result } from "../core/errors";
import {
  type AbortedRange,
  type OpenTransaction,
  PartitionTransactions,
  type StoredMarker,
} from "../core/partition-transactions";
import type { TransactionMarker } from "../core/transaction-coordinator";

/**
 * A partition replica's transactions in its SQLite (the tables are created by
 * PartitionLog's migrations): which producer wrote each transactional record
 * (`log.producer_id`), the open transactions, the markers (each takes an offset
 * but is not a record: readers see a gap) and the aborted ranges. Wraps the pure
 * PartitionTransactions, kept in memory and rebuilt from these tables at start.
 * Synchronous, like PartitionLog: a caller's calls commit with its transaction.
 */

/** A run of transactional records of one producer: [baseOffset, endOffset). */
export type TransactionalRun = { baseOffset: number; endOffset: number; producerId: string };

/** What a follower needs to mirror the transactions of a range of its leader's log. */
export type TransactionEvents = {
  runs: TransactionalRun[];
  /** Transactions that began in the range (those closed since included: a marker names its first offset). */
  begun: OpenTransaction[];
  markers: StoredMarker[];
};

type MarkerRow = {
  offset: number;
  producer_id: string;
  epoch: number;
  committed: number;
  first_offset: number;
  transaction_epoch: number;
  transaction_number: number;
  timestamp: number;
};

function markerOfRow(r: MarkerRow): StoredMarker {
  return {
    offset: r.offset,
    producerId: r.producer_id,
    epoch: r.epoch,
    commit: r.committed === 1,
    // Markers close one transaction, so theirs and the number they carried are the same unless it was an orphan.
    number: r.transaction_number,
    firstOffset: r.first_offset,
    transactionEpoch: r.transaction_epoch,
    transactionNumber: r.transaction_number,
    timestamp: r.timestamp,
  };
}

/** The tables, as one of PartitionLog's migrations. */
const TRANSACTION_TABLES_MIGRATION = `ALTER TABLE log ADD COLUMN producer_id TEXT;
   CREATE TABLE txn_open (producer_id TEXT PRIMARY KEY, epoch INTEGER NOT NULL, first_offset INTEGER NOT NULL);
   CREATE TABLE txn_markers (
     "offset" INTEGER PRIMARY KEY,
     producer_id TEXT NOT NULL,
     epoch INTEGER NOT NULL,
     committed INTEGER NOT NULL,
     first_offset INTEGER NOT NULL,
     transaction_epoch INTEGER NOT NULL,
     timestamp INTEGER NOT NULL
   );
   CREATE INDEX txn_markers_by_first_offset ON txn_markers (first_offset);
   CREATE TABLE txn_aborted (
     last_offset INTEGER NOT NULL,
     producer_id TEXT NOT NULL,
     first_offset INTEGER NOT NULL,
     PRIMARY KEY (last_offset, producer_id)
   );`;

/**
 * Transactions are numbered (Transaction.number): open ones, markers and producer
 * batches keep the number, so a late write or a repeated marker of an earlier one
 * changes nothing, and a sequence its aborted transaction left unapplied is free again.
 */
const TRANSACTION_NUMBERS_MIGRATION = `ALTER TABLE txn_open ADD COLUMN number INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE txn_markers ADD COLUMN transaction_number INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE producer_batches ADD COLUMN transaction_number INTEGER;`;

/** PartitionLog's migrations for transactions, in order. */
export const TRANSACTION_MIGRATIONS = [TRANSACTION_TABLES_MIGRATION, TRANSACTION_NUMBERS_MIGRATION];

export class PartitionTransactionStore {
  private index = new PartitionTransactions();

  constructor(private readonly sql: SqlStorage) {}

  /** Reads the open transactions and aborted ranges back (after the migrations ran). */
  load(): void {
    const open = this.sql
      .exec<{ producer_id: string; epoch: number; number: number; first_offset: number }>(
        "SELECT * FROM txn_open",
      )
      .toArray()
      .map((r) => ({
        producerId: r.producer_id,
        epoch: r.epoch,
        number: r.number,
        firstOffset: r.first_offset,
      }));
    const aborted = this.sql
      .exec<{ producer_id: string; first_offset: number; last_offset: number }>("SELECT * FROM txn_aborted")
      .toArray()
      .map((r) => ({ producerId: r.producer_id, firstOffset: r.first_offset, lastOffset: r.last_offset }));
    const closed = new Map<string, number>();
    for (const r of this.sql.exec<{ producer_id: string; n: number }>(
      "SELECT producer_id, max(transaction_number) AS n FROM txn_markers GROUP BY producer_id",
    ))
      closed.set(r.producer_id, r.n);
    this.index = new PartitionTransactions(open, aborted, closed);
  }

  /** The offset after the last marker, 0 without one (markers count in the log end offset). */
  markersEnd(): number {
    const last = this.sql
      .exec<{ last: number | null }>('SELECT max("offset") AS last FROM txn_markers')
      .one().last;
    return last === null ? 0 : last + 1;
  }

  lastStableOffset(highWatermark: number): number {
    return this.index.lastStableOffset(highWatermark);
  }

  abortedOverlapping(from: number, to: number): AbortedRange[] {
    return this.index.abortedOverlapping(from, to);
  }

  hasOpen(producerId: string): boolean {
    return this.index.openOf(producerId) !== null;
  }

  /** A plain append of an idempotent producer: refused while it has a transaction open here. */
  admitPlain(producerId: string): Result<null> {
    return this.index.admitPlain(producerId);
  }

  /** A transactional append about to be written at `baseOffset`: refused, or admitted (beginning the transaction here). */
  admitTransactional(
    producerId: string,
    epoch: number,
    number: number,
    baseOffset: number,
  ): Result<OpenTransaction | null> {
    const admitted = this.index.admitTransactional(producerId, epoch, number, baseOffset);
    if (!admitted.ok) return admitted;
    const { began, aborted } = admitted.value;
    if (aborted) this.saveAborted(aborted);
    if (began) this.saveOpen(began);
    return ok(began);
  }

  /** Tags the records of a run as its producer's (after they were inserted). */
  tagRun(run: TransactionalRun): void {
    this.sql.exec(
      'UPDATE log SET producer_id = ? WHERE "offset" >= ? AND "offset" < ?',
      run.producerId,
      run.baseOffset,
      run.endOffset,
    );
  }

  /** The offset of the producer's last marker kept here, or null. */
  lastMarkerOf(producerId: string): number | null {
    return this.sql
      .exec<{ last: number | null }>(
        'SELECT max("offset") AS last FROM txn_markers WHERE producer_id = ?',
        producerId,
      )
      .one().last;
  }

  /** A coordinator's marker at `offset`: null when nothing was open for the producer (nothing to store). */
  applyMarker(
    producerId: string,
    marker: TransactionMarker,
    offset: number,
    timestamp: number,
  ): Result<StoredMarker | null> {
    const applied = this.index.applyMarker(producerId, marker, offset, timestamp);
    if (!applied.ok) return applied;
    const { marker: stored, aborted } = applied.value;
    if (stored === null) return ok(null);
    this.saveMarker(stored, aborted);
    return ok(stored);
  }

  private saveOpen(t: OpenTransaction): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO txn_open (producer_id, epoch, number, first_offset) VALUES (?, ?, ?, ?)",
      t.producerId,
      t.epoch,
      t.number,
      t.firstOffset,
    );
  }

  private saveMarker(m: StoredMarker, aborted: AbortedRange | null): void {
    this.sql.exec("DELETE FROM txn_open WHERE producer_id = ?", m.producerId);
    this.sql.exec(
      `INSERT OR REPLACE INTO txn_markers
         ("offset", producer_id, epoch, committed, first_offset, transaction_epoch, transaction_number, timestamp)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      m.offset,
      m.producerId,
      m.epoch,
      m.commit ? 1 : 0,
      m.firstOffset,
      m.transactionEpoch,
      m.transactionNumber,
      m.timestamp,
    );
    if (aborted) this.saveAborted(aborted);
  }

  private saveAborted(aborted: AbortedRange): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO txn_aborted (last_offset, producer_id, first_offset) VALUES (?, ?, ?)",
      aborted.lastOffset,
      aborted.producerId,
      aborted.firstOffset,
    );
  }

  /** The transactions of [from, to) of this log, for a follower catching up. */
  eventsIn(from: number, to: number): TransactionEvents {
    const runs: TransactionalRun[] = [];
    const tagged = this.sql.exec<{ offset: number; producer_id: string }>(
      'SELECT "offset", producer_id FROM log WHERE "offset" >= ? AND "offset" < ? AND producer_id IS NOT NULL ORDER BY "offset"',
      from,
      to,
    );
    for (const { offset, producer_id: producerId } of tagged) {
      const last = runs[runs.length - 1];
      if (last && last.producerId === producerId && last.endOffset === offset) last.endOffset = offset + 1;
      else runs.push({ baseOffset: offset, endOffset: offset + 1, producerId });
    }
    const markers = this.sql
      .exec<MarkerRow>(
        'SELECT * FROM txn_markers WHERE "offset" >= ? AND "offset" < ? ORDER BY "offset"',
        from,
        to,
      )
      .toArray()
      .map(markerOfRow);
    const begun = [
      ...this.index.openTransactions().filter((t) => t.firstOffset >= from && t.firstOffset < to),
      ...this.sql
        .exec<MarkerRow>("SELECT * FROM txn_markers WHERE first_offset >= ? AND first_offset < ?", from, to)
        .toArray()
        .map((r) => ({
          producerId: r.producer_id,
          epoch: r.transaction_epoch,
          number: r.transaction_number,
          firstOffset: r.first_offset,
        })),
    ];
    return { runs, begun, markers };
  }

  /**
   * A follower mirroring its leader's transactions for what it stored from
   * `from` on: tags the runs, then begins and closes transactions in offset order.
   */
  applyEvents(events: TransactionEvents, from: number): void {
    for (const run of events.runs)
      if (run.endOffset > from) this.tagRun({ ...run, baseOffset: Math.max(run.baseOffset, from) });
    type Step = { offset: number; begin?: OpenTransaction; marker?: StoredMarker };
    const steps: Step[] = [
      ...events.begun.map((begin) => ({ offset: begin.firstOffset, begin })),
      ...events.markers.map((marker) => ({ offset: marker.offset, marker })),
    ];
    steps.sort((a, b) => a.offset - b.offset);
    for (const step of steps) {
      if (step.offset < from) continue;
      if (step.begin) {
        const admitted = this.admitTransactional(
          step.begin.producerId,
          step.begin.epoch,
          step.begin.number,
          step.begin.firstOffset,
        );
        if (!admitted.ok) throw new Error(`follower cannot mirror a transaction: ${admitted.error.message}`);
      } else if (step.marker) {
        const m = step.marker;
        const applied = this.applyMarker(m.producerId, m, m.offset, m.timestamp);
        if (!applied.ok) throw new Error(`follower cannot mirror a marker: ${applied.error.message}`);
      }
    }
  }

  /** A follower's divergent suffix from `offset` on is gone: so are its markers, and what they decided. */
  truncateTo(offset: number): void {
    const removed = this.sql
      .exec<MarkerRow>('SELECT * FROM txn_markers WHERE "offset" >= ?', offset)
      .toArray()
      .map(markerOfRow);
    this.sql.exec('DELETE FROM txn_markers WHERE "offset" >= ?', offset);
    this.sql.exec("DELETE FROM txn_aborted WHERE last_offset >= ?", offset);
    this.index.truncate(offset, removed);
    this.sql.exec("DELETE FROM txn_open");
    for (const t of this.index.openTransactions()) this.saveOpen(t);
  }

  /** Retention moved the log start: markers and aborted ranges wholly below it go. */
  forgetBelow(logStartOffset: number): void {
    if (this.index.forgetBelow(logStartOffset).length > 0)
      this.sql.exec("DELETE FROM txn_aborted WHERE last_offset < ?", logStartOffset);
    this.sql.exec('DELETE FROM txn_markers WHERE "offset" < ?', logStartOffset);
  }
}
