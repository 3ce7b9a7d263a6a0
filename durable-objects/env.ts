import type { PartitionLeader } from "./partition-leader";
import type { TopicRegistry } from "./topic-registry";

/** Bindings and variables of the gateway Worker and its objects (wrangler.toml). */
export type Env = {
  TOPIC_REGISTRY: DurableObjectNamespace<TopicRegistry>;
  PARTITION_LEADER: DurableObjectNamespace<PartitionLeader>;
  /** Gateway request-body limit in bytes; 1 MiB when unset. */
  EDGELOG_MAX_REQUEST_BYTES?: string;
};

/** The one TopicRegistry of a deployment. */
export function topicRegistry(env: Env): DurableObjectStub<TopicRegistry> {
  return env.TOPIC_REGISTRY.get(env.TOPIC_REGISTRY.idFromName("cluster"));
}

/** A partition's leader, named `topic/partition` so every isolate reaches it without a lookup. */
export function partitionLeader(
  env: Env,
  topic: string,
  partition: number,
): DurableObjectStub<PartitionLeader> {
  return env.PARTITION_LEADER.get(env.PARTITION_LEADER.idFromName(`${topic}/${partition}`));
}
