import { Partition } from "./partition";

/**
 * The two Durable Object classes of partition replicas. Both are Partition: any
 * replica leads or follows as the registry decides, so the names say only where
 * a replica stands in the assignment (Kafka's preferred replica and the rest).
 * Two classes, so that replicas can be placed apart (a different `locationHint`)
 * and counted separately. In wrangler.toml they keep the class names they were
 * created with (PartitionLeader, PartitionReplica): a class name keys its
 * objects' ids and stored state, so renaming it would orphan existing logs.
 */

/** Replica 0, named `topic/partition`: the preferred replica, leader from creation until an election. */
export class PreferredReplica extends Partition {}

/** Replicas 1…replicationFactor−1, named `topic/partition/rN`: elected leader when the leader fails. */
export class SecondaryReplica extends Partition {}
