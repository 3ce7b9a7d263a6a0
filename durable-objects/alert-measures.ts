import type { AlertRule, Measure } from "../core/alerts";
import { mapConcurrent } from "../core/concurrency";
import { FAN_OUT_CONCURRENCY_MAX } from "../core/limits";
import type { Env } from "./env";
import type { OffsetInfo } from "./group-lag";
import { callPartitionLeader, LEADER_CALL_SLACK_MS } from "./leader-call";
import { leaderMetrics } from "./leader-views";
import { consumerGroup, topicRegistry } from "./stubs";
import type { TopicCache } from "./topic-cache";

/**
 * What an alert rule's condition measures, from facts the cluster already keeps:
 * a group's lag (the offsets and high watermarks its alarm samples, at most
 * LAG_SAMPLE_INTERVAL_MS old) and the ISR each leader holds in memory. Nothing
 * here touches the produce path. null: unknown (no group yet, no answer).
 */
export async function measure(
  env: Env,
  topics: TopicCache,
  rule: AlertRule,
  nowMs: number,
): Promise<Measure> {
  return rule.kind === "consumerLag"
    ? consumerLag(env, topics, rule, nowMs)
    : underReplicated(env, topics, rule);
}

async function consumerLag(
  env: Env,
  topics: TopicCache,
  rule: Extract<AlertRule, { kind: "consumerLag" }>,
  nowMs: number,
): Promise<Measure> {
  const listed = await consumerGroup(env, rule.group).listOffsets();
  if (!listed.ok) return null;
  const offsets = listed.value.offsets.filter((o) => rule.topic === undefined || o.topic === rule.topic);
  const lag = offsets.reduce((sum, o) => sum + o.lag, 0);
  const overRecords = rule.maxLag !== undefined && lag > rule.maxLag;
  if (rule.maxLagMs === undefined) return { holds: overRecords, value: lag };
  const lagMs = await timeLag(env, topics, offsets, nowMs);
  if (lagMs === null) return overRecords ? { holds: true, value: lag } : null;
  if (overRecords) return { holds: true, value: lag };
  return { holds: lagMs > rule.maxLagMs, value: lagMs };
}

/**
 * How long the oldest record the group has not committed has waited: now − its
 * timestamp, over the partitions that lag (0 when none does); null when a leader
 * did not answer.
 */
async function timeLag(
  env: Env,
  topics: TopicCache,
  offsets: readonly OffsetInfo[],
  nowMs: number,
): Promise<number | null> {
  const lagging = offsets.filter((o) => o.lag > 0);
  const ages = await mapConcurrent(lagging, FAN_OUT_CONCURRENCY_MAX, async (o) => {
    const fetched = await callPartitionLeader(
      env,
      topics,
      o,
      LEADER_CALL_SLACK_MS,
      (leader, leaderEpoch, meta) =>
        leader.fetchRecords({
          topicId: meta.topicId,
          leaderEpoch,
          position: { kind: "offset", offset: o.committedOffset },
          maxRecords: 1,
          maxBytes: 1,
          waitMs: 0,
        }),
    );
    if (!fetched.ok) return fetched.error.code === "OFFSET_OUT_OF_RANGE" ? 0 : null;
    const first = (JSON.parse(fetched.value) as { records: { timestamp: number }[] }).records[0];
    return first === undefined ? 0 : Math.max(0, nowMs - first.timestamp);
  });
  if (ages.some((age) => age === null)) return null;
  return Math.max(0, ...(ages as number[]));
}

/** Partitions whose ISR is smaller than their replication factor (or whose leader does not answer). */
async function underReplicated(
  env: Env,
  topics: TopicCache,
  rule: Extract<AlertRule, { kind: "underReplicated" }>,
): Promise<Measure> {
  const all = await topicRegistry(env).listTopics();
  const scoped = all.filter((t) => rule.topic === undefined || t.name === rule.topic);
  let count = 0;
  for (const topic of scoped) {
    const pending = new Set(topic.pending);
    const metrics = await leaderMetrics(env, topics, topic);
    metrics.forEach((m, partition) => {
      if (pending.has(partition)) return; // not initialised yet: holds nothing to lose
      if (m === null || m.isr.length < m.replicationFactor) count++;
    });
  }
  return { holds: count > 0, value: count };
}
