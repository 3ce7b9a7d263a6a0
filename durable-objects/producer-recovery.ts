import { mapConcurrent } from "../core/concurrency";
import { fail, ok, type Result } from "../core/errors";
import { FAN_OUT_CONCURRENCY_MAX } from "../core/limits";
import type { TopicPartition } from "../core/partition-key";
import type { Env } from "./env";
import { callPartitionLeader, LEADER_CALL_SLACK_MS } from "./leader-call";
import type { TopicCache } from "./topic-cache";

/**
 * A restarted producer object's question to the partitions it touched (its stored
 * next sequence is written lazily): the newest sequence of `epoch` any of them
 * appended, -1 for none. A partition whose topic was deleted has nothing to repeat.
 */
export async function newestAppendedSequence(
  { env, topics, id: producerId, epoch }: { env: Env; topics: TopicCache; id: string; epoch: number },
  touched: readonly TopicPartition[],
): Promise<Result<number>> {
  try {
    const newest = await mapConcurrent(touched, FAN_OUT_CONCURRENCY_MAX, async (ref) => {
      // A quick question of each leader (nothing to wait for there).
      const answer = await callPartitionLeader(
        env,
        topics,
        ref,
        LEADER_CALL_SLACK_MS,
        (leader, leaderEpoch, meta) =>
          leader.producerSequence({ topicId: meta.topicId, leaderEpoch, producerId, producerEpoch: epoch }),
      );
      if (answer.ok) return answer.value;
      if (answer.error.code === "UNKNOWN_TOPIC_OR_PARTITION") return -1;
      throw new Error(answer.error.message);
    });
    return ok(Math.max(-1, ...newest));
  } catch (error) {
    return fail(
      "COORDINATOR_NOT_AVAILABLE",
      `the producer restarted and could not ask its partitions for its sequences (${String(error)}); send the same sequence again`,
    );
  }
}
