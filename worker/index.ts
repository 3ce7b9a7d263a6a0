import { createApp } from "./app";

export { ConsumerGroup } from "../durable-objects/consumer-group";
export { IdempotentProducer } from "../durable-objects/idempotent-producer";
export { PartitionLeader } from "../durable-objects/partition-leader";
export { PartitionReplica } from "../durable-objects/partition-replica";
export { SecurityStore } from "../durable-objects/security-store";
export { TopicRegistry } from "../durable-objects/topic-registry";
export { WsSession } from "../durable-objects/ws-session";

export default createApp();
