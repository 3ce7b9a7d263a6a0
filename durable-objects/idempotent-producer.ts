import { DurableObject } from "cloudflare:workers";
import { fail, ok, type Result } from "../core/errors";
import { checkSequence } from "../core/idempotence";
import { PRODUCER_QUEUE_MAX, PRODUCER_SEQUENCES_KEPT } from "../core/limits";
import type { TransactionState } from "../core/transaction-coordinator";
import type { CommitRequest } from "../schemas/groups";
import { type Env, producerExpirationMs } from "./env";
import { appendToLeader, type BatchAnswers, type IdempotentProduceRequest } from "./produce-path";
import { newestAppendedSequence } from "./producer-recovery";
import { runMigrations } from "./sql-migrations";
import { consumerGroup } from "./stubs";
import { TopicCache } from "./topic-cache";
import {
  TRANSACTION_TABLE_MIGRATION,
  TransactionCoordinator,
  type TransactionDescription,
} from "./transaction-coordinator";

/**
 * One idempotent producer (API.md "Produce"): its epoch and next sequence. Sequences
 * number a producer's REQUESTS, which may span partitions, so this object orders them:
 * it applies them one at a time in sequence order, finds gaps and fences older epochs,
 * then sends each partition's batch to its leader with (id, epoch, sequence). The
 * leaders keep the last batches per producer with their logs, so a request applied
 * before (also before a restart or a failover) is answered with its original offsets
 * and never appended twice. The object's id is the producer id; a transactionalId
 * names its object, so it finds the same id and bumps the epoch (Kafka's InitProducerId).
 */

const MIGRATIONS = [
  `CREATE TABLE producer (
     id INTEGER PRIMARY KEY CHECK (id = 0),
     epoch INTEGER NOT NULL,
     next_sequence INTEGER NOT NULL,
     last_used_ms INTEGER NOT NULL
   );`,
  // The partitions this producer has appended to: where a restarted object finds its sequences.
  `CREATE TABLE touched (topic TEXT NOT NULL, partition INTEGER NOT NULL, PRIMARY KEY (topic, partition));`,
  // A transactionalId's producer: the coordinator's state of its transaction.
  TRANSACTION_TABLE_MIGRATION,
];

type ProducerRow = { epoch: number; next_sequence: number; last_used_ms: number };

/**
 * Applied sequences the stored next_sequence may lag behind at most: it is written
 * lazily, off the produce path. A restarted object asks the partitions it touched for
 * the newest sequence N they appended (they keep each producer's batches with their
 * logs): N and N + 1 are sent on as the next (the partitions answer what they hold and
 * append the rest), older ones are repeats, a gap past them is still refused.
 */
const SEQUENCE_CHECKPOINT_EVERY = 64;
/** How soon an applied sequence is written at the latest (a timer, coalescing requests). */
const SEQUENCE_CHECKPOINT_MS = 200;

