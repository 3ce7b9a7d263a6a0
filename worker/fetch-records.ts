import { unwrap } from "../core/errors";
import type { FetchPosition } from "../core/fetch-position";
import type { Isolation } from "../core/partition-transactions";
import type { TopicMetadata } from "../durable-objects/contract";
import type { Env } from "../durable-objects/env";
import { callLeader, LEADER_CALL_SLACK_MS } from "../durable-objects/leader-call";
import { topics } from "./topic-cache";

export type LeaderRead = {
  position: FetchPosition;
  maxRecords: number;
  maxBytes: number;
  waitMs: number;
  isolation: Isolation;
};

/**
 * A fetch answer's text (API.md "Fetch") from the partition's leader, through
 * failover handling; a long-poll waits up to `waitMs` there. Refusals throw.
 */
export async function fetchFromLeader(
  env: Env,
  topic: TopicMetadata,
  partition: number,
  read: LeaderRead,
): Promise<string> {
  return unwrap(
    await callLeader(
      env,
      topics,
      { topic, partition, timeoutMs: read.waitMs + LEADER_CALL_SLACK_MS, retrySafe: true },
      (leader, leaderEpoch) => leader.fetchRecords({ topicId: topic.topicId, leaderEpoch, ...read }),
    ),
  );
}
