import { BACKOFF_DEFAULT, type Backoff, backoffMs, sleep } from "./backoff";
import type { EdgelogError } from "./errors";
import { call, type Transport } from "./http";
import { wireRecord } from "./producer";
import type { ProducerRecord, RecordMetadata } from "./types";

/**
 * A transactional producer (API.md "Transactions"; Kafka's transactional
 * producer): one producer id and epoch for a transactionalId, its requests one at
 * a time in sequence order, each retried with the same sequence while its outcome
 * is unknown. `init()` fences every older instance of the same transactionalId
 * (their open transaction is aborted). Within a transaction: `send()` records,
 * `sendOffsets()` a consumer's position, then `commit()` or `abort()`; or
 * `transaction(async (tx) => …)`, which commits when the function returns and
 * aborts when it throws.
 */
export type TransactionalProducerOptions = {
  transactionalId: string;
  /** The coordinator aborts a transaction open longer than this (1,000–900,000; 60,000 by default). */
  transactionTimeoutMs?: number;
  /** How long one request is retried while its outcome is unknown. */
  deliveryTimeoutMs?: number;
  backoff?: Backoff;
};

/** What a consumer-group member sends to a transaction: the offsets its outputs were computed from. */
export type TransactionOffsets = {
  group: string;
  memberId: string;
  generation: number;
  offsets: { topic: string; partition: number; offset: number }[];
};

const DELIVERY_TIMEOUT_MS_DEFAULT = 120_000;

type ProduceAnswer = {
  results: (
    | { partition: number; offset: number; timestamp: number }
    | { partition: number; error: unknown }
  )[];
};

export class TransactionalProducer {
  private producer: { id: string; epoch: number } | null = null;
  private sequence = 0;
  /** A send of the current transaction failed (its outcome unknown). */
  private sendFailed = false;
  /** Requests run one after another: the gateway orders a producer's sequences. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly path: string;

  constructor(
    private readonly transport: Transport,
    private readonly options: TransactionalProducerOptions,
  ) {
    if (typeof options?.transactionalId !== "string" || options.transactionalId === "")
      throw new Error("a transactional producer needs a transactionalId");
    this.path = `/v1/transactions/${encodeURIComponent(options.transactionalId)}`;
  }

  /** Its producer id and epoch (started on first use; `init()` starts a new epoch). */
  get id(): { id: string; epoch: number } | null {
    return this.producer;
  }

  /** Starts (or restarts) the transactionalId's producer: a new epoch, older instances fenced. */
  init(): Promise<{ id: string; epoch: number }> {
    return this.serial(async () => {
      const body: Record<string, unknown> = { transactionalId: this.options.transactionalId };
      if (this.options.transactionTimeoutMs !== undefined)
        body.transactionTimeoutMs = this.options.transactionTimeoutMs;
      const producer = await this.retried(() =>
        call<{ id: string; epoch: number }>(this.transport, "POST", "/v1/producers", body),
      );
      this.producer = producer;
      this.sequence = 0;
      return producer;
    });
  }

  /** Writes records inside the transaction (the first write begins it); resolves with their offsets. */
  send(topic: string, records: Omit<ProducerRecord, "topic">[]): Promise<RecordMetadata[]> {
    return this.serial(async () => {
      const producer = await this.started();
      const now = Date.now();
      const body = JSON.stringify({
        records: records.map((r) => wireRecord({ ...r, topic }, r.partition, now)),
        producer: { ...producer, sequence: this.sequence },
        transactional: true,
      });
      const path = `/v1/topics/${encodeURIComponent(topic)}/records?acks=all`;
      const answer = await this.retried(() => call<ProduceAnswer>(this.transport, "POST", path, body)).catch(
        (error: unknown) => {
          this.sendFailed = true; // its sequence may have been applied: the next transaction needs a new epoch
          throw error;
        },
      );
      this.sequence++;
      return answer.results.map((r, i) => {
        if (!("offset" in r)) throw new Error(`record ${i} was not written`);
        return { topic, partition: r.partition, offset: r.offset, timestamp: r.timestamp };
      });
    });
  }

  /** Commits these group offsets if, and only if, the transaction commits (consume-transform-produce). */
  sendOffsets(offsets: TransactionOffsets): Promise<void> {
    return this.serial(async () => {
      const producer = await this.started();
      await this.retried(() =>
        call(this.transport, "POST", `${this.path}/offsets`, { producer, ...offsets }),
      );
    });
  }

  commit(): Promise<void> {
    return this.end("commit");
  }

  abort(): Promise<void> {
    return this.end("abort");
  }

  /** Runs `work` in a transaction: committed when it returns, aborted (and the error rethrown) when it throws. */
  async transaction<T>(work: (tx: TransactionalProducer) => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await work(this);
    } catch (error) {
      await this.abort().catch(() => undefined); // the error that matters is the work's
      throw error;
    }
    await this.commit();
    return result;
  }

  private end(verb: "commit" | "abort"): Promise<void> {
    return this.serial(async () => {
      const producer = await this.started();
      // One past the last sequence sent (a failed send's too: it may have been applied), so a
      // late copy of this end can never end the next transaction (docs/transactions.md).
      const body = { producer: { ...producer, sequence: this.sequence + (this.sendFailed ? 1 : 0) } };
      try {
        // A retry of a decided end resumes it; CONCURRENT_TRANSACTIONS (markers still being written) is retriable.
        await this.retried(() => call(this.transport, "POST", `${this.path}/${verb}`, body));
      } catch (error) {
        // The end's outcome is unknown: the next start() inits a new epoch, which aborts anything left open.
        this.producer = null;
        this.sendFailed = false;
        throw error;
      }
      // After a send whose outcome is unknown, Kafka's producer bumps its epoch: the next start() inits.
      if (this.sendFailed) this.producer = null;
      this.sendFailed = false;
    });
  }

  private async started(): Promise<{ id: string; epoch: number }> {
    if (this.producer === null) {
      const body = { transactionalId: this.options.transactionalId };
      this.producer = await this.retried(() => call(this.transport, "POST", "/v1/producers", body));
      this.sequence = 0;
    }
    return this.producer!;
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.queue.then(work);
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** A call retried (same body, so the same sequence) while its error is retriable, up to the delivery timeout. */
  private async retried<T>(attempt: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + (this.options.deliveryTimeoutMs ?? DELIVERY_TIMEOUT_MS_DEFAULT);
    const backoff = this.options.backoff ?? BACKOFF_DEFAULT;
    for (let n = 0; ; n++) {
      try {
        return await attempt();
      } catch (error) {
        const failure = error as EdgelogError;
        if (!failure.retriable || Date.now() >= deadline) throw failure;
        const waitMs = backoffMs(backoff, n, (failure.retryAfterS ?? 0) * 1000);
        await sleep(Math.min(waitMs, Math.max(0, deadline - Date.now())));
      }
    }
  }
}
