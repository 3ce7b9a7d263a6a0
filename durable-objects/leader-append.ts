import { fail, ok, type Result } from "../core/errors";
import { type ProducerBatch, partitionDecision } from "../core/idempotence";
import type { Acks, AppendInfo, AppendRequest } from "./contract";
import type { FaultInjector } from "./faults";
import type { FollowerSync } from "./follower-sync";
import type { LogCleanup } from "./log-cleanup";
import type { PartitionLog } from "./partition-log";
import type { Waiters } from "./partition-watchers";

/**
 * A leader taking appends: idempotent producers' batches answered once, acks=all
 * refused up front while the ISR is too small, the records stored in one SQLite
 * transaction (no await between the statements), sent to the followers, and
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
    private readonly storage: DurableObjectStorage,
  ) {}

  async append(request: AppendRequest): Promise<Result<AppendInfo>> {
    const refused = this.log.leaderCheck(request.topicId, request.leaderEpoch);
    if (refused) return refused;
    const log = this.log;
    const state = log.current;
    const producer = request.producer;
    const producerBatches = producer ? log.producers.producerBatches(producer.id) : [];
    if (producer) {
      const decision = partitionDecision(producerBatches, producer.epoch, producer.sequence);
      if (decision.kind === "fenced")
        return fail(
          "PRODUCER_FENCED",
          `producer epoch ${producer.epoch} is older than epoch ${decision.epoch}, which this partition has seen`,
        );
      if (decision.kind === "duplicate") return this.answerDuplicate(decision.batch, request.acks);
      if (request.repeat)
        return fail(
          "DUPLICATE_SEQUENCE_NUMBER",
          `sequence ${producer.sequence} of epoch ${producer.epoch} was applied, but partition ${state.partition} no longer keeps its result`,
        );
    }
    const minInsync = state.configs["min.insync.replicas"];
    if (request.acks === "all" && state.isr.length < minInsync)
      return fail(
        "NOT_ENOUGH_REPLICAS",
        `the ISR has ${state.isr.length} of the ${minInsync} replicas min.insync.replicas needs; nothing was appended`,
      );
    const baseOffset = log.logEndOffset;
    const maxTimestamp = Math.max(log.maxTimestamp, request.maxTimestamp);
    const next = log.append(baseOffset, request.chunks, maxTimestamp);
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
      });
      log.producers.saveProducerBatch(producers[0]!, producerBatches); // read above: no second query
      this.cleanup.onProducerBatch();
    }
    log.maxTimestamp = maxTimestamp;
    log.logEndOffset = next;
    this.counters.produceRequests++;
    this.counters.produceRecords += next - baseOffset;
    if (this.faults.failsAfterCommit()) await this.faults.failAfterCommit(this.storage);
    this.followers.replicateLive({
      baseOffset,
      endOffset: next,
      chunks: request.chunks,
      sparse: false,
      maxTimestamp: request.maxTimestamp,
      producers,
    });
    this.followers.advanceHighWatermark();
    this.cleanup.afterAppend(baseOffset);
    if (request.acks !== "all")
      return ok({ baseOffset, logEndOffset: next, highWatermark: log.highWatermark });
    return this.awaitAcks(baseOffset, next, state.leaderEpoch);
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
