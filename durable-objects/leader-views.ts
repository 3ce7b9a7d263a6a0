import { mapConcurrent } from "../core/concurrency";
import { ok } from "../core/errors";
import { FAN_OUT_CONCURRENCY_MAX } from "../core/limits";
import type { PartitionInfo, PartitionMetrics, TopicMetadata } from "./contract";
import type { Env } from "./env";
import { callLeader, LEADER_CALL_SLACK_MS } from "./leader-call";
import type { Partition } from "./partition";
import type { TopicCache } from "./topic-cache";

/** A partition not initialised yet (TopicMetadata.pending): nothing to ask, it holds nothing. */
export const NOT_INITIALISED = "not initialised";

/**
 * Asks every partition's leader for its view (offsets, ISR), in parallel (bounded);
 * null where none answered. Partitions not initialised yet are not asked (asking
 * would create their objects): NOT_INITIALISED.
 */
export function leaderViews<T extends PartitionInfo>(
  env: Env,
  topics: TopicCache,
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

/** Each partition's leader metrics, null where none answered or the partition is not initialised. */
export async function leaderMetrics(
  env: Env,
  topics: TopicCache,
  topic: TopicMetadata,
): Promise<(PartitionMetrics | null)[]> {
  const views = await leaderViews(env, topics, topic, (leader) => leader.metrics(topic.topicId));
  return views.map((v) => (v === NOT_INITIALISED ? null : v));
}
