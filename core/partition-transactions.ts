import { fail, ok, type Result } from "./errors";
import type { TransactionMarker } from "./transaction-coordinator";

/**
 * A partition's view of transactions (Kafka's ProducerStateManager and
 * TransactionIndex, KIP-98): the transactions open in it, the aborted ranges
 * read_committed readers skip, and the last stable offset. Pure: the partition
 * object stores what the answers say changed in the same SQLite transaction as
 * the records or the marker, and rebuilds this from its tables on restart.
 */

/** Kafka's isolation.level: read_committed readers stop at the last stable offset and skip aborted records. */
export const ISOLATION_LEVELS = ["read_uncommitted", "read_committed"] as const;
export type Isolation = (typeof ISOLATION_LEVELS)[number];

/**
 * A producer's transactional records in this partition from `firstOffset` on, not
 * yet decided: its transaction `number` (the coordinator's, see Transaction.number).
 */
export type OpenTransaction = { producerId: string; epoch: number; number: number; firstOffset: number };

/**
 * An aborted transaction (Kafka's AbortedTxn): its producer's records in
 * [firstOffset, lastOffset] are never returned to read_committed readers.
 * `lastOffset` is its marker's offset.
 */
export type AbortedRange = { producerId: string; firstOffset: number; lastOffset: number };

/** A marker as stored: what it decided, and the transaction it closed (to reopen it if a truncation removes the marker). */
export type StoredMarker = TransactionMarker & {
  producerId: string;
  offset: number;
  /** The closed transaction's first offset, epoch and number. */
  firstOffset: number;
  transactionEpoch: number;
  transactionNumber: number;
  /** When the leader wrote it (ms): compaction drops it delete.retention.ms later. */
  timestamp: number;
};

export class PartitionTransactions {
  private readonly open = new Map<string, OpenTransaction>();
  /** Sorted by lastOffset (markers take increasing offsets). */
  private aborted: AbortedRange[];
  /** Per producer, the number of the last transaction a marker closed here: a later write of it is refused. */
  private readonly closed = new Map<string, number>();

  constructor(
    open: readonly OpenTransaction[] = [],
    aborted: readonly AbortedRange[] = [],
    closed: ReadonlyMap<string, number> = new Map(),
  ) {
    for (const t of open) this.open.set(t.producerId, { ...t });
    this.aborted = [...aborted].sort((a, b) => a.lastOffset - b.lastOffset);
    for (const [producerId, number] of closed) this.closed.set(producerId, number);
  }

  openTransactions(): OpenTransaction[] {
    return [...this.open.values()].sort((a, b) => a.firstOffset - b.firstOffset);
  }

  abortedRanges(): AbortedRange[] {
    return [...this.aborted];
  }

  /** The producer's open transaction here, if any. */
  openOf(producerId: string): OpenTransaction | null {
    return this.open.get(producerId) ?? null;
  }

  /**
   * Admits a transactional append of `producerId` at `epoch`, in its transaction
   * `number`, whose records start at `baseOffset`: an epoch older than its open
   * transaction's is fenced; a write of a transaction already closed here (a late
   * write: its request gave up before the marker came) is refused; the first
   * append begins the transaction here (`began`: store it). An earlier transaction
   * still open here is an orphan — the coordinator begins a transaction only once
   * the one before has every marker, so it is a write that landed after its
   * transaction's marker was lost to compaction (Kafka's "hanging transaction"):
   * it is aborted here (`aborted`: store it), up to `baseOffset`.
   */
  admitTransactional(
    producerId: string,
    epoch: number,
    number: number,
    baseOffset: number,
  ): Result<{ began: OpenTransaction | null; aborted: AbortedRange | null }> {
    const current = this.open.get(producerId);
    let aborted: AbortedRange | null = null;
    if (current !== undefined && epoch < current.epoch)
      return fail(
        "PRODUCER_FENCED",
        `epoch ${epoch} was fenced: a transaction of epoch ${current.epoch} is open here`,
      );
    if (current !== undefined && number === current.number) return ok({ began: null, aborted: null });
    const closedUpTo = Math.max(this.closed.get(producerId) ?? -1, current?.number ?? -1);
    if (number <= closedUpTo)
      return fail(
        "INVALID_TXN_STATE",
        `transaction ${number} of producer ${producerId} has ended: a write of it arriving now is refused`,
      );
    if (current !== undefined) {
      aborted = { producerId, firstOffset: current.firstOffset, lastOffset: baseOffset - 1 };
      this.aborted.push(aborted);
    }
    const began = { producerId, epoch, number, firstOffset: baseOffset };
    this.open.set(producerId, began);
    return ok({ began, aborted });
  }

