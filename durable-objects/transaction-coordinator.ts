import { mapConcurrent } from "../core/concurrency";
import { fail, ok, type Result } from "../core/errors";
import { FAN_OUT_CONCURRENCY_MAX, PRODUCER_EPOCH_MAX } from "../core/limits";
import type { TopicPartition } from "../core/partition-key";
import {
  addGroup,
  addPartitions,
  completeTransaction,
  emptyTransaction,
  endTransaction,
  expire,
  initEpoch,
  isPreparing,
  markerOf,
  type Transaction,
  type TransactionState,
  timeoutAt,
} from "../core/transaction-coordinator";
import type { Env } from "./env";
import { callPartitionLeader, LEADER_CALL_SLACK_MS } from "./leader-call";
import { consumerGroup } from "./stubs";
import type { TopicCache } from "./topic-cache";

/**
 * A transactional producer's coordinator (Kafka's TransactionCoordinator), run
 * by the producer object its transactionalId names. The state machine is
 * core/transaction-coordinator.ts; this keeps it in the object's SQLite and does
 * what it decides. Two-phase: a decision (Prepare*) is durable before any marker
 * is written; the markers then go to every registered partition (acks=all) and
 * group, and the transaction is marked complete. A crash or an unreachable
 * partition in between leaves Prepare* stored: the object's alarm (and any retry
 * of the request) resumes until every marker is written.
 */

/** The table, as one of the producer object's migrations. */
export const TRANSACTION_TABLE_MIGRATION = `CREATE TABLE txn (
     id INTEGER PRIMARY KEY CHECK (id = 0),
     transactional_id TEXT NOT NULL,
     data TEXT NOT NULL
   );`;

/** How soon the alarm tries again to write the markers of a decided transaction. */
export const MARKER_RETRY_MS = 1_000;

/** GET /v1/transactions/{transactionalId} (API.md). */
export type TransactionDescription = {
  transactionalId: string;
  state: TransactionState;
  producer: { id: string; epoch: number };
  partitions: TopicPartition[];
  groups: string[];
  startedAt?: string;
  transactionTimeoutMs: number;
};

