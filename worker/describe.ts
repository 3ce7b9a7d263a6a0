import type { PartitionMetrics, TopicMetadata } from "../durable-objects/contract";
import type { Env } from "../durable-objects/env";
import { leaderMetrics, leaderViews, NOT_INITIALISED } from "../durable-objects/leader-views";
import { topics } from "./topic-cache";

/** Each partition's leader metrics, null where none answered or the partition is not initialised. */
export async function partitionMetrics(env: Env, topic: TopicMetadata): Promise<(PartitionMetrics | null)[]> {
  return leaderMetrics(env, topics, topic);
}

/**
 * The describe-topic answer of API.md. Leader, epoch and ISR come from the leader
 * itself (freshest); where it does not answer, from the registry, with offsets -1;
 * a partition not initialised yet is empty (offsets 0).
 */
export async function describeTopic(env: Env, topic: TopicMetadata) {
  const infos = await leaderViews(env, topics, topic, (leader) => leader.describe(topic.topicId));
  const replicas = Array.from({ length: topic.replicationFactor }, (_, r) => r);
  return {
    name: topic.name,
    partitions: topic.partitions,
    replicationFactor: topic.replicationFactor,
    configs: topic.configs,
    partitionInfo: infos.map((view, partition) => {
      const registry = topic.leaders[partition]!;
      if (view === NOT_INITIALISED) {
        const { leader, leaderEpoch, isr } = registry;
        return {
          partition,
          leader,
          leaderEpoch,
          replicas,
          isr,
          logStartOffset: 0,
          highWatermark: 0,
          lastStableOffset: 0,
          logEndOffset: 0,
        };
      }
      const info = view;
      return {
        partition,
        leader: info?.leader ?? registry.leader,
        leaderEpoch: info?.leaderEpoch ?? registry.leaderEpoch,
        replicas,
        isr: info?.isr ?? registry.isr,
        logStartOffset: info?.logStartOffset ?? -1,
        highWatermark: info?.highWatermark ?? -1,
        lastStableOffset: info?.lastStableOffset ?? -1,
        logEndOffset: info?.logEndOffset ?? -1,
      };
    }),
  };
}