  /** A plain (non-transactional) append by a producer with a transaction open here is refused, as Kafka does. */
  admitPlain(producerId: string): Result<null> {
    const current = this.open.get(producerId);
    if (current === undefined) return ok(null);
    return fail(
      "INVALID_TXN_STATE",
      `producer ${producerId} has a transaction open in this partition; send "transactional": true or end it first`,
    );
  }

  /**
   * A coordinator's marker for `producerId`, to be stored at `offset`. It closes
   * the producer's open transaction here; an abort adds an aborted range. A
   * marker for a producer with nothing open here, or for an earlier transaction
   * than the open one, is a repeat (or a partition the transaction registered but
   * never wrote): nothing to store, `marker` null. A marker of an older epoch than
   * the open transaction's is fenced. A marker of a later transaction finds an
   * orphan (see admitTransactional) open: it aborts it, whatever it decided.
   */
  applyMarker(
    producerId: string,
    marker: TransactionMarker,
    offset: number,
    timestamp = 0,
  ): Result<{ marker: StoredMarker | null; aborted: AbortedRange | null }> {
    const current = this.open.get(producerId);
    if (current === undefined) return ok({ marker: null, aborted: null });
    if (marker.epoch < current.epoch)
      return fail(
        "PRODUCER_FENCED",
        `a marker of epoch ${marker.epoch} cannot close the transaction of epoch ${current.epoch}`,
      );
    if (marker.number < current.number) return ok({ marker: null, aborted: null });
    if (offset < current.firstOffset)
      throw new Error(`marker offset ${offset} below its transaction's first offset`);
    this.open.delete(producerId);
    this.closed.set(producerId, current.number);
    const stored: StoredMarker = {
      ...marker,
      commit: marker.commit && marker.number === current.number,
      producerId,
      offset,
      firstOffset: current.firstOffset,
      transactionEpoch: current.epoch,
      transactionNumber: current.number,
      timestamp,
    };
    if (stored.commit) return ok({ marker: stored, aborted: null });
    const aborted = { producerId, firstOffset: current.firstOffset, lastOffset: offset };
    this.aborted.push(aborted);
    return ok({ marker: stored, aborted });
  }

  /**
   * Kafka's last stable offset: the first offset of the oldest open transaction,
   * else the high watermark; never above the high watermark.
   */
  lastStableOffset(highWatermark: number): number {
    let lso = highWatermark;
    for (const t of this.open.values()) if (t.firstOffset < lso) lso = t.firstOffset;
    return lso;
  }

  /** The aborted ranges a read_committed read of [from, to) must apply (none: the read filters nothing). */
  abortedOverlapping(from: number, to: number): AbortedRange[] {
    const found: AbortedRange[] = [];
    // Sorted by lastOffset: skip those ending before `from`.
    let lo = 0;
    let hi = this.aborted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.aborted[mid]!.lastOffset < from) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.aborted.length; i++) {
      const range = this.aborted[i]!;
      if (range.firstOffset < to) found.push(range);
    }
    return found;
  }

  /** Forgets aborted ranges wholly below the log start (retention removed their records). */
  forgetBelow(logStartOffset: number): AbortedRange[] {
    const gone = this.aborted.filter((r) => r.lastOffset < logStartOffset);
    if (gone.length > 0) this.aborted = this.aborted.filter((r) => r.lastOffset >= logStartOffset);
    return gone;
  }

  /**
   * A follower truncating its log at `offset` (its leader diverged): transactions
   * that began at or after it are gone, aborted ranges whose marker was removed
   * are gone, and a transaction whose marker was removed (`removedMarkers`, those
   * at or after `offset`) is open again if it began before `offset`.
   */
  truncate(offset: number, removedMarkers: readonly StoredMarker[]): void {
    for (const [id, t] of this.open) if (t.firstOffset >= offset) this.open.delete(id);
    this.aborted = this.aborted.filter((r) => r.lastOffset < offset);
    for (const m of removedMarkers) {
      if (m.offset < offset)
        throw new Error(`marker at ${m.offset} is not removed by a truncation at ${offset}`);
      // Its transaction is not closed here any more (those before it were: numbers only grow).
      if ((this.closed.get(m.producerId) ?? -1) >= m.transactionNumber)
        this.closed.set(m.producerId, m.transactionNumber - 1);
      if (m.firstOffset < offset)
        this.open.set(m.producerId, {
          producerId: m.producerId,
          epoch: m.transactionEpoch,
          number: m.transactionNumber,
          firstOffset: m.firstOffset,
        });
    }
  }
}

/**
 * Whether a read_committed reader skips the record at `offset` written by
 * `producerId` (null: not transactional): it belongs to an aborted range of its producer.
 */
export function isAborted(
  ranges: readonly AbortedRange[],
  producerId: string | null,
  offset: number,
): boolean {
  if (producerId === null) return false;
  for (const r of ranges)
    if (r.producerId === producerId && offset >= r.firstOffset && offset <= r.lastOffset) return true;
  return false;
}
