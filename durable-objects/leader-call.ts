import { withTimeout } from "../core/concurrency";
import { EdgelogError, fail, type Result } from "../core/errors";
import type { TopicMetadata } from "./contract";
import type { Env } from "./env";
import type { Partition } from "./partition";
import { replicaStub, topicRegistry } from "./stubs";
import type { TopicCache } from "./topic-cache";

/** Time a leader gets beyond its own deadline (ack timeout, long-poll) before the gateway calls it unreachable. */
export const LEADER_CALL_SLACK_MS = 2_000;

/** Which leader to call, for how long, and whether a lost call may be sent again (reads only). */
export type LeaderTarget = { topic: TopicMetadata; partition: number; timeoutMs: number; retrySafe: boolean };

type LeaderCall<T> = (leader: DurableObjectStub<Partition>, leaderEpoch: number) => Promise<Result<T>>;

/**
 * Calls the current leader of a partition. A leader that throws or does not
 * answer within `timeoutMs` is unreachable: the registry is asked to elect a new
 * one (from the ISR only). Because the outcome of the lost call is unknown, it is
 * retried at the new leader only when `retrySafe` (reads); a produce answers
 * LEADER_NOT_AVAILABLE so the client decides. A leader that refuses with
 * NOT_LEADER_OR_FOLLOWER did nothing, so the call is retried once with fresh metadata;
 * one that does not know its topic (a large topic's partition not initialised yet)
 * is retried once after the registry initialised it.
 */
export async function callLeader<T>(
  env: Env,
  topics: TopicCache,
  { topic, partition, timeoutMs, retrySafe }: LeaderTarget,
  call: LeaderCall<T>,
): Promise<Result<T>> {
  let meta = topic;
  for (let attempt = 0; ; attempt++) {
    const current = meta.leaders[partition];
    if (!current)
      return fail("UNKNOWN_TOPIC_OR_PARTITION", `partition ${partition} of '${meta.name}' no longer exists`);
    const { leader, leaderEpoch } = current;
    let result: Result<T>;
    try {
      result = await withTimeout(
        call(replicaStub(env, meta.name, partition, leader), leaderEpoch),
        timeoutMs,
        "leader call",
      );
    } catch (error) {
      topics.forget(meta.name);
      const elected = await topicRegistry(env)
        .electLeader(meta.name, partition, leaderEpoch)
        .catch((e) => fail("LEADER_NOT_AVAILABLE", `the registry did not answer: ${String(e)}`));
      if (!elected.ok) return elected;
      if (!retrySafe || attempt > 0) {
        const now = elected.value;
        const next =
          now.leaderEpoch > leaderEpoch
            ? `replica ${now.leader} now leads (epoch ${now.leaderEpoch})`
            : "it still leads";
        return fail(
          "LEADER_NOT_AVAILABLE",
          `the leader of partition ${partition} did not answer (${String(error)}); ${next}; retry`,
        );
      }
      meta = { ...meta, leaders: meta.leaders.map((l, p) => (p === partition ? elected.value : l)) };
      continue;
    }
    if (result.ok || attempt > 0) return result;
    if (result.error.code === "UNKNOWN_TOPIC_OR_PARTITION") {
      // A large topic's partition is initialised on first use (PartitionInit): then once more.
      let exists: boolean;
      try {
        exists = await topicRegistry(env).ensurePartition(meta.name, partition, meta.topicId);
      } catch (error) {
        return fail(
          "LEADER_NOT_AVAILABLE",
          `partition ${partition} of '${meta.name}' is not initialised yet (${String(error)}); retry`,
        );
      }
      if (exists) continue;
      return result;
    }
    if (result.error.code !== "NOT_LEADER_OR_FOLLOWER") return result;
    topics.forget(meta.name);
    try {
      meta = await topics.get(env, meta.name);
    } catch (error) {
      if (error instanceof EdgelogError) return { ok: false, error: error.info };
      throw error;
    }
  }
}

/**
 * `callLeader` for a partition named by topic name (a safe call: reads, watches):
 * looks the topic up first (cached); an unknown topic or partition is an error
 * result, like any other operating error.
 */
export async function callPartitionLeader<T>(
  env: Env,
  topics: TopicCache,
  ref: { topic: string; partition: number },
  timeoutMs: number,
  call: (
    leader: DurableObjectStub<Partition>,
    leaderEpoch: number,
    topic: TopicMetadata,
  ) => Promise<Result<T>>,
): Promise<Result<T>> {
  let topic: TopicMetadata;
  try {
    topic = await topics.get(env, ref.topic);
  } catch (error) {
    if (error instanceof EdgelogError) return { ok: false, error: error.info };
    throw error;
  }
  if (ref.partition >= topic.partitions)
    return fail("UNKNOWN_TOPIC_OR_PARTITION", `partition ${ref.partition} of '${topic.name}' does not exist`);
  return callLeader(
    env,
    topics,
    { topic, partition: ref.partition, timeoutMs, retrySafe: true },
    (leader, epoch) => call(leader, epoch, topic),
  );
}
