import type { TopicMetadata } from "../durable-objects/contract";
import type { Env } from "../durable-objects/env";
import { TopicCache } from "../durable-objects/topic-cache";

export { checkTopicName } from "../durable-objects/topic-cache";

/** This gateway isolate's topic metadata. */
export const topics = new TopicCache();

export function getTopic(env: Env, name: string): Promise<TopicMetadata> {
  return topics.get(env, name);
}

export function forgetTopic(name: string): void {
  topics.forget(name);
}
