import { Partition } from "./partition";

/**
 * Replicas 1…replicationFactor−1 of a topic-partition, named `topic/partition/rN`:
 * followers that copy the leader's log and can be elected leader when it fails.
 * All behaviour is in Partition.
 */
export class PartitionReplica extends Partition {}
