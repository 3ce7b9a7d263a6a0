import { Admin } from "./admin";
import { Consumer, type ConsumerOptions } from "./consumer";
import type { Transport } from "./http";
import { Producer, type ProducerOptions } from "./producer";
import { type WebSocketConstructor, webSocketConstructor } from "./socket";
import { type SubscribeOptions, Subscription } from "./subscription";
import { TransactionalProducer, type TransactionalProducerOptions } from "./transactions";

export type { Acl } from "./admin";
export type { Backoff } from "./backoff";
export { backoffMs } from "./backoff";
export type { Batch, ConsumerOptions } from "./consumer";
export { EdgelogError } from "./errors";
export type { ProducerOptions } from "./producer";
export type { WebSocketConstructor } from "./socket";
export type { SubscribeOptions } from "./subscription";
export type { TransactionalProducerOptions, TransactionOffsets } from "./transactions";
export type * from "./types";
export { Admin, Consumer, Producer, Subscription, TransactionalProducer };

export type EdgelogOptions = {
  /** The gateway, e.g. http://127.0.0.1:8787. */
  url: string;
  /** An API key, scoped token or the admin secret, when the gateway requires credentials. */
  token?: string;
  /** A fetch of your own (tests, a Worker's service binding); the global one by default. */
  fetch?: typeof fetch;
  /** A WebSocket class where the environment has none (Node 20: `ws`). */
  WebSocket?: WebSocketConstructor;
};

/**
 * The edgelog client: `producer()`, `consumer()`, `subscribe()` and `admin`.
 * Runs unchanged in Node 20+, browsers and Workers (fetch and WebSocket only).
 *
 * ```ts
 * const edgelog = new Edgelog({ url: "http://127.0.0.1:8787" });
 * const producer = edgelog.producer();
 * await producer.send({ topic: "orders", key: "user-42", value: { total: 12.5 } });
 * for await (const batch of edgelog.consumer({ group: "billing", topics: ["orders"] })) { … }
 * ```
 */
export class Edgelog {
  readonly admin: Admin;
  private readonly transport: Transport;
  private readonly webSocket: () => WebSocketConstructor;

  constructor(options: EdgelogOptions) {
    if (typeof options?.url !== "string") throw new Error("new Edgelog({ url }) needs the gateway's URL");
    this.transport = { url: options.url, token: options.token ?? null, fetch: options.fetch };
    this.admin = new Admin(this.transport);
    this.webSocket = () => webSocketConstructor(options.WebSocket);
  }

  /** An idempotent producer; with a `transactionalId`, a transactional one (API.md "Transactions"). */
  producer(options: TransactionalProducerOptions): TransactionalProducer;
  producer(options?: ProducerOptions): Producer;
  producer(options?: ProducerOptions | TransactionalProducerOptions): Producer | TransactionalProducer {
    if (options && "transactionalId" in options) return new TransactionalProducer(this.transport, options);
    return new Producer(this.transport, options as ProducerOptions | undefined);
  }

  consumer(options: ConsumerOptions): Consumer {
    return new Consumer(this.transport, options, this.webSocket);
  }

  subscribe(options: SubscribeOptions): Subscription {
    return new Subscription(this.transport, options, this.webSocket);
  }
}
