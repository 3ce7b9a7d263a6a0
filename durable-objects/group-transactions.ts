import { partitionKey, type TopicPartition } from "../core/partition-key";
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
  /** Partitions with held offsets ("topic/partition" → how many producers hold one). */
  private readonly held = new Map<string, number>();

  constructor(private readonly sql: SqlStorage) {}

  /** Reads the held offsets back (after GroupStore ran the migrations). */
  load(): void {
    this.held.clear();
    for (const r of this.sql.exec<{ topic: string; partition: number }>(
      "SELECT topic, partition FROM txn_offsets",
    ))
      this.count(partitionKey(r.topic, r.partition), 1);
  }

  /**
   * A partition whose committed offset a transaction may still move (Kafka's
   * UNSTABLE_OFFSET_COMMIT): a member without a position of its own must not start
   * from the committed offset until the marker comes.
   */
  isHeld(key: string): boolean {
    return this.held.has(key);
  }

  private count(key: string, delta: number): void {
    const n = (this.held.get(key) ?? 0) + delta;
    if (n > 0) this.held.set(key, n);
    else this.held.delete(key);
  }

  /** Holds offsets for the producer's transaction (a later send for a partition replaces the earlier). */
  hold(producerId: string, epoch: number, offsets: readonly PendingOffset[]): void {
    for (const o of offsets) {
      const exists = this.sql
        .exec(
          "SELECT 1 FROM txn_offsets WHERE producer_id = ? AND topic = ? AND partition = ?",
          producerId,
          o.topic,
          o.partition,
        )
        .toArray().length;
      if (exists === 0) this.count(partitionKey(o.topic, o.partition), 1);
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
    for (const o of held) this.count(partitionKey(o.topic, o.partition), -1);
    return marker.commit ? held : [];
  }
}
