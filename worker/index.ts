import { createApp } from "./app";

export { AlertManager } from "../durable-objects/alert-manager";
export { ConsumerGroup } from "../durable-objects/consumer-group";
export { DurableStream } from "../durable-objects/durable-stream";
export { IdempotentProducer } from "../durable-objects/idempotent-producer";
// Exported under the class names wrangler.toml gave them at creation (they key stored state).
export {
  PreferredReplica as PartitionLeader,
  SecondaryReplica as PartitionReplica,
} from "../durable-objects/replicas";
export { SecurityStore } from "../durable-objects/security-store";
export { TopicRegistry } from "../durable-objects/topic-registry";
export { WsSession } from "../durable-objects/ws-session";

export default createApp();
