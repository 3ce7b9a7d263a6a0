import { fail, ok, type Result } from "./errors";
import { TRANSACTION_GROUPS_MAX, TRANSACTION_PARTITIONS_MAX } from "./limits";
import { compareTopicPartitions, partitionKey, type TopicPartition } from "./partition-key";

/**
 * A transactional producer's coordinator (Kafka's TransactionCoordinator and
 * TransactionMetadata, KIP-98): the state of the producer's current transaction
 * and the rules that move it. The producer object named by the transactionalId
 * keeps this durably and does what the answers say: it persists a new state
 * BEFORE acting on it (a decision is durable before any marker is written), then
 * writes the markers into every registered partition and group and marks the
 * transaction complete. Pure: the clock is injected.
 *
 *   Empty ──add──▶ Ongoing ──end(commit)──▶ PrepareCommit ──complete──▶ CompleteCommit
 *                     │    ──end(abort) ──▶ PrepareAbort  ──complete──▶ CompleteAbort
 *                     └── timeout, or a new epoch (init) ─▶ PrepareAbort (epoch bumped: fenced)
 *   Complete* ──add──▶ Ongoing (the next transaction)
 */

export type TransactionState =
  | "Empty"
  | "Ongoing"
  | "PrepareCommit"
  | "PrepareAbort"
  | "CompleteCommit"
  | "CompleteAbort";

export type Transaction = {
  state: TransactionState;
  /** The producer's epoch: requests of an older one are fenced. */
  epoch: number;
  /**
   * The current (or last) transaction's number: each one begun takes the next, across
   * epochs. Writes and markers carry it, so a partition tells a late write or a
   * repeated marker of an earlier transaction from the current one (one epoch spans
   * many transactions; Kafka 4 bumps the epoch instead, KIP-890).
   */
  number: number;
  /** Partitions written in the current transaction (sorted, unique): each gets a marker. */
  partitions: TopicPartition[];
  /** Groups sent offsets in the current transaction (sorted, unique): each gets a marker. */
  groups: string[];
  /** When the current transaction began (its first write or offsets), null when none is open. */
  startedAtMs: number | null;
  /**
   * The producer sequence of the write that began the current transaction (null: begun by
   * offsets, or stored before this existed). A commit or abort sent with a sequence at or
   * below it was sent before the transaction began: a late repeat of an earlier end
   * (a cut connection, retried and answered meanwhile), which must not end this one.
   */
  firstSequence?: number | null;
  timeoutMs: number;
};

/**
 * What a decided transaction writes into its partitions and groups: committed or
 * aborted, fenced by epoch, closing the transaction of its `number` only.
 */
export type TransactionMarker = { epoch: number; commit: boolean; number: number };

export function emptyTransaction(epoch: number, timeoutMs: number, number = 0): Transaction {
  return { state: "Empty", epoch, number, partitions: [], groups: [], startedAtMs: null, timeoutMs };
}

export function isPreparing(state: TransactionState): boolean {
  return state === "PrepareCommit" || state === "PrepareAbort";
}

/** Requests of another epoch: an older one is fenced (a newer instance took over), a newer one was never handed out. */
export function checkEpoch(txn: Transaction, epoch: number): Result<null> {
  if (epoch < txn.epoch)
    return fail(
      "PRODUCER_FENCED",
      `epoch ${epoch} was fenced: the transactional producer is at epoch ${txn.epoch}`,
    );
  if (epoch > txn.epoch)
    return fail(
      "INVALID_PRODUCER_EPOCH",
      `epoch ${epoch} was never handed out; the current one is ${txn.epoch}`,
    );
  return ok(null);
}

function concurrent(txn: Transaction): Result<never> {
  return fail(
    "CONCURRENT_TRANSACTIONS",
    `the transaction is still completing (${txn.state}); retry once it is complete`,
  );
}

/**
 * A new epoch for the transactionalId (POST /v1/producers): an open transaction
 * is aborted under the new epoch, so that its old producer is fenced everywhere
 * its markers go. A transaction still completing must complete first.
 */
export function initEpoch(txn: Transaction | null, timeoutMs: number, epochMax: number): Result<Transaction> {
  if (txn === null) return ok(emptyTransaction(0, timeoutMs));
  if (isPreparing(txn.state)) return concurrent(txn);
  // Two epochs are left: this one, and the one a timeout would fence it with.
  if (txn.epoch + 2 > epochMax) return fail("INVALID_REQUEST", "the producer epoch is exhausted");
  const epoch = txn.epoch + 1;
  if (txn.state === "Ongoing") return ok({ ...txn, epoch, state: "PrepareAbort", timeoutMs: txn.timeoutMs });
  return ok(emptyTransaction(epoch, timeoutMs, txn.number));
}

/**
 * The open transaction a write of `epoch` goes into: begun if none is open (Empty
 * or Complete*, keeping the epoch and timeout); refused for another epoch or while
 * one is completing.
 */
function openFor(
  txn: Transaction,
  epoch: number,
  nowMs: number,
  sequence: number | null,
): Result<Transaction> {
  const epochCheck = checkEpoch(txn, epoch);
  if (!epochCheck.ok) return epochCheck;
  if (isPreparing(txn.state)) return concurrent(txn);
  if (txn.state === "Ongoing") return ok(txn);
  return ok({
    ...txn,
    state: "Ongoing",
    number: txn.number + 1,
    partitions: [],
    groups: [],
    startedAtMs: nowMs,
    firstSequence: sequence,
  });
}

/**
 * Registers partitions before the producer first writes to them (Kafka's
 * AddPartitionsToTxn), beginning the transaction implicitly. `changed` says the
 * caller must persist `txn` before the write.
 */
