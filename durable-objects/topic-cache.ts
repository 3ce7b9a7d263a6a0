import { EdgelogError, unwrap } from "../core/errors";
import { TOPIC_METADATA_TTL_MS } from "../core/limits";
import { topicNameProblem } from "../core/topic-name";
import type { TopicMetadata } from "./contract";
import type { Env } from "./env";
import { topicRegistry } from "./stubs";

/**
 * A cache of topic metadata, trusted for TOPIC_METADATA_TTL_MS. A stale entry is
 * safe: every leader call names the topicId and leader epoch, and a replica
 * refuses what is not its current incarnation and epoch. Bounded: only existing
 * topics are cached (at most TOPICS_MAX).
 */
export class TopicCache {
  private readonly entries = new Map<string, { topic: TopicMetadata; expiresAt: number }>();

  /** Checks the name (INVALID_TOPIC_EXCEPTION) and returns the topic, or throws UNKNOWN_TOPIC_OR_PARTITION. */
  async get(env: Env, name: string): Promise<TopicMetadata> {
    checkTopicName(name);
    const cached = this.entries.get(name);
    if (cached && cached.expiresAt > Date.now()) return cached.topic;
    const topic = unwrap(await topicRegistry(env).getTopic(name));
    this.entries.set(name, { topic, expiresAt: Date.now() + TOPIC_METADATA_TTL_MS });
    return topic;
  }

  forget(name: string): void {
    this.entries.delete(name);
  }
}

export function checkTopicName(name: string): string {
  const problem = topicNameProblem(name);
  if (problem) throw new EdgelogError("INVALID_TOPIC_EXCEPTION", problem);
  return name;
}
