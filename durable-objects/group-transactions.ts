import type { TopicPartition } from "../core/partition-key";
import type { TransactionMarker } from "../core/transaction-coordinator";

/**
 * Offsets a consumer group holds for transactions (Kafka's pending transactional
 * offset commits): sent to a transaction by its producer after the same checks
 * as an ordinary commit (the member, its generation, the partitions it owns), kept
 * apart until the coordinator's marker, then applied on commit and dropped on
 * abort. Kept in the group's SQLite (the table is one of GroupStore's migrations).
 */

export const GROUP_TRANSACTIONS_MIGRATION = `CREATE TABLE txn_offsets (
     producer_id TEXT NOT NULL,
     epoch INTEGER NOT NULL,
     topic TEXT NOT NULL,
     partition INTEGER NOT NULL,
     committed_offset INTEGER NOT NULL,
     PRIMARY KEY (producer_id, topic, partition)
   );`;

export type PendingOffset = TopicPartition & { offset: number };

export class GroupTransactions {
  constructor(private readonly sql: SqlStorage) {}

  /** Holds offsets for the producer's transaction (a later send for a partition replaces the earlier). */
  hold(producerId: string, epoch: number, offsets: readonly PendingOffset[]): void {
    for (const o of offsets)
      this.sql.exec(
        `INSERT OR REPLACE INTO txn_offsets (producer_id, epoch, topic, partition, committed_offset)
         VALUES (?, ?, ?, ?, ?)`,
        producerId,
        epoch,
        o.topic,
        o.partition,
        o.offset,
      );
  }

  /**
   * The coordinator's marker: the producer's held offsets (of the marker's epoch or
   * older: a new epoch's abort closes its predecessor's transaction) are taken out,
   * and answered for the caller to apply when the transaction committed.
   */
  release(producerId: string, marker: TransactionMarker): PendingOffset[] {
    const held = this.sql
      .exec<{ topic: string; partition: number; committed_offset: number }>(
        "SELECT topic, partition, committed_offset FROM txn_offsets WHERE producer_id = ? AND epoch <= ?",
        producerId,
        marker.epoch,
      )
      .toArray()
      .map((r) => ({ topic: r.topic, partition: r.partition, offset: r.committed_offset }));
    this.sql.exec("DELETE FROM txn_offsets WHERE producer_id = ? AND epoch <= ?", producerId, marker.epoch);
    return marker.commit ? held : [];
  }

  /** Partitions with offsets waiting for a transaction's outcome (a group reset must not race them). */
  pendingCount(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM txn_offsets").one().n;
  }
}
