import { mapConcurrent } from "../core/concurrency";
import { fail, ok, type Result } from "../core/errors";
import type { FetchPosition } from "../core/fetch-position";
import { FAN_OUT_CONCURRENCY_MAX, LAG_HISTORY_MAX, LAG_SAMPLE_INTERVAL_MS } from "../core/limits";
import { compareTopicPartitions, partitionKey, type TopicPartition } from "../core/partition-key";
import type { LogOffsets, ResolvedOffset, TopicMetadata } from "./contract";
import type { Env } from "./env";
import type { CommittedOffset } from "./group-store";
import { callLeader, callPartitionLeader, LEADER_CALL_SLACK_MS } from "./leader-call";
import type { TopicCache } from "./topic-cache";

/**
 * A group's view of its partitions' logs: each partition's offsets as last
 * learnt (from the group's own fetches, or asked of the leader when older than
 * LAG_SAMPLE_INTERVAL_MS), the lag of the committed offsets, and its recent
 * history, which the group's alarm samples.
 */

/** A partition's offsets as last asked of its leader, and when. */
type Mark = LogOffsets & { lastStableOffset: number; atMs: number };

export type OffsetInfo = TopicPartition & { committedOffset: number; highWatermark: number; lag: number };

export class GroupLag {
  private readonly marks = new Map<string, Mark>();
  private readonly history = new Map<string, number[]>();

  constructor(
    private readonly env: Env,
    private readonly topics: TopicCache,
  ) {}

  get(topic: string, partition: number): Mark | undefined {
    return this.marks.get(partitionKey(topic, partition));
  }

  /** A fetch (or an offset reset) told the partition's offsets. */
  set(
    topic: string,
    partition: number,
    offsets: LogOffsets | (LogOffsets & { lastStableOffset: number }),
  ): void {
    this.marks.set(partitionKey(topic, partition), {
      highWatermark: offsets.highWatermark,
      logStartOffset: offsets.logStartOffset,
      lastStableOffset: "lastStableOffset" in offsets ? offsets.lastStableOffset : offsets.highWatermark,
      atMs: Date.now(),
    });
  }

  historyOf(topic: string, partition: number): number[] {
    return this.history.get(partitionKey(topic, partition)) ?? [];
  }

  clear(): void {
    this.marks.clear();
    this.history.clear();
  }

  /** Asks the leaders of these partitions for their high watermark and log start (in parallel, bounded). */
  async refresh(partitions: readonly TopicPartition[]): Promise<void> {
    await mapConcurrent(partitions, FAN_OUT_CONCURRENCY_MAX, async (tp) => {
      const info = await callPartitionLeader(
        this.env,
        this.topics,
        tp,
        LEADER_CALL_SLACK_MS,
        async (leader, _epoch, topic) => ok(await leader.describe(topic.topicId)),
      );
      if (info.ok && info.value) this.set(tp.topic, tp.partition, info.value);
    });
  }

  /** Where a position points in every partition of a topic (an offset reset), or the first refusal. */
  async resolveAll(meta: TopicMetadata, position: FetchPosition): Promise<Result<ResolvedOffset[]>> {
    const resolved = await mapConcurrent(
      Array.from({ length: meta.partitions }, (_, p) => p),
      FAN_OUT_CONCURRENCY_MAX,
      (partition) =>
        callLeader(
          this.env,
          this.topics,
          { topic: meta, partition, timeoutMs: LEADER_CALL_SLACK_MS, retrySafe: true },
          (leader, leaderEpoch) => leader.resolveOffset(meta.topicId, leaderEpoch, position),
        ),
    );
    const offsets: ResolvedOffset[] = [];
    for (const r of resolved) {
      if (!r.ok) return r;
      offsets.push(r.value);
    }
    return ok(offsets);
  }

  /**
   * Committed offsets sorted by topic then partition, with high watermark and lag at most
   * LAG_SAMPLE_INTERVAL_MS old; a read_committed group's lag is measured to the last stable offset.
   */
  async offsetInfos(
    offsets: ReadonlyMap<string, CommittedOffset>,
    readCommitted: boolean,
  ): Promise<OffsetInfo[]> {
    const now = Date.now();
    const stale = [...offsets.values()].filter(
      (o) => (this.get(o.topic, o.partition)?.atMs ?? 0) < now - LAG_SAMPLE_INTERVAL_MS,
    );
    if (stale.length > 0) await this.refresh(stale);
    return [...offsets.values()].sort(compareTopicPartitions).map((o) => {
      const mark = this.get(o.topic, o.partition);
      const hw = mark?.highWatermark ?? o.offset;
      const end = readCommitted ? (mark?.lastStableOffset ?? hw) : hw;
      return {
        topic: o.topic,
        partition: o.partition,
        committedOffset: o.offset,
        highWatermark: hw,
        lag: Math.max(0, end - o.offset),
      };
    });
  }

  /** The alarm's sample: each partition's lag joins its history (the last LAG_HISTORY_MAX kept). */
  sample(infos: readonly OffsetInfo[]): void {
    for (const o of infos) {
      const key = partitionKey(o.topic, o.partition);
      const history = this.history.get(key) ?? [];
      history.push(o.lag);
      if (history.length > LAG_HISTORY_MAX) history.shift();
      this.history.set(key, history);
    }
  }

  /**
   * Offsets a commit names are within their partitions' high watermarks (asking the
   * leaders of those not known to be); `recheck` runs again after asking (the group
   * may have moved on meanwhile).
   */
  async checkWithinHighWatermarks(
    offsets: readonly (TopicPartition & { offset: number })[],
    recheck: () => Result<null>,
  ): Promise<Result<null>> {
    const unknown = offsets.filter(
      (o) => !(o.offset <= (this.get(o.topic, o.partition)?.highWatermark ?? -1)),
    );
    if (unknown.length > 0) {
      await this.refresh(unknown);
      const again = recheck();
      if (!again.ok) return again;
    }
    for (const o of offsets) {
      const mark = this.get(o.topic, o.partition);
      if (!mark)
        return fail("LEADER_NOT_AVAILABLE", `the leader of ${o.topic}/${o.partition} did not answer; retry`);
      if (o.offset > mark.highWatermark)
        return fail(
          "OFFSET_OUT_OF_RANGE",
          `offset ${o.offset} of ${o.topic}/${o.partition} is above the high watermark ${mark.highWatermark}`,
          { logStartOffset: mark.logStartOffset, highWatermark: mark.highWatermark },
        );
    }
    return ok(null);
  }

  /** A group description's lag: total, the largest, and per partition with its recent history. */
  async summary(committed: Map<string, CommittedOffset>, readCommitted: boolean) {
    const offsets = await this.offsetInfos(committed, readCommitted);
    let max: OffsetInfo | null = null;
    for (const o of offsets) if (max === null || o.lag > max.lag) max = o;
    return {
      total: offsets.reduce((n, o) => n + o.lag, 0),
      max: max === null ? null : { topic: max.topic, partition: max.partition, lag: max.lag },
      partitions: offsets.map((o) => ({ ...o, history: this.historyOf(o.topic, o.partition) })),
    };
  }
}
