import type { ErrorInfo, Result } from "../core/errors";
import { partitionForKey, StickyPartitioner } from "../core/partitioner";
import { encodeAppendChunks } from "../core/record-batch";
import type { ProduceRecord } from "../schemas/produce";
import type { Env } from "./env";
import { callLeader, LEADER_CALL_SLACK_MS } from "./leader-call";
import type { Acks, AppendInfo } from "./partition";
import type { TopicCache } from "./topic-cache";
import type { TopicMetadata } from "./topic-registry";

const sticky = new StickyPartitioner();

/** The records of one request that go to one partition, in request order. */
type PartitionBatch = {
  partition: number;
  indices: number[];
  records: ProduceRecord[];
  timestamps: number[];
};

/** Chooses every record's partition (API.md): explicit, else murmur2 of the key, else sticky. */
export function groupByPartition(topic: TopicMetadata, records: readonly ProduceRecord[], now: number) {
  const batches = new Map<number, PartitionBatch>();
  let stickyPartition = -1;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    let partition = record.partition;
    if (partition === undefined) {
      if (record.key !== null) partition = partitionForKey(record.key, topic.partitions);
      else {
        if (stickyPartition < 0) stickyPartition = sticky.partitionFor(topic.name, topic.partitions);
        partition = stickyPartition;
      }
    }
    let batch = batches.get(partition);
    if (!batch) {
      batch = { partition, indices: [], records: [], timestamps: [] };
      batches.set(partition, batch);
    }
    batch.indices.push(i);
    batch.records.push(record);
    batch.timestamps.push(record.timestamp ?? now);
  }
  return [...batches.values()];
}

/** One RPC to a partition's leader (through failover handling); answers that leader's result. */
export async function appendToLeader(
  env: Env,
  topics: TopicCache,
  topic: TopicMetadata,
  batch: PartitionBatch,
  acks: Acks,
): Promise<Result<AppendInfo>> {
  let maxTimestamp = 0;
  for (const t of batch.timestamps) if (t > maxTimestamp) maxTimestamp = t;
  const chunks = encodeAppendChunks(batch.records, batch.timestamps);
  const timeoutMs = topic.configs["replica.ack.timeout.ms"] + LEADER_CALL_SLACK_MS;
  return callLeader(env, topics, topic, batch.partition, timeoutMs, false, (leader, leaderEpoch) =>
    leader.append({ topicId: topic.topicId, leaderEpoch, chunks, maxTimestamp, acks }),
  );
}

export type ProduceResult =
  | { partition: number; offset: number; timestamp: number }
  | { partition: number; error: ErrorInfo };

/** Per-record results in request order; `firstError` is the first failed record's error, if any. */
export function produceResults(
  recordCount: number,
  batches: readonly PartitionBatch[],
  answers: readonly Result<AppendInfo>[],
): { results: ProduceResult[]; firstError: ErrorInfo | null } {
  const results = new Array<ProduceResult>(recordCount);
  let firstError: ErrorInfo | null = null;
  let firstErrorIndex = recordCount;
  batches.forEach((batch, b) => {
    const answer = answers[b]!;
    batch.indices.forEach((index, position) => {
      if (answer.ok) {
        results[index] = {
          partition: batch.partition,
          offset: answer.value.baseOffset + position,
          timestamp: batch.timestamps[position]!,
        };
      } else {
        results[index] = { partition: batch.partition, error: answer.error };
        if (index < firstErrorIndex) {
          firstErrorIndex = index;
          firstError = answer.error;
        }
      }
    });
  });
  return { results, firstError };
}
