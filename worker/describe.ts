import { mapConcurrent } from "../core/concurrency";
import { FAN_OUT_CONCURRENCY_MAX } from "../core/limits";
import { type Env, partitionLeader } from "../durable-objects/env";
import type { PartitionInfo } from "../durable-objects/partition-leader";
import type { TopicMetadata } from "../durable-objects/topic-registry";

/** Leader of a partition among its replicas; replica 0 is the leader until failover lands (issue 3). */
const LEADER_REPLICA = 0;

/** Asks every partition leader for its offsets, in parallel (bounded). */
export function partitionInfos(env: Env, topic: TopicMetadata): Promise<(PartitionInfo | null)[]> {
  const partitions = Array.from({ length: topic.partitions }, (_, p) => p);
  return mapConcurrent(partitions, FAN_OUT_CONCURRENCY_MAX, (p) =>
    partitionLeader(env, topic.name, p).describe(topic.topicId),
  );
}

/** The describe-topic answer of API.md. */
export async function describeTopic(env: Env, topic: TopicMetadata) {
  const infos = await partitionInfos(env, topic);
  const replicas = Array.from({ length: topic.replicationFactor }, (_, r) => r);
  return {
    name: topic.name,
    partitions: topic.partitions,
    replicationFactor: topic.replicationFactor,
    configs: topic.configs,
    partitionInfo: infos.map((info, partition) => ({
      partition,
      leader: LEADER_REPLICA,
      leaderEpoch: 0,
      replicas,
      // Until replication lands only the leader holds the log, so it alone is in sync.
      isr: [LEADER_REPLICA],
      logStartOffset: info?.logStartOffset ?? 0,
      highWatermark: info?.highWatermark ?? 0,
      logEndOffset: info?.logEndOffset ?? 0,
    })),
  };
}
