import { mapConcurrent } from "../core/concurrency";
import { ok } from "../core/errors";
import { FAN_OUT_CONCURRENCY_MAX } from "../core/limits";
import type { PartitionInfo, PartitionMetrics, TopicMetadata } from "../durable-objects/contract";
import type { Env } from "../durable-objects/env";
import { callLeader, LEADER_CALL_SLACK_MS } from "../durable-objects/leader-call";
import type { Partition } from "../durable-objects/partition";
import { topics } from "./topic-cache";

/** A partition not initialised yet (TopicMetadata.pending): nothing to ask, it holds nothing. */
const NOT_INITIALISED = "not initialised";

/**
 * Asks every partition's leader for its view (offsets, ISR), in parallel (bounded);
 * null where none answered. Partitions not initialised yet are not asked (asking
 * would create their objects): NOT_INITIALISED.
 */
function leaderViews<T extends PartitionInfo>(
  env: Env,
  topic: TopicMetadata,
  ask: (leader: DurableObjectStub<Partition>) => Promise<T | null>,
): Promise<(T | null | typeof NOT_INITIALISED)[]> {
  const partitions = Array.from({ length: topic.partitions }, (_, p) => p);
  const pending = new Set(topic.pending);
  return mapConcurrent(partitions, FAN_OUT_CONCURRENCY_MAX, async (p) => {
    if (pending.has(p)) return NOT_INITIALISED;
    const result = await callLeader(
      env,
      topics,
      { topic, partition: p, timeoutMs: LEADER_CALL_SLACK_MS, retrySafe: true },
      async (leader) => ok(await ask(leader)),
    );
    return result.ok ? result.value : null;
  });
}

export async function partitionMetrics(env: Env, topic: TopicMetadata): Promise<(PartitionMetrics | null)[]> {
  const views = await leaderViews(env, topic, (leader) => leader.metrics(topic.topicId));
  return views.map((v) => (v === NOT_INITIALISED ? null : v));
}

/**
 * The describe-topic answer of API.md. Leader, epoch and ISR come from the leader
 * itself (freshest); where it does not answer, from the registry, with offsets -1;
 * a partition not initialised yet is empty (offsets 0).
 */
export async function describeTopic(env: Env, topic: TopicMetadata) {
  const infos = await leaderViews(env, topic, (leader) => leader.describe(topic.topicId));
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
