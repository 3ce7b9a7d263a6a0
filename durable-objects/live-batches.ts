import type { ReplicaBatch } from "./contract";
import type { TransactionEvents } from "./partition-transaction-store";

/**
 * Bytes of records one live call carries at most when a commit group's batches are
 * combined: well under the 32 MiB of a Workers RPC message.
 */
const LIVE_CALL_BYTES_MAX = 8 * 1024 * 1024;

/**
 * The batches a commit group appended, combined for the followers (pipelined
 * replication): contiguous batches become one, up to LIVE_CALL_BYTES_MAX, and the
 * result is sent once the group's writes are done (a microtask later: GroupCommit
 * runs a group's writes back to back), so a follower gets one call a group.
 */
export class LiveBatches {
  private batches: ReplicaBatch[] = [];
  /** Record bytes of the last entry of `batches`. */
  private lastBytes = 0;

  constructor(private readonly send: (batch: ReplicaBatch) => void) {}

  add(batch: ReplicaBatch): void {
    const last = this.batches[this.batches.length - 1];
    const bytes = batch.chunks.reduce((n, c) => n + c.bytes, 0);
    // A sparse batch (a marker: an offset without a record) is never combined: its end is not its records'.
    if (
      last !== undefined &&
      !last.sparse &&
      !batch.sparse &&
      last.endOffset === batch.baseOffset &&
      this.lastBytes + bytes <= LIVE_CALL_BYTES_MAX
    ) {
      last.endOffset = batch.endOffset;
      last.chunks.push(...batch.chunks);
      last.producers.push(...batch.producers);
      if (batch.transactions) last.transactions = mergeEvents(last.transactions, batch.transactions);
      last.maxTimestamp = Math.max(last.maxTimestamp, batch.maxTimestamp);
      this.lastBytes += bytes;
    } else {
      this.batches.push({
        ...batch,
        chunks: [...batch.chunks],
        producers: [...batch.producers],
        transactions: batch.transactions && mergeEvents(undefined, batch.transactions),
      });
      this.lastBytes = bytes;
    }
    if (last === undefined) queueMicrotask(() => this.flush());
  }

  /** Drops what was not sent (a leadership term ended). */
  clear(): void {
    this.batches = [];
    this.lastBytes = 0;
  }

  private flush(): void {
    const batches = this.batches;
    this.clear();
    for (const batch of batches) this.send(batch);
  }
}

/** Two contiguous batches' transaction events as one (copies: the first batch's own arrays stay as they were). */
function mergeEvents(a: TransactionEvents | undefined, b: TransactionEvents): TransactionEvents {
  return {
    runs: [...(a?.runs ?? []), ...b.runs],
    begun: [...(a?.begun ?? []), ...b.begun],
    markers: [...(a?.markers ?? []), ...b.markers],
  };
}
