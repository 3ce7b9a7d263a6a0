import { divergenceOffset, epochsBelow, sameEpochs } from "../core/replication";
import type { ReplicateRequest, ReplicateResult } from "./contract";
import type { LogCleanup } from "./log-cleanup";
import type { PartitionLog } from "./partition-log";
import type { PartitionWatchers } from "./partition-watchers";

/**
 * A follower storing its leader's records (Kafka's replica fetcher, pushed to):
 * on the first call of a newer epoch the log is truncated to where it agrees
 * with the leader's (KIP-101/279); records this replica already has are skipped,
 * so a call is idempotent by offset; the leader's logStartOffset, epoch history,
 * high watermark, producer state and watchers are mirrored.
 */
export class FollowerAppend {
  /** The epoch whose leader this follower has already reconciled its log with. */
  private reconciledEpoch = -1;

  constructor(
    private readonly log: PartitionLog,
    private readonly cleanup: LogCleanup,
    private readonly watchers: PartitionWatchers,
  ) {}

  /** The log is as the leader of `epoch` has it (this replica leads it, or it restarted: -1). */
  reconciled(epoch: number): void {
    this.reconciledEpoch = epoch;
  }

  /**
   * Stores a call of the current leader (the caller checked its epoch and follows it).
   * Synchronous (a commit group's write); `wrote`: records were stored.
   */
  apply(request: ReplicateRequest): { result: ReplicateResult; wrote: boolean } {
    const log = this.log;
    let wrote = false;
    if (request.watchers) this.watchers.replace(request.watchers);
    if (this.reconciledEpoch !== request.leaderEpoch) {
      const agreed = divergenceOffset(
        log.epochs,
        log.logEndOffset,
        request.epochs,
        request.leaderLogEndOffset,
      );
      if (agreed < log.logEndOffset) this.truncateTo(agreed);
      this.reconciledEpoch = request.leaderEpoch;
    }
    this.cleanup.followLogStart(request.logStartOffset);
    if (request.baseOffset <= log.logEndOffset && request.endOffset > log.logEndOffset) {
      const from = log.logEndOffset;
      const maxTimestamp = Math.max(log.maxTimestamp, request.maxTimestamp);
      if (request.sparse) {
        if (request.chunks.length > 0) log.appendAt(request.chunks, log.logEndOffset, maxTimestamp);
        log.logEndOffset = request.endOffset;
      } else
        log.logEndOffset = log.append(
          request.baseOffset,
          request.chunks,
          maxTimestamp,
          log.logEndOffset - request.baseOffset,
        );
      log.maxTimestamp = maxTimestamp;
      for (const b of request.producers)
        if (b.baseOffset < log.logEndOffset) log.producers.saveProducerBatch(b);
      if (request.transactions) log.transactions.applyEvents(request.transactions, from);
      this.cleanup.afterReplicate();
      const mirrored = epochsBelow(request.epochs, log.logEndOffset);
      if (!sameEpochs(mirrored, log.epochs)) {
        log.epochs = mirrored;
        log.saveEpochs(mirrored);
      }
      log.highWatermark = Math.max(log.highWatermark, Math.min(request.highWatermark, log.logEndOffset));
      log.saveHighWatermark();
      wrote = true;
    }
    return { result: { logEndOffset: log.logEndOffset }, wrote };
  }

  private truncateTo(offset: number): void {
    const log = this.log;
    log.truncateTo(offset);
    log.logEndOffset = Math.max(offset, log.logStartOffset);
    log.highWatermark = Math.min(log.highWatermark, log.logEndOffset);
    log.maxTimestamp = log.storedMaxTimestamp();
    log.epochs = epochsBelow(log.epochs, log.logEndOffset);
    log.saveState();
  }
}