export class TransactionCoordinator {
  /** Null for a producer without a transactionalId. */
  private txn: Transaction | null = null;
  private transactionalId: string | null = null;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly env: Env,
    private readonly topics: TopicCache,
    private readonly producerId: string,
  ) {
    const row = storage.sql
      .exec<{ transactional_id: string; data: string }>("SELECT * FROM txn WHERE id = 0")
      .toArray()[0];
    if (row) {
      this.transactionalId = row.transactional_id;
      // Numbered since transactions were first stored: older rows count from 0.
      this.txn = { number: 0, ...(JSON.parse(row.data) as Omit<Transaction, "number">) };
    }
  }

  get transactional(): boolean {
    return this.txn !== null;
  }

  /** The open (or last) transaction's number, which its writes carry to the partitions. */
  get number(): number {
    return this.txn?.number ?? 0;
  }

  /** A transaction is open or completing: the producer writes only inside it. */
  get open(): boolean {
    return this.txn !== null && (this.txn.state === "Ongoing" || isPreparing(this.txn.state));
  }

  get epoch(): number | null {
    return this.txn?.epoch ?? null;
  }

  /** Persists the state durably before anything acts on it (markers, appends). */
  private async save(txn: Transaction): Promise<void> {
    this.txn = txn;
    this.storage.sql.exec(
      "INSERT OR REPLACE INTO txn (id, transactional_id, data) VALUES (0, ?, ?)",
      this.transactionalId,
      JSON.stringify(txn),
    );
    await this.storage.sync();
  }

  /**
   * A new epoch for the transactionalId (POST /v1/producers): a transaction still
   * completing completes first; an open one is aborted under the new epoch before
   * the answer. Answers the epoch (`currentEpoch`: the producer's, when it has one).
   */
  async init(
    transactionalId: string,
    timeoutMs: number,
    currentEpoch: number | null,
  ): Promise<Result<number>> {
    this.transactionalId = transactionalId;
    // A transactionalId producer from before transactions existed: its epochs go on from where they are.
    if (this.txn === null && currentEpoch !== null) this.txn = emptyTransaction(currentEpoch, timeoutMs);
    if (this.txn !== null && isPreparing(this.txn.state)) {
      const done = await this.complete();
      if (!done.ok) return done;
    }
    const next = initEpoch(this.txn, timeoutMs, PRODUCER_EPOCH_MAX);
    if (!next.ok) return next;
    await this.save(next.value);
    if (isPreparing(next.value.state)) {
      const done = await this.complete();
      if (!done.ok) return done;
      // The next transaction keeps the timeout this init asked for.
      await this.save({ ...this.txn!, timeoutMs });
    }
    return ok(this.txn!.epoch);
  }

  /**
   * Registers the partitions a transactional produce writes to (durably, before the
   * append). Answers whether a transaction began (its timeout needs the alarm).
   */
  register(epoch: number, partitions: readonly TopicPartition[], sequence: number): Promise<Result<boolean>> {
    return this.add((txn) => addPartitions(txn, epoch, partitions, Date.now(), sequence));
  }

  /** Registers a group whose offsets the transaction commits; answers whether a transaction began. */
  registerGroup(epoch: number, group: string): Promise<Result<boolean>> {
    return this.add((txn) => addGroup(txn, epoch, group, Date.now()));
  }

  private async add(
    change: (txn: Transaction) => Result<{ txn: Transaction; changed: boolean }>,
  ): Promise<Result<boolean>> {
    if (this.txn === null) return notTransactional();
    const began = this.txn.state !== "Ongoing";
    const added = change(this.txn);
    if (!added.ok) return added;
    if (added.value.changed) await this.save(added.value.txn);
    return ok(began);
  }

  /** Commit or abort: answers once every marker is written (a retry resumes one interrupted). */
  async end(epoch: number, commit: boolean, sequence: number | null): Promise<Result<TransactionState>> {
    if (this.txn === null) return notTransactional();
    const outcome = endTransaction(this.txn, epoch, commit, sequence);
    if (!outcome.ok) return outcome;
    if (outcome.value.kind === "done") return ok(outcome.value.txn.state);
    if (outcome.value.kind === "prepare") await this.save(outcome.value.txn);
    const done = await this.complete();
    return done.ok ? ok(this.txn.state) : done;
  }

  /**
   * Writes the decided transaction's markers everywhere it registered, then marks
   * it complete. A partition whose topic was deleted needs none.
   */
  private async complete(): Promise<Result<null>> {
    const txn = this.txn!;
    const marker = markerOf(txn);
    const producerId = this.producerId;
    const failures: string[] = [];
    await mapConcurrent(txn.partitions, FAN_OUT_CONCURRENCY_MAX, async (tp) => {
      try {
        const written = await callPartitionLeader(
          this.env,
          this.topics,
          tp,
          LEADER_CALL_SLACK_MS,
          (leader, leaderEpoch, meta) =>
            leader.writeMarker({ topicId: meta.topicId, leaderEpoch, producerId, marker }),
        );
        if (!written.ok && written.error.code !== "UNKNOWN_TOPIC_OR_PARTITION")
          failures.push(`${tp.topic}/${tp.partition}: ${written.error.message}`);
      } catch (error) {
        failures.push(`${tp.topic}/${tp.partition}: ${String(error)}`);
      }
    });
    await mapConcurrent(txn.groups, FAN_OUT_CONCURRENCY_MAX, async (group) => {
      try {
        await consumerGroup(this.env, group).transactionMarker(producerId, marker);
      } catch (error) {
        failures.push(`group ${group}: ${String(error)}`);
      }
    });
    // The caller schedules the alarm (nextAlarm), which tries again.
    if (failures.length > 0)
      return fail(
        "CONCURRENT_TRANSACTIONS",
        `the transaction is ${txn.state} but ${failures.length} marker(s) are not written yet (${failures[0]}); it completes by itself: retry`,
      );
    await this.save(completeTransaction(txn));
    return ok(null);
  }

  /** When the alarm must run for this transaction (timeout or markers to retry), null when never. */
  nextAlarm(now: number): number | null {
    if (this.txn === null) return null;
    if (isPreparing(this.txn.state)) return now + MARKER_RETRY_MS;
    return timeoutAt(this.txn);
  }

  /**
   * The alarm: an open transaction past its timeout is aborted (its epoch fenced);
   * a decided one's markers are written. Answers the epoch when it moved.
   */
  async onAlarm(now: number): Promise<void> {
    if (this.txn === null) return;
    const expired = expire(this.txn, now);
    if (expired !== null) await this.save(expired);
    if (isPreparing(this.txn.state)) await this.complete();
  }

  /** Nothing open or completing: the producer may be forgotten when silent. */
  get idle(): boolean {
    return this.txn === null || this.txn.state === "Empty" || this.txn.state.startsWith("Complete");
  }

  describe(): TransactionDescription | null {
    const txn = this.txn;
    if (txn === null || this.transactionalId === null) return null;
    return {
      transactionalId: this.transactionalId,
      state: txn.state,
      producer: { id: this.producerId, epoch: txn.epoch },
      partitions: txn.partitions,
      groups: txn.groups,
      ...(txn.startedAtMs === null ? {} : { startedAt: new Date(txn.startedAtMs).toISOString() }),
      transactionTimeoutMs: txn.timeoutMs,
    };
  }
}

function notTransactional(): Result<never> {
  return fail(
    "INVALID_TXN_STATE",
    'this producer has no transactionalId: get one from POST /v1/producers with "transactionalId"',
  );
}
