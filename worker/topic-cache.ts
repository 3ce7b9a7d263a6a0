import { EdgelogError, unwrap } from "../core/errors";
import { TOPIC_METADATA_TTL_MS } from "../core/limits";
import { topicNameProblem } from "../core/topic-name";
import { type Env, topicRegistry } from "../durable-objects/env";
import type { TopicMetadata } from "../durable-objects/topic-registry";

/**
 * Per-isolate cache of topic metadata, trusted for TOPIC_METADATA_TTL_MS. A stale
 * entry is safe: every leader call names the topicId, and a leader refuses a
 * topicId that is not its current incarnation.
 */
const cache = new Map<string, { topic: TopicMetadata; expiresAt: number }>();

/** Checks the name (INVALID_TOPIC_EXCEPTION) and returns the topic, or throws UNKNOWN_TOPIC_OR_PARTITION. */
export async function getTopic(env: Env, name: string): Promise<TopicMetadata> {
  checkTopicName(name);
  const cached = cache.get(name);
  if (cached && cached.expiresAt > Date.now()) return cached.topic;
  const topic = unwrap(await topicRegistry(env).getTopic(name));
  cache.set(name, { topic, expiresAt: Date.now() + TOPIC_METADATA_TTL_MS });
  return topic;
}

export function forgetTopic(name: string): void {
  cache.delete(name);
}

export function checkTopicName(name: string): void {
  const problem = topicNameProblem(name);
  if (problem) throw new EdgelogError("INVALID_TOPIC_EXCEPTION", problem);
}
