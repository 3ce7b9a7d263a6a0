import { type ErrorCode, type ErrorInfo, fail, ok, type Result } from "../core/errors";
import { type ProducerBatch, partitionDecision } from "../core/idempotence";
import type { OpenTransaction } from "../core/partition-transactions";
import type { Acks, AppendInfo, AppendRequest, MarkerRequest, ProducerSequenceRequest } from "./contract";
import type { FaultInjector } from "./faults";
import type { FollowerSync } from "./follower-sync";
import type { GroupCommit } from "./group-commit";
import type { LogCleanup } from "./log-cleanup";
import type { PartitionLog } from "./partition-log";
import type { TransactionEvents } from "./partition-transaction-store";
import type { Waiters } from "./partition-watchers";

/** What an append's write did: refused it, found it already appended, or wrote it. */
type Written =
  | { kind: "answer"; answer: Result<AppendInfo> }
  | { kind: "duplicate"; batch: ProducerBatch }
  | { kind: "written"; baseOffset: number; next: number; leaderEpoch: number; failAfterCommit: boolean };

function refuse(code: ErrorCode, message: string, extra?: Partial<ErrorInfo>): Written {
  return { kind: "answer", answer: fail(code, message, extra) };
}

/**
 * A leader taking appends: idempotent producers' batches answered once, acks=all
 * refused up front while the ISR is too small, the records written in a commit
 * group (several requests' appends share one transaction and one fsync; each
 * request answered once its group is durable), sent to the followers, and
 * acknowledged as the request's acks level asks.
 */
export class LeaderAppend {
  constructor(
    private readonly log: PartitionLog,
    private readonly followers: FollowerSync,
    private readonly cleanup: LogCleanup,
    private readonly ackWaiters: Waiters,
    private readonly counters: { produceRequests: number; produceRecords: number },
    private readonly faults: FaultInjector,
    private readonly commits: GroupCommit,
  ) {}

  async append(request: AppendRequest): Promise<Result<AppendInfo>> {
    const written = await this.commits.submit(() => this.write(request));
    if (written.kind === "answer") return written.answer;
    if (written.kind === "duplicate") return this.answerDuplicate(written.batch, request.acks);
    if (written.failAfterCommit) throw new Error("injected fault: failed after commit");
    const { baseOffset, next, leaderEpoch } = written;
    if (request.acks !== "all")
      return ok({ baseOffset, logEndOffset: next, highWatermark: this.log.highWatermark });
    return this.awaitAcks(baseOffset, next, leaderEpoch);
  }

