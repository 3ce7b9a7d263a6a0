import { batchesToKeep, type ProducerBatch } from "../core/idempotence";
import { PRODUCER_SEQUENCES_KEPT } from "../core/limits";

/**
 * Idempotent producers' state in a replica's SQLite (Kafka's ProducerStateManager):
 * the last batches appended per producer, replicated with the records so that a
 * new leader answers a retried request the same way. The table is created by
 * PartitionLog's migrations; synchronous statements, like the log's.
 */

type ProducerBatchRow = {
  producer_id: string;
  epoch: number;
  sequence: number;
  base_offset: number;
  count: number;
  appended_ms: number;
  default_timestamp: number;
  transaction_number: number | null;
};

function producerBatch(row: ProducerBatchRow): ProducerBatch {
  return {
    producerId: row.producer_id,
    epoch: row.epoch,
    sequence: row.sequence,
    baseOffset: row.base_offset,
    count: row.count,
    appendedMs: row.appended_ms,
    defaultTimestamp: row.default_timestamp,
    ...(row.transaction_number === null ? {} : { transactionNumber: row.transaction_number }),
  };
}

export class ProducerStateStore {
  constructor(private readonly sql: SqlStorage) {}

  /** The batches kept for one producer (at most PRODUCER_SEQUENCES_KEPT). */
  producerBatches(producerId: string): ProducerBatch[] {
    return this.sql
      .exec<ProducerBatchRow>("SELECT * FROM producer_batches WHERE producer_id = ?", producerId)
      .toArray()
      .map(producerBatch);
  }

  /** The newest sequence of the producer's `epoch` kept here, -1 for none. */
  newestSequence(producerId: string, epoch: number): number {
    let newest = -1;
    for (const b of this.producerBatches(producerId))
      if (b.epoch === epoch && b.sequence > newest) newest = b.sequence;
    return newest;
  }

  /**
   * Records a producer's batch and forgets its batches beyond the newest
   * PRODUCER_SEQUENCES_KEPT; `existing` when the caller has just read them.
   */
  saveProducerBatch(batch: ProducerBatch, existing = this.producerBatches(batch.producerId)): void {
    const keep = batchesToKeep(existing, batch, PRODUCER_SEQUENCES_KEPT);
    for (const b of existing)
      if (!keep.some((k) => k.epoch === b.epoch && k.sequence === b.sequence))
        this.sql.exec(
          "DELETE FROM producer_batches WHERE producer_id = ? AND epoch = ? AND sequence = ?",
          b.producerId,
          b.epoch,
          b.sequence,
        );
    this.sql.exec(
      `INSERT OR REPLACE INTO producer_batches
         (producer_id, epoch, sequence, base_offset, count, appended_ms, default_timestamp, transaction_number)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      batch.producerId,
      batch.epoch,
      batch.sequence,
      batch.baseOffset,
      batch.count,
      batch.appendedMs,
      batch.defaultTimestamp,
      batch.transactionNumber ?? null,
    );
  }

  /** Producer batches starting in [start, end): sent to a follower with those records. */
  producerBatchesIn(start: number, end: number): ProducerBatch[] {
    return this.sql
      .exec<ProducerBatchRow>(
        "SELECT * FROM producer_batches WHERE base_offset >= ? AND base_offset < ?",
        start,
        end,
      )
      .toArray()
      .map(producerBatch);
  }

  /** Forgets producers silent since before `cutoffMs` (bounded); true while more remain. */
  expireProducers(cutoffMs: number, rowsMax: number): boolean {
    this.sql.exec(
      `DELETE FROM producer_batches WHERE producer_id IN (
         SELECT producer_id FROM producer_batches GROUP BY producer_id HAVING max(appended_ms) < ? LIMIT ?)`,
      cutoffMs,
      rowsMax,
    );
    const left = this.oldestProducerActivity();
    return left !== null && left < cutoffMs;
  }

  /** The last activity of the producer silent the longest, or null when none is kept. */
  oldestProducerActivity(): number | null {
    return this.sql
      .exec<{ t: number | null }>(
        "SELECT min(last) AS t FROM (SELECT max(appended_ms) AS last FROM producer_batches GROUP BY producer_id)",
      )
      .one().t;
  }
}
