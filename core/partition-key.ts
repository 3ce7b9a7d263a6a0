/**
 * One key for a topic-partition in maps and sets (groups' owners, positions and
 * offsets; sessions' watched partitions): the topic, NUL, the partition number.
 * NUL cannot occur in a topic name, so a key reads back unambiguously.
 */
const SEPARATOR = "\u0000";

/** One partition of a topic (Kafka's TopicPartition). */
export type TopicPartition = { topic: string; partition: number };

/** Orders topic-partitions by topic, then partition (assignments and offsets are listed so). */
export function compareTopicPartitions(a: TopicPartition, b: TopicPartition): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}${SEPARATOR}${partition}`;
}

export function parsePartitionKey(key: string): TopicPartition {
  const at = key.lastIndexOf(SEPARATOR);
  return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) };
}

/** True when `key` names a partition of `topic`. */
export function isKeyOfTopic(key: string, topic: string): boolean {
  return key.startsWith(`${topic}${SEPARATOR}`);
}
