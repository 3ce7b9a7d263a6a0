import { EdgelogError, ok } from "../core/errors";
import type { TailSubscribe } from "../schemas/frames";
import { callLeader, callPartitionLeader, LEADER_CALL_SLACK_MS } from "./leader-call";
import type { Pushed, SessionPort, Subscriptions, TailSubscription } from "./ws-subscriptions";

/**
 * A socket's partition tails: a subscription resolves its start position at the
 * leader, then each push fetches from its position (as a consumer fetch, each
 * record naming its topic and partition).
 */

export async function startTail(
  port: SessionPort,
  subs: Subscriptions,
  key: string,
  frame: TailSubscribe,
): Promise<void> {
  const topic = await port.topics.get(port.env, frame.topic);
  if (frame.partition >= topic.partitions)
    throw new EdgelogError(
      "UNKNOWN_TOPIC_OR_PARTITION",
      `partition ${frame.partition} does not exist; '${topic.name}' has ${topic.partitions}`,
    );
  const position =
    typeof frame.offset === "number"
      ? { kind: "offset" as const, offset: frame.offset }
      : { kind: frame.offset };
  const resolved = await callLeader(
    port.env,
    port.topics,
    { topic, partition: frame.partition, timeoutMs: LEADER_CALL_SLACK_MS, retrySafe: true },
    (leader, epoch) => leader.resolveOffset(topic.topicId, epoch, position),
  );
  if (!resolved.ok) throw new EdgelogError(resolved.error.code, resolved.error.message, resolved.error);
  const sub: TailSubscription = {
    kind: "tail",
    id: frame.id,
    topic: topic.name,
    partition: frame.partition,
    topicId: topic.topicId,
    position: resolved.value.offset,
    credits: frame.credits,
    ...(frame.isolation === "read_committed" ? { isolation: frame.isolation } : {}),
  };
  subs.add(key, sub);
  try {
    await subs.syncWatches();
  } catch (error) {
    subs.remove(key);
    throw error;
  }
  port.send(JSON.stringify({ op: "subscribed", id: frame.id, nextOffset: sub.position }));
  void subs.deliver(key);
}

/** Records for one push of a tail, from its position; the position moves on. */
export async function fetchTail(
  port: SessionPort,
  sub: TailSubscription,
  maxRecords: number,
  maxBytes: number,
): Promise<Pushed> {
  const result = await callPartitionLeader(
    port.env,
    port.topics,
    sub,
    LEADER_CALL_SLACK_MS,
    (leader, epoch) =>
      leader.fetchForConsumer({
        topicId: sub.topicId,
        leaderEpoch: epoch,
        position: { kind: "offset", offset: sub.position },
        maxRecords,
        maxBytes,
        waitMs: 0,
        isolation: sub.isolation,
      }),
  );
  if (!result.ok) return result;
  const { records, count, nextOffset, highWatermark, lastStableOffset } = result.value;
  sub.position = nextOffset;
  const end = sub.isolation === "read_committed" ? lastStableOffset : highWatermark;
  return ok({ records, count, caughtUp: nextOffset >= end });
}
