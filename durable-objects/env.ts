import { DELIVERY_RETRY_BASE_MS } from "../core/alerts";
import { PRODUCER_ID_EXPIRATION_MS_DEFAULT } from "../core/limits";
import type { AlertManager } from "./alert-manager";
import type { ConsumerGroup } from "./consumer-group";
import type { DurableStream } from "./durable-stream";
import type { IdempotentProducer } from "./idempotent-producer";
import type { PreferredReplica, SecondaryReplica } from "./replicas";
import type { SecurityStore } from "./security-store";
import type { TopicRegistry } from "./topic-registry";
import type { WsSession } from "./ws-session";

/** Bindings and variables of the gateway Worker and its objects (wrangler.toml). */
export type Env = {
  TOPIC_REGISTRY: DurableObjectNamespace<TopicRegistry>;
  PREFERRED_REPLICA: DurableObjectNamespace<PreferredReplica>;
  SECONDARY_REPLICA: DurableObjectNamespace<SecondaryReplica>;
  CONSUMER_GROUP: DurableObjectNamespace<ConsumerGroup>;
  WS_SESSION: DurableObjectNamespace<WsSession>;
  PRODUCER: DurableObjectNamespace<IdempotentProducer>;
  SECURITY: DurableObjectNamespace<SecurityStore>;
  ALERTS: DurableObjectNamespace<AlertManager>;
  DURABLE_STREAM: DurableObjectNamespace<DurableStream>;
  /** The console's and the reference page's files (wrangler.toml [assets]); absent in a bare test build. */
  ASSETS?: Fetcher;
  /** `none` or `required` (API.md "Security"); anything else, or unset, is `required`: fail closed. */
  EDGELOG_AUTH?: string;
  /** The admin principal's secret (a Worker secret, never a [vars] entry); signs scoped tokens too. */
  EDGELOG_ADMIN_TOKEN?: string;
  /** Origins allowed by CORS and on WebSocket upgrades: comma-separated, or `*`; none when unset. */
  EDGELOG_CORS_ORIGINS?: string;
  /** Idle time after which a producer id is forgotten (ms); 7 days when unset. */
  PRODUCER_ID_EXPIRATION_MS?: string;
  /** Gateway request-body limit in bytes; 1 MiB when unset. */
  EDGELOG_MAX_REQUEST_BYTES?: string;
  /** The first webhook retry's delay in ms (tests shorten it); core/alerts.ts DELIVERY_RETRY_BASE_MS when unset. */
  EDGELOG_ALERT_RETRY_BASE_MS?: string;
  /** "1": the gateway writes one JSON log line per request (worker/middleware/observe.ts). */
  EDGELOG_REQUEST_LOG?: string;
};

/** Kafka's producer.id.expiration.ms (a deployment setting, like Kafka's broker config); 7 days when unset. */
export function alertRetryBaseMs(env: Env): number {
  const configured = Number(env.EDGELOG_ALERT_RETRY_BASE_MS);
  return Number.isSafeInteger(configured) && configured > 0 ? configured : DELIVERY_RETRY_BASE_MS;
}

export function producerExpirationMs(env: Env): number {
  const configured = Number(env.PRODUCER_ID_EXPIRATION_MS);
  return Number.isSafeInteger(configured) && configured > 0 ? configured : PRODUCER_ID_EXPIRATION_MS_DEFAULT;
}
