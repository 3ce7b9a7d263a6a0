import { type ErrorCode, fail, ok, type Result } from "../core/errors";
import { type ProducerBatch, partitionDecision } from "../core/idempotence";
import type { Acks, AppendInfo, AppendRequest } from "./contract";
import type { FaultInjector } from "./faults";
import type { FollowerSync } from "./follower-sync";
import type { GroupCommit } from "./group-commit";
import type { LogCleanup } from "./log-cleanup";
import type { PartitionLog } from "./partition-log";
import type { Waiters } from "./partition-watchers";

/** What an append's write did: refused it, found it already appended, or wrote it. */
type Written =
  | { kind: "answer"; answer: Result<AppendInfo> }
  | { kind: "duplicate"; batch: ProducerBatch }
  | { kind: "written"; baseOffset: number; next: number; leaderEpoch: number; failAfterCommit: boolean };

function refuse(code: ErrorCode, message: string): Written {
  return { kind: "answer", answer: fail(code, message) };
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
    if (producer) {
      const decision = partitionDecision(producerBatches, producer.epoch, producer.sequence);
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
    const minInsync = state.configs["min.insync.replicas"];
    if (request.acks === "all" && state.isr.length < minInsync)
      return refuse(
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
      });
    this.followers.advanceHighWatermark();
    this.cleanup.afterAppend(baseOffset);
    return { kind: "written", baseOffset, next, leaderEpoch: state.leaderEpoch, failAfterCommit };
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
