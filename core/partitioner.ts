import { murmur2, toPositive } from "./murmur2";

const utf8 = new TextEncoder();

/** Kafka's default partitioner for a non-null key: murmur2 of the key's UTF-8 bytes. */
export function partitionForKey(key: string, partitions: number): number {
  return toPositive(murmur2(utf8.encode(key))) % partitions;
}

/**
 * Sticky partitioning for records with neither key nor partition: every such
 * record of one request goes to one partition, and the next request moves on
 * (Kafka's sticky partitioner switches when a batch is complete).
 */
export class StickyPartitioner {
  private readonly next = new Map<string, number>();

  /** The partition for the keyless records of one request to `topic`. */
  partitionFor(topic: string, partitions: number): number {
    const current = this.next.get(topic) ?? Math.floor(Math.random() * partitions);
    const partition = current % partitions;
    // Bounded: one entry per topic this isolate has produced to; topics are bounded by TOPICS_MAX.
    this.next.set(topic, (partition + 1) % partitions);
    return partition;
  }
}
