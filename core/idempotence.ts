import { murmur2, toPositive } from "./murmur2";

/**
 * Idempotent producers (API.md "Produce"; Kafka's ProducerStateManager): the
 * pure rules. A producer numbers its REQUESTS per (id, epoch) from 0. The
 * producer's own object orders the requests and finds gaps; every partition
 * keeps the last few batches it appended per producer, so that a request that
 * is sent again (after a timeout, a restart, a failover) is answered with the
 * offsets it got the first time instead of being appended twice.
 */

/** The `producer` member of a produce request. */
export type ProducerRef = { id: string; epoch: number; sequence: number };

/** One batch a partition appended for a producer (Kafka's BatchMetadata), replicated with the log. */
export type ProducerBatch = {
  producerId: string;
  epoch: number;
  sequence: number;
  baseOffset: number;
  count: number;
  /** When the leader appended it: the partition forgets a producer silent for producer.id.expiration.ms. */
  appendedMs: number;
  /**
   * The gateway's clock for the request's records without a timestamp: with the
   * request's own timestamps it gives the original answer's, even once retention
   * has deleted the records.
   */
  defaultTimestamp: number;
  /** A transactional batch's transaction (Transaction.number); absent for a plain one. */
  transactionNumber?: number;
};

export type SequenceCheck = "next" | "duplicate" | "expired-duplicate" | "gap";

/**
 * Where `sequence` stands for a producer whose next expected sequence is
 * `nextSequence`: the next one (apply it), one of the last `kept` applied
 * (answer the original results), an older applied one (DUPLICATE_SEQUENCE_NUMBER),
 * or beyond the next (OUT_OF_ORDER_SEQUENCE_NUMBER).
 */
export function checkSequence(nextSequence: number, sequence: number, kept: number): SequenceCheck {
  if (sequence === nextSequence) return "next";
  if (sequence > nextSequence) return "gap";
  return sequence >= nextSequence - kept ? "duplicate" : "expired-duplicate";
}

export type PartitionDecision =
  | { kind: "append" }
  | { kind: "duplicate"; batch: ProducerBatch }
  /**
   * The same sequence appended in an earlier transaction, which ended without it
   * being applied (it failed elsewhere, and the transaction was aborted): a new
   * request, to append, unless the producer object says it is a repeat.
   */
  | { kind: "reused"; batch: ProducerBatch }
  | { kind: "fenced"; epoch: number }
  /** Older than a batch of the same epoch appended here, and not one it keeps: never append it. */
  | { kind: "stale"; newerSequence: number };

/**
 * What a partition does with a producer's batch (of transaction `transactionNumber`,
 * if transactional), given the batches it keeps for that producer: refuse an epoch
 * older than one it has seen, answer a batch it already appended, refuse a sequence
 * older than one of the same epoch it appended (the producer object applies
 * sequences in order, so that one was applied before or skipped: the guard a
 * restarted producer object relies on), else append.
 */
export function partitionDecision(
  kept: readonly ProducerBatch[],
  epoch: number,
  sequence: number,
  transactionNumber?: number,
): PartitionDecision {
  let newestEpoch = -1;
  let newerSequence = -1;
  for (const b of kept) {
    if (b.epoch > newestEpoch) newestEpoch = b.epoch;
    if (b.epoch === epoch && b.sequence === sequence)
      return b.transactionNumber === transactionNumber
        ? { kind: "duplicate", batch: b }
        : { kind: "reused", batch: b };
    if (b.epoch === epoch && b.sequence > newerSequence) newerSequence = b.sequence;
  }
  if (epoch < newestEpoch) return { kind: "fenced", epoch: newestEpoch };
  if (newerSequence > sequence) return { kind: "stale", newerSequence };
  return { kind: "append" };
}

/**
 * The batches a partition keeps for one producer after appending `added`: the
 * newest `kept` by (epoch, sequence). Older epochs go first.
 */
export function batchesToKeep(
  existing: readonly ProducerBatch[],
  added: ProducerBatch,
  kept: number,
): ProducerBatch[] {
  const all = existing.filter((b) => !(b.epoch === added.epoch && b.sequence === added.sequence));
  all.push(added);
  all.sort((a, b) => b.epoch - a.epoch || b.sequence - a.sequence);
  return all.slice(0, kept);
}

const utf8 = new TextEncoder();

/**
 * The partition of an idempotent request's keyless records without an explicit
 * partition: fixed by (id, epoch, sequence), so that a retry of the request lands
 * where the original did (a sticky partitioner would move on).
 */
export function keylessPartition(producer: ProducerRef, partitions: number): number {
  const bytes = utf8.encode(`${producer.id}:${producer.epoch}:${producer.sequence}`);
  return toPositive(murmur2(bytes)) % partitions;
}