  /**
   * The synchronous part of an append, run in its commit group (see GroupCommit) on
   * the state it finds there: the checks, the rows, the live send to the followers.
   */
  private write(request: AppendRequest): Written {
    const refused = this.log.leaderCheck(request.topicId, request.leaderEpoch);
    if (refused) return { kind: "answer", answer: refused };
    const log = this.log;
    const state = log.current;
    const producer = request.producer;
    const producerBatches = producer ? log.producers.producerBatches(producer.id) : [];
    const transactionNumber = producer ? request.transactionNumber : undefined;
    if (producer) {
      let decision = partitionDecision(producerBatches, producer.epoch, producer.sequence, transactionNumber);
      // A repeat never appends: a batch of the same sequence is its answer, whichever transaction wrote it.
      if (decision.kind === "reused" && request.repeat)
        decision = { kind: "duplicate", batch: decision.batch };
      if (decision.kind === "fenced")
        return refuse(
          "PRODUCER_FENCED",
          `producer epoch ${producer.epoch} is older than epoch ${decision.epoch}, which this partition has seen`,
        );
      if (decision.kind === "duplicate") return { kind: "duplicate", batch: decision.batch };
      if (decision.kind === "stale")
        return refuse(
          "DUPLICATE_SEQUENCE_NUMBER",
          `sequence ${producer.sequence} of epoch ${producer.epoch} is older than sequence ${decision.newerSequence}, which partition ${state.partition} appended; it was applied before (its result is no longer kept) or skipped`,
        );
      if (request.repeat)
        return refuse(
          "DUPLICATE_SEQUENCE_NUMBER",
          `sequence ${producer.sequence} of epoch ${producer.epoch} was applied, but partition ${state.partition} no longer keeps its result`,
        );
    }
    // Checked in the commit group that writes: no append can slip between the check and the write.
    if (request.expectedOffset !== undefined && request.expectedOffset !== log.logEndOffset)
      return refuse(
        "OFFSET_MISMATCH",
        `partition ${state.partition} ends at offset ${log.logEndOffset}, not ${request.expectedOffset}; nothing was appended`,
        { logEndOffset: log.logEndOffset },
      );
    const minInsync = state.configs["min.insync.replicas"];
    if (request.acks === "all" && state.isr.length < minInsync)
      return refuse(
        "NOT_ENOUGH_REPLICAS",
        `the ISR has ${state.isr.length} of the ${minInsync} replicas min.insync.replicas needs; nothing was appended`,
      );
    const baseOffset = log.logEndOffset;
    // The last check: a transactional append begins (or continues) its producer's transaction here.
    let began: OpenTransaction | null = null;
    if (producer && transactionNumber !== undefined) {
      const admitted = log.transactions.admitTransactional(
        producer.id,
        producer.epoch,
        transactionNumber,
        baseOffset,
      );
      if (!admitted.ok) return { kind: "answer", answer: admitted };
      began = admitted.value;
    } else if (producer) {
      const admitted = log.transactions.admitPlain(producer.id);
      if (!admitted.ok) return { kind: "answer", answer: admitted };
    }
    const maxTimestamp = Math.max(log.maxTimestamp, request.maxTimestamp);
    const next = log.append(baseOffset, request.chunks, maxTimestamp);
    // In the append's transaction, the high watermark earlier appends reached: no commit of its own.
    if (log.highWatermarkUnsaved) log.saveHighWatermark();
    const transactions: TransactionEvents | undefined =
      producer && transactionNumber !== undefined
        ? {
            runs: [{ baseOffset, endOffset: next, producerId: producer.id }],
            begun: began ? [began] : [],
            markers: [],
          }
        : undefined;
    if (transactions) log.transactions.tagRun(transactions.runs[0]!);
    const producers: ProducerBatch[] = [];
    if (producer) {
      const batch = { producerId: producer.id, epoch: producer.epoch, sequence: producer.sequence };
      const defaultTimestamp = request.defaultTimestamp ?? 0;
      producers.push({
        ...batch,
        baseOffset,
        count: next - baseOffset,
        appendedMs: Date.now(),
        defaultTimestamp,
        ...(transactionNumber === undefined ? {} : { transactionNumber }),
      });
      log.producers.saveProducerBatch(producers[0]!, producerBatches); // read above: no second query
      this.cleanup.onProducerBatch();
    }
    log.maxTimestamp = maxTimestamp;
    log.logEndOffset = next;
    this.counters.produceRequests++;
    this.counters.produceRecords += next - baseOffset;
    // An injected failure after the commit: the records stay, the call fails, nothing is sent live.
    const failAfterCommit = this.faults.failsAfterCommit();
    if (!failAfterCommit)
      this.followers.replicateLive({
        baseOffset,
        endOffset: next,
        chunks: request.chunks,
        sparse: false,
        maxTimestamp: request.maxTimestamp,
        producers,
        transactions,
      });
    this.followers.advanceHighWatermark();
    this.cleanup.afterAppend(baseOffset);
    return { kind: "written", baseOffset, next, leaderEpoch: state.leaderEpoch, failAfterCommit };
  }

  /** The newest sequence of a producer's epoch appended here, -1 for none. */
  producerSequence(request: ProducerSequenceRequest): Result<number> {
    const refused = this.log.leaderCheck(request.topicId, request.leaderEpoch);
    if (refused) return refused;
    return ok(this.log.producers.newestSequence(request.producerId, request.producerEpoch));
  }

