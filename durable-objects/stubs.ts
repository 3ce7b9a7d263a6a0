import { EdgelogError } from "../core/errors";
import type { AlertManager } from "./alert-manager";
import type { ConsumerGroup } from "./consumer-group";
import type { DurableStream } from "./durable-stream";
import type { Env } from "./env";
import type { IdempotentProducer } from "./idempotent-producer";
import type { Partition } from "./partition";
import type { SecurityStore } from "./security-store";
import type { TopicRegistry } from "./topic-registry";
import type { WsSession } from "./ws-session";

/**
 * The one place that names objects: every stub of every object class is built
 * here, from names every isolate derives alike (no lookup), or from ids the
 * objects handed out.
 */

/** The one SecurityStore of a deployment. */
export function securityStore(env: Env): DurableObjectStub<SecurityStore> {
  return env.SECURITY.get(env.SECURITY.idFromName("cluster"));
}

/** The one AlertManager of a deployment. */
export function alertManager(env: Env): DurableObjectStub<AlertManager> {
  return env.ALERTS.get(env.ALERTS.idFromName("cluster"));
}

/** The object of the Durable Stream at /v1/stream/{name}. */
export function durableStream(env: Env, name: string): DurableObjectStub<DurableStream> {
  return env.DURABLE_STREAM.get(env.DURABLE_STREAM.idFromName(name));
}

/** The one TopicRegistry of a deployment. */
export function topicRegistry(env: Env): DurableObjectStub<TopicRegistry> {
  return env.TOPIC_REGISTRY.get(env.TOPIC_REGISTRY.idFromName("cluster"));
}

/**
 * One replica of a partition. Names come from the topic, partition and replica
 * index (`orders/3`, `orders/3/r1`), so every isolate reaches the same object
 * without a lookup. Replica 0 is a PreferredReplica, the others SecondaryReplicas.
 */
export function replicaStub(
  env: Env,
  topic: string,
  partition: number,
  replica: number,
): DurableObjectStub<Partition> {
  if (replica === 0)
    return env.PREFERRED_REPLICA.get(env.PREFERRED_REPLICA.idFromName(`${topic}/${partition}`));
  return env.SECONDARY_REPLICA.get(env.SECONDARY_REPLICA.idFromName(`${topic}/${partition}/r${replica}`));
}

/** A consumer group's coordinator, named by the group id. */
export function consumerGroup(env: Env, group: string): DurableObjectStub<ConsumerGroup> {
  return env.CONSUMER_GROUP.get(env.CONSUMER_GROUP.idFromName(group));
}

/** A WebSocket session by the id it gave a partition or group (`ctx.id.toString()`). */
export function wsSession(env: Env, id: string): DurableObjectStub<WsSession> {
  return env.WS_SESSION.get(env.WS_SESSION.idFromString(id));
}

/** A new session object for one socket. */
export function newWsSession(env: Env): DurableObjectStub<WsSession> {
  return env.WS_SESSION.get(env.WS_SESSION.newUniqueId());
}

/** A new producer object, or (with a transactionalId) the one that id names, whose epoch it bumps. */
export function producerFor(env: Env, transactionalId: string | null): DurableObjectStub<IdempotentProducer> {
  const ns = env.PRODUCER;
  return ns.get(
    transactionalId === null ? ns.newUniqueId() : ns.idFromName(`transactional/${transactionalId}`),
  );
}

/** The object of a producer id handed out by POST /v1/producers; UNKNOWN_PRODUCER_ID for any other id. */
export function producerStub(env: Env, id: string): DurableObjectStub<IdempotentProducer> {
  let objectId: DurableObjectId;
  try {
    objectId = env.PRODUCER.idFromString(id);
  } catch {
    throw new EdgelogError(
      "UNKNOWN_PRODUCER_ID",
      `producer id '${id}' was not handed out by POST /v1/producers`,
    );
  }
  return env.PRODUCER.get(objectId);
}
