import { TRANSACTION_MIGRATIONS } from "./partition-transaction-store";

/**
 * The tables of one replica's log (PartitionLog), as numbered migrations
 * (sql-migrations.ts): each runs once, in order, so existing state directories
 * keep working as the schema grows.
 */

export const PARTITION_LOG_MIGRATIONS = [
  `CREATE TABLE log (
     "offset" INTEGER PRIMARY KEY,
     timestamp INTEGER NOT NULL,
     key TEXT,
     value TEXT,
     value_base64 TEXT,
     headers TEXT NOT NULL,
     size INTEGER NOT NULL
   );
   -- Kafka's time index: per appended batch, the largest timestamp in the log so far
   -- (monotonic), so the first record at/after a timestamp is found without a scan.
   CREATE TABLE time_index (base_offset INTEGER PRIMARY KEY, max_timestamp INTEGER NOT NULL);
   CREATE INDEX time_index_by_timestamp ON time_index (max_timestamp);
   CREATE TABLE partition_state (
     id INTEGER PRIMARY KEY CHECK (id = 0),
     topic TEXT NOT NULL,
     partition INTEGER NOT NULL,
     topic_id TEXT NOT NULL,
     configs TEXT NOT NULL,
     log_start_offset INTEGER NOT NULL
   );`,
  // Replication: which replica this is, who leads in which epoch, the ISR (as the
  // leader saw it last), a checkpointed high watermark and Kafka's leader-epoch cache.
  `ALTER TABLE partition_state ADD COLUMN replica INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE partition_state ADD COLUMN replication_factor INTEGER NOT NULL DEFAULT 1;
   ALTER TABLE partition_state ADD COLUMN leader INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE partition_state ADD COLUMN leader_epoch INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE partition_state ADD COLUMN isr TEXT NOT NULL DEFAULT '[0]';
   ALTER TABLE partition_state ADD COLUMN high_watermark INTEGER NOT NULL DEFAULT 0;
   UPDATE partition_state SET high_watermark = (SELECT coalesce(max("offset") + 1, 0) FROM log);
   CREATE TABLE leader_epochs (epoch INTEGER PRIMARY KEY, start_offset INTEGER NOT NULL);
   INSERT INTO leader_epochs (epoch, start_offset) SELECT 0, 0 WHERE EXISTS (SELECT 1 FROM log);`,
  // WebSocket sessions tailing this partition (PartitionWatchers): notified when the high watermark moves.
  `CREATE TABLE watchers (session_id TEXT PRIMARY KEY);`,
  // Bytes of each appended batch, for retention.bytes without summing the log.
  `ALTER TABLE time_index ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;`,
  // Idempotent producers: the last batches appended per producer (Kafka's producer state),
  // replicated with the records so that a new leader answers a retried request the same way.
  `CREATE TABLE producer_batches (
     producer_id TEXT NOT NULL,
     epoch INTEGER NOT NULL,
     sequence INTEGER NOT NULL,
     base_offset INTEGER NOT NULL,
     count INTEGER NOT NULL,
     appended_ms INTEGER NOT NULL,
     default_timestamp INTEGER NOT NULL,
     PRIMARY KEY (producer_id, epoch, sequence)
   );
   CREATE INDEX producer_batches_by_offset ON producer_batches (base_offset);`,
  // Transactions: each transactional record's producer, open transactions, markers, aborted ranges.
  ...TRANSACTION_MIGRATIONS,
];

/** The row of partition_state. */
export type StateRow = {
  topic: string;
  partition: number;
  topic_id: string;
  configs: string;
  log_start_offset: number;
  replica: number;
  replication_factor: number;
  leader: number;
  leader_epoch: number;
  isr: string;
  high_watermark: number;
};