export function addPartitions(
  txn: Transaction,
  epoch: number,
  partitions: readonly TopicPartition[],
  nowMs: number,
  sequence: number | null = null,
): Result<{ txn: Transaction; changed: boolean }> {
  const opened = openFor(txn, epoch, nowMs, sequence);
  if (!opened.ok) return opened;
  const open = opened.value;
  const key = (tp: TopicPartition) => partitionKey(tp.topic, tp.partition);
  const known = new Set(open.partitions.map(key));
  const added = partitions.filter((tp) => !known.has(key(tp)));
  const unique = [...new Map(added.map((tp) => [key(tp), tp])).values()];
  if (unique.length === 0) return ok({ txn: open, changed: open !== txn });
  if (open.partitions.length + unique.length > TRANSACTION_PARTITIONS_MAX)
    return fail(
      "INVALID_REQUEST",
      `a transaction writes to at most ${TRANSACTION_PARTITIONS_MAX} partitions; commit or abort this one first`,
    );
  const all = [...open.partitions, ...unique.map(({ topic, partition }) => ({ topic, partition }))];
  return ok({ txn: { ...open, partitions: all.sort(compareTopicPartitions) }, changed: true });
}

/** Registers a group whose offsets the transaction commits (Kafka's AddOffsetsToTxn), beginning it implicitly. */
export function addGroup(
  txn: Transaction,
  epoch: number,
  group: string,
  nowMs: number,
): Result<{ txn: Transaction; changed: boolean }> {
  const opened = openFor(txn, epoch, nowMs, null);
  if (!opened.ok) return opened;
  const open = opened.value;
  if (open.groups.includes(group)) return ok({ txn: open, changed: open !== txn });
  if (open.groups.length >= TRANSACTION_GROUPS_MAX)
    return fail(
      "INVALID_REQUEST",
      `a transaction commits offsets of at most ${TRANSACTION_GROUPS_MAX} groups`,
    );
  return ok({ txn: { ...open, groups: [...open.groups, group].sort() }, changed: true });
}

export type EndOutcome =
  /** Persist `txn` (Prepare*), then write its markers and complete it. */
  | { kind: "prepare"; txn: Transaction }
  /** Already decided this way: complete it (again, if it was interrupted) and answer. */
  | { kind: "resume"; txn: Transaction }
  /** Already complete this way (a retried request): answer at once. */
  | { kind: "done"; txn: Transaction };

/**
 * Commit or abort (Kafka's EndTxn). A retry of a decided or completed request of
 * the same kind is answered as the first; the other kind, or ending a
 * transaction that never began, is INVALID_TXN_STATE. With `sequence` (one past
 * the last sequence the producer sent before the end), an end sent before the open
 * transaction's first write is refused and changes nothing (KIP-890's concern:
 * a late EndTxn must not end the next transaction).
 */
export function endTransaction(
  txn: Transaction,
  epoch: number,
  commit: boolean,
  sequence: number | null = null,
): Result<EndOutcome> {
  const epochCheck = checkEpoch(txn, epoch);
  if (!epochCheck.ok) return epochCheck;
  const verb = commit ? "commit" : "abort";
  switch (txn.state) {
    case "Ongoing": {
      const first = txn.firstSequence ?? null;
      if (sequence !== null && first !== null && sequence <= first)
        return fail(
          "INVALID_TXN_STATE",
          `this ${verb} was sent at sequence ${sequence}, before the open transaction began (its first write has sequence ${first}): a late repeat of an earlier end, ignored`,
        );
      return ok({ kind: "prepare", txn: { ...txn, state: commit ? "PrepareCommit" : "PrepareAbort" } });
    }
    case "PrepareCommit":
    case "PrepareAbort":
      if ((txn.state === "PrepareCommit") === commit) return ok({ kind: "resume", txn });
      break;
    case "CompleteCommit":
    case "CompleteAbort":
      if ((txn.state === "CompleteCommit") === commit) return ok({ kind: "done", txn });
      break;
    case "Empty":
      return fail(
        "INVALID_TXN_STATE",
        `no transaction is open to ${verb}: produce with "transactional": true first`,
      );
  }
  return fail("INVALID_TXN_STATE", `cannot ${verb}: the transaction is ${txn.state}`);
}

/** The markers of a decided transaction (Prepare*): what every registered partition and group is told. */
export function markerOf(txn: Transaction): TransactionMarker {
  if (!isPreparing(txn.state)) throw new Error(`no marker for a transaction in ${txn.state}`);
  return { epoch: txn.epoch, commit: txn.state === "PrepareCommit", number: txn.number };
}

/** Once every marker is written: the transaction is complete, nothing stays registered. */
export function completeTransaction(txn: Transaction): Transaction {
  if (!isPreparing(txn.state)) throw new Error(`cannot complete a transaction in ${txn.state}`);
  return {
    ...txn,
    state: txn.state === "PrepareCommit" ? "CompleteCommit" : "CompleteAbort",
    partitions: [],
    groups: [],
    startedAtMs: null,
  };
}

/** When an open transaction times out (the coordinator's alarm), null when none is open. */
export function timeoutAt(txn: Transaction): number | null {
  return txn.state === "Ongoing" && txn.startedAtMs !== null ? txn.startedAtMs + txn.timeoutMs : null;
}

/**
 * The coordinator's alarm: an open transaction past its timeout is aborted and
 * its epoch fenced (the producer that let it time out must init again); null when
 * nothing is due.
 */
export function expire(txn: Transaction, nowMs: number): Transaction | null {
  const at = timeoutAt(txn);
  if (at === null || nowMs < at) return null;
  return { ...txn, state: "PrepareAbort", epoch: txn.epoch + 1 };
}