export class IdempotentProducer extends DurableObject<Env> {
  private state: { epoch: number; nextSequence: number; lastUsedMs: number } | null = null;
  /** Requests run one after another in arrival order; each decides on its sequence when its turn comes. */
  private queue: Promise<unknown> = Promise.resolve();
  private queued = 0;
  /** Outcomes of the last PRODUCER_SEQUENCES_KEPT applied sequences (after a restart the leaders answer). */
  private readonly recent = new Map<number, BatchAnswers>();
  private readonly topics = new TopicCache();
  /** The next_sequence storage holds (see SEQUENCE_CHECKPOINT_EVERY). */
  private checkpointed = 0;
  private checkpointTimer: ReturnType<typeof setTimeout> | null = null;
  /** Loaded from storage, and not yet past what its partitions answered: the stored next_sequence may lag behind. */
  private recovering = false;
  /** While recovering: one past the newest sequence the touched partitions appended (null: not asked yet). */
  private recoveredNext: number | null = null;
  /** Every partition appended to (the touched table), by "topic/partition". */
  private readonly touched = new Map<string, { topic: string; partition: number }>();
  /** A transactionalId's transactions (API.md "Transactions"). */
  readonly transactions: TransactionCoordinator;
  /** A request of the open transaction that failed on some partition: it may be written in part, so no commit. */
  private failedInTransaction: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    runMigrations(ctx.storage.sql, MIGRATIONS);
    const row = ctx.storage.sql.exec<ProducerRow>("SELECT * FROM producer WHERE id = 0").toArray()[0];
    if (row) {
      this.state = { epoch: row.epoch, nextSequence: row.next_sequence, lastUsedMs: row.last_used_ms };
      this.checkpointed = row.next_sequence;
      this.recovering = true;
    }
    for (const t of ctx.storage.sql.exec<{ topic: string; partition: number }>("SELECT * FROM touched"))
      this.touched.set(`${t.topic}/${t.partition}`, { topic: t.topic, partition: t.partition });
    this.transactions = new TransactionCoordinator(ctx.storage, env, this.topics, ctx.id.toString());
  }

  /**
   * Starts the producer, or for a transactionalId a new epoch of it (older epochs are
   * fenced from now on; an open transaction is aborted first).
   */
  async init(transactional?: {
    transactionalId: string;
    timeoutMs: number;
  }): Promise<Result<{ id: string; epoch: number }>> {
    let epoch = this.state === null ? 0 : this.state.epoch + 1;
    if (transactional) {
      const txnEpoch = await this.transactions.init(
        transactional.transactionalId,
        transactional.timeoutMs,
        this.state?.epoch ?? null,
      );
      if (!txnEpoch.ok) {
        await this.scheduleAlarm(); // a transaction left completing is resumed by the alarm
        return txnEpoch;
      }
      epoch = txnEpoch.value;
    }
    this.state = { epoch, nextSequence: 0, lastUsedMs: Date.now() };
    this.checkpointed = 0;
    this.failedInTransaction = null; // the new epoch aborted that transaction
    this.recovering = false;
    this.recoveredNext = null;
    this.recent.clear();
    this.ctx.storage.sql.exec(
      "INSERT OR REPLACE INTO producer (id, epoch, next_sequence, last_used_ms) VALUES (0, ?, 0, ?)",
      epoch,
      this.state.lastUsedMs,
    );
    await this.scheduleAlarm();
    return ok({ id: this.ctx.id.toString(), epoch });
  }

  /** Applies one request at most once (see the class comment). */
  async produce(request: IdempotentProduceRequest): Promise<Result<BatchAnswers>> {
    if (this.state === null) return this.unknown();
    if (this.queued >= PRODUCER_QUEUE_MAX)
      return fail(
        "THROTTLING_QUOTA_EXCEEDED",
        `producer has ${PRODUCER_QUEUE_MAX} requests waiting; wait for their answers before sending more`,
      );
    this.queued++;
    try {
      return await this.inTurn(() => this.apply(request));
    } finally {
      this.queued--;
    }
  }

  private async apply(request: IdempotentProduceRequest): Promise<Result<BatchAnswers>> {
    const state = this.state;
    if (state === null) return this.unknown(); // expired while it waited
    if (request.epoch < state.epoch)
      return fail(
        "PRODUCER_FENCED",
        `epoch ${request.epoch} is fenced: the producer is at epoch ${state.epoch}`,
      );
    if (request.epoch > state.epoch)
      return fail(
        "INVALID_PRODUCER_EPOCH",
        `epoch ${request.epoch} was never handed out; the producer is at epoch ${state.epoch}`,
      );
    if (request.transactional && !this.transactions.transactional)
      return fail(
        "INVALID_TXN_STATE",
        'a transactional produce needs a producer with a transactionalId (POST /v1/producers { "transactionalId" })',
      );
    // Outside a transaction a transactionalId producer writes as any idempotent one (API.md v1).
    if (!request.transactional && this.transactions.open)
      return fail(
        "INVALID_TXN_STATE",
        'the producer has a transaction open: send "transactional": true, or commit or abort it first',
      );
    let check = checkSequence(state.nextSequence, request.sequence, PRODUCER_SEQUENCES_KEPT);
    if (check === "gap" && this.recovering) {
      // Restarted (SEQUENCE_CHECKPOINT_EVERY): what lies past the stored sequence, the partitions know.
      const recovered = await this.recover(state.epoch, state.nextSequence);
      if (!recovered.ok) return recovered;
      // Sequences are applied in order: the newest a partition appended may be partly applied (a
      // retry appends the rest, the partitions answer the others), every older one was applied whole.
      if (request.sequence >= recovered.value - 1 && request.sequence <= recovered.value) check = "next";
      else if (request.sequence < recovered.value - 1) check = "duplicate";
    }
    if (check === "gap")
      return fail(
        "OUT_OF_ORDER_SEQUENCE_NUMBER",
        `sequence ${request.sequence} is out of order: the producer's next sequence is ${state.nextSequence}`,
      );
    if (check === "expired-duplicate")
      return fail(
        "DUPLICATE_SEQUENCE_NUMBER",
        `sequence ${request.sequence} was applied; only the results of the last ${PRODUCER_SEQUENCES_KEPT} sequences are kept`,
      );
    // A transactional repeat with no transaction open: its records belong to one that ended (the client
    // reused a sequence it never got an answer for; Kafka's producer bumps its epoch then, so must it).
    if (check === "duplicate" && request.transactional && !this.transactions.open)
      return fail(
        "INVALID_TXN_STATE",
        `sequence ${request.sequence} was applied in a transaction that has ended; start a new epoch (POST /v1/producers) after a request whose outcome is unknown`,
      );
    if (check === "duplicate") {
      const kept = this.recent.get(request.sequence);
      if (kept) return ok(kept);
      // This object restarted since: the leaders answer from the batches they keep, never appending;
      // if one no longer keeps it, the whole request is that refusal (not half an answer).
      const repeated = await this.send(request, { repeat: true });
      const dropped = repeated.find((a) => !a.ok && a.error.code === "DUPLICATE_SEQUENCE_NUMBER");
      return dropped && !dropped.ok ? dropped : ok(repeated);
    }
    if (request.transactional) {
      // Registered (durably) before any write: the coordinator must know every partition to mark.
      const registered = await this.transactions.register(
        request.epoch,
        request.batches.map((b) => ({ topic: request.topic.name, partition: b.partition })),
        request.sequence,
      );
      if (!registered.ok) return registered;
      if (registered.value) await this.scheduleAlarm(); // a transaction began: its timeout
    }
    const answers = await this.send(request, { repeat: false });
    // A request that failed on some partition is not applied: its sequence stays next, and a
    // retry appends only where it failed (the leaders answer the rest from their batches).
    if (answers.every((a) => a.ok)) this.applied(request.sequence, answers);
    else if (request.transactional) this.failedInTransaction = request.sequence;
    return ok(answers);
  }

  /** Commit or abort the open transaction, queued behind the requests in flight (every write is in before its markers). */
  async endTransaction(
    epoch: number,
    commit: boolean,
    sequence: number | null = null,
  ): Promise<Result<{ state: TransactionState }>> {
    if (this.state === null) return this.unknown();
    const ended = await this.inTurn(async () => {
      const failed = this.failedInTransaction;
      if (commit && failed !== null && this.transactions.open)
        return fail(
          "INVALID_TXN_STATE",
          `request ${failed} of this transaction failed on some partition and may be written in part: send it again until it succeeds, or abort`,
        );
      const result = await this.transactions.end(epoch, commit, sequence);
      if (result.ok) this.failedInTransaction = null; // its records are aborted: the sequence may be used again
      return result;
    });
    await this.scheduleAlarm();
    return ended.ok ? ok({ state: ended.value }) : ended;
  }

  /** Offsets the transaction commits if, and only if, it commits (checked by the group as a commit now). */
  async sendOffsets(epoch: number, group: string, request: CommitRequest): Promise<Result<null>> {
    if (this.state === null) return this.unknown();
    return this.inTurn(async (): Promise<Result<null>> => {
      const registered = await this.transactions.registerGroup(epoch, group);
      if (!registered.ok) return registered;
      if (registered.value) await this.scheduleAlarm(); // a transaction began: its timeout
      return consumerGroup(this.env, group).transactionalCommit(this.ctx.id.toString(), epoch, request);
    });
  }

  /** Runs `work` after every request queued before it (one at a time, in arrival order). */
  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.queue.then(work);
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  describeTransaction(): TransactionDescription | null {
    return this.state === null ? null : this.transactions.describe();
  }

  private async send(
    request: IdempotentProduceRequest,
    { repeat }: { repeat: boolean },
  ): Promise<BatchAnswers> {
    const producer = { id: this.ctx.id.toString(), epoch: request.epoch, sequence: request.sequence };
    // Leaders from this object's own cache: it forgets a failed leader, so a retry finds the new one.
    const cached = await this.topics.get(this.env, request.topic.name).catch(() => request.topic);
    const topic = cached.topicId === request.topic.topicId ? cached : request.topic;
    // A partition appended to for the first time is recorded (durably) before the append.
    let added = false;
    for (const batch of request.batches) {
      const key = `${topic.name}/${batch.partition}`;
      if (this.touched.has(key)) continue;
      this.ctx.storage.sql.exec(
        "INSERT OR IGNORE INTO touched (topic, partition) VALUES (?, ?)",
        topic.name,
        batch.partition,
      );
      this.touched.set(key, { topic: topic.name, partition: batch.partition });
      added = true;
    }
    if (added) await this.ctx.storage.sync();
    const transactionNumber = request.transactional ? this.transactions.number : undefined;
    return Promise.all(
      request.batches.map((batch) =>
        appendToLeader(this.env, this.topics, topic, batch, request.acks, {
          producer,
          repeat,
          transactionNumber,
          expectedOffset: request.expectedOffset,
        }).then((answer) =>
          // The clock the records were stored with (a leader's duplicate answers the original's):
          // kept in `recent`, so that a repeat rebuilds the original timestamps.
          answer.ok
            ? ok({
                ...answer.value,
                defaultTimestamp: answer.value.defaultTimestamp ?? batch.defaultTimestamp,
              })
            : answer,
        ),
      ),
    );
  }

  /** One past the newest sequence of `epoch` its partitions appended (asked once after a restart), ≥ `stored`. */
  private async recover(epoch: number, stored: number): Promise<Result<number>> {
    if (this.recoveredNext !== null) return ok(this.recoveredNext);
    const producer = { env: this.env, topics: this.topics, id: this.ctx.id.toString(), epoch };
    const newest = await newestAppendedSequence(producer, [...this.touched.values()]);
    if (!newest.ok) return newest;
    this.recoveredNext = Math.max(stored, newest.value + 1);
    return ok(this.recoveredNext);
  }

  private applied(sequence: number, answers: BatchAnswers): void {
    const state = this.state!;
    state.nextSequence = sequence + 1;
    state.lastUsedMs = Date.now();
    if (this.failedInTransaction === sequence) this.failedInTransaction = null;
    // Until its partitions were asked, a later gap may still be sequences applied before the restart.
    if (this.recoveredNext !== null && state.nextSequence >= this.recoveredNext) this.recovering = false;
    this.recent.set(sequence, answers);
    this.recent.delete(sequence - PRODUCER_SEQUENCES_KEPT);
    // Written before this answer leaves (the output gate) once the lag would pass the window.
    if (state.nextSequence - this.checkpointed >= SEQUENCE_CHECKPOINT_EVERY) this.checkpoint();
    else this.checkpointTimer ??= setTimeout(() => this.checkpoint(), SEQUENCE_CHECKPOINT_MS);
  }

  private checkpoint(): void {
    if (this.checkpointTimer !== null) clearTimeout(this.checkpointTimer);
    this.checkpointTimer = null;
    const state = this.state;
    if (state === null) return;
    this.ctx.storage.sql.exec(
      "UPDATE producer SET next_sequence = ?, last_used_ms = ? WHERE id = 0",
      state.nextSequence,
      state.lastUsedMs,
    );
    this.checkpointed = state.nextSequence;
  }

  private unknown() {
    return fail(
      "UNKNOWN_PRODUCER_ID",
      "this producer id is unknown or expired (producer.id.expiration.ms); get one from POST /v1/producers",
    );
  }

  /** One alarm for both: the producer's expiry and its transaction's timeout or markers to retry. */
  private async scheduleAlarm(): Promise<void> {
    const now = Date.now();
    const expiry = (this.state?.lastUsedMs ?? now) + producerExpirationMs(this.env);
    const due = Math.min(expiry, this.transactions.nextAlarm(now) ?? expiry);
    const current = await this.ctx.storage.getAlarm();
    if (current === null || due < current) await this.ctx.storage.setAlarm(due);
  }

  /**
   * The transaction's timeout and unfinished markers, then expiry: the producer is
   * forgotten once silent for producer.id.expiration.ms with no transaction under way.
   */
  override async alarm(): Promise<void> {
    const state = this.state;
    if (state === null) return;
    await this.transactions.onAlarm(Date.now());
    const epoch = this.transactions.epoch;
    if (epoch !== null && epoch !== state.epoch) this.fenceTo(epoch);
    const expiresAt = state.lastUsedMs + producerExpirationMs(this.env);
    if (Date.now() < expiresAt || !this.transactions.idle) {
      await this.ctx.storage.setAlarm(
        Math.min(expiresAt, this.transactions.nextAlarm(Date.now()) ?? expiresAt),
      );
      return;
    }
    this.state = null;
    this.recent.clear();
    await this.ctx.storage.deleteAll();
    runMigrations(this.ctx.storage.sql, MIGRATIONS); // a later init of the same transactionalId starts afresh
  }

  /** A timed-out transaction was aborted under a new epoch: the producer's old epoch is fenced here too. */
  private fenceTo(epoch: number): void {
    this.state = { epoch, nextSequence: 0, lastUsedMs: Date.now() };
    this.failedInTransaction = null;
    this.recent.clear();
    this.ctx.storage.sql.exec(
      "INSERT OR REPLACE INTO producer (id, epoch, next_sequence, last_used_ms) VALUES (0, ?, 0, ?)",
      epoch,
      this.state.lastUsedMs,
    );
    this.checkpointed = 0;
  }
}