  /**
   * A coordinator's marker: takes the next offset and closes the producer's open
   * transaction here (an abort adds an aborted range), replicated like records;
   * answered once it is on min.insync.replicas copies (a decision must survive a
   * failover). A repeat finds nothing open: it is answered once the marker
   * written before is on as many copies.
   */
  async writeMarker(request: MarkerRequest): Promise<Result<{ offset: number | null }>> {
    const written = await this.commits.submit(() => this.writeMarkerRow(request));
    if (!written.ok) return written;
    const { offset, leaderEpoch } = written.value;
    if (offset === null) return written;
    const acked = await this.awaitAcks(offset, offset + 1, leaderEpoch);
    return acked.ok ? ok({ offset }) : acked;
  }

  /** The marker's write in its commit group: the offset it took (or the repeat's earlier one), null when none. */
  private writeMarkerRow(request: MarkerRequest): Result<{ offset: number | null; leaderEpoch: number }> {
    const refused = this.log.leaderCheck(request.topicId, request.leaderEpoch);
    if (refused) return refused;
    const log = this.log;
    const state = log.current;
    const leaderEpoch = state.leaderEpoch;
    const minInsync = state.configs["min.insync.replicas"];
    if (state.isr.length < minInsync)
      return fail(
        "NOT_ENOUGH_REPLICAS",
        `the ISR has ${state.isr.length} of the ${minInsync} replicas min.insync.replicas needs; no marker was written`,
      );
    const offset = log.logEndOffset;
    const applied = log.transactions.applyMarker(request.producerId, request.marker, offset, Date.now());
    if (!applied.ok) return applied;
    const marker = applied.value;
    // Nothing open: a repeat (its earlier marker must be as safe before the answer), or a partition never written.
    if (marker === null)
      return ok({ offset: log.transactions.lastMarkerOf(request.producerId), leaderEpoch });
    log.logEndOffset = offset + 1;
    this.followers.replicateLive({
      baseOffset: offset,
      endOffset: offset + 1,
      chunks: [],
      sparse: true,
      maxTimestamp: 0,
      producers: [],
      transactions: { runs: [], begun: [], markers: [marker] },
    });
    this.followers.advanceHighWatermark();
    return ok({ offset, leaderEpoch });
  }

  /**
   * A producer's batch this partition already appended: its original offsets
   * (and default timestamp), once acknowledged as `acks` asks (the first attempt
   * may have timed out).
   */
  private async answerDuplicate(batch: ProducerBatch, acks: Acks): Promise<Result<AppendInfo>> {
    const log = this.log;
    const end = batch.baseOffset + batch.count;
    const acked =
      acks === "all" && end > log.highWatermark
        ? await this.awaitAcks(batch.baseOffset, end, log.current.leaderEpoch)
        : ok({
            baseOffset: batch.baseOffset,
            logEndOffset: log.logEndOffset,
            highWatermark: log.highWatermark,
          });
    if (!acked.ok) return acked;
    return ok({ ...acked.value, baseOffset: batch.baseOffset, defaultTimestamp: batch.defaultTimestamp });
  }

  private async awaitAcks(baseOffset: number, end: number, leaderEpoch: number): Promise<Result<AppendInfo>> {
    const log = this.log;
    const deadline = Date.now() + log.current.configs["replica.ack.timeout.ms"];
    for (;;) {
      const state = log.state;
      // Not NOT_LEADER_OR_FOLLOWER: that promises nothing was appended, and the gateway would retry.
      if (state === null || !log.isLeader() || state.leaderEpoch !== leaderEpoch)
        return fail(
          "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
          `appended at offsets ${baseOffset}..${end - 1}, but this replica stopped leading before they were acknowledged`,
        );
      const minInsync = state.configs["min.insync.replicas"];
      if (this.followers.copiesAt(end) >= minInsync)
        return ok({ baseOffset, logEndOffset: log.logEndOffset, highWatermark: log.highWatermark });
      if (state.isr.length < minInsync)
        return fail(
          "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
          `appended at offsets ${baseOffset}..${end - 1}, but the ISR shrank to ${state.isr.length} of the ${minInsync} needed; replication is retried`,
        );
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0)
        return fail(
          "REQUEST_TIMED_OUT",
          `appended at offsets ${baseOffset}..${end - 1}, but not on ${minInsync} in-sync replicas within replica.ack.timeout.ms; replication is retried`,
        );
      await this.ackWaiters.wait(remainingMs);
    }
  }
}
