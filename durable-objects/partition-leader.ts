import { Partition } from "./partition";

/**
 * Replica 0 of a topic-partition, named `topic/partition`: the preferred leader,
 * which leads from creation until an election moves leadership to a follower.
 * All behaviour is in Partition; the class exists so that replicas can be placed
 * apart (a different `locationHint`) and counted separately.
 */
export class PartitionLeader extends Partition {}
