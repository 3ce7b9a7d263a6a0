import { Hono } from "hono";
import { EdgelogError } from "../../core/errors";
import type { FetchPosition } from "../../core/fetch-position";
import { authorize } from "../../durable-objects/authorizer";
import type { TopicMetadata } from "../../durable-objects/contract";
import { invalid } from "../../schemas/input";
import {
  FetchEventStreamQuery,
  FetchQuery,
  limitsOf,
  PartitionProduceQuery,
  ProduceQuery,
  parseOffset,
  pathInt,
  readQuery,
} from "../../schemas/query";
import { readJsonBodySized } from "../body";
import { inFormat } from "../cloudevents-format";
import { maxRequestBytes } from "../config";
import { fetchFromLeader } from "../fetch-records";
import type { GatewayEnv } from "../gateway-env";
import { wantsEventStream } from "../middleware/authentication";
import { produceAnswer, readAcks } from "../produce";
import { startFetch } from "../quota";
import { sseTail } from "../sse-tail";
import { checkTopicName, getTopic } from "../topic-cache";

/** Produce and fetch (API.md "Produce" and "Fetch"). */
export const recordRoutes = new Hono<GatewayEnv>();

recordRoutes.post("/:topic/records", async (c) => {
  const acks = readAcks(c, readQuery(c.req.url, ProduceQuery));
  // Before the topic is looked up: a refusal never tells whether it exists.
  authorize(c.get("auth").rights, "topic", checkTopicName(c.req.param("topic")), "write");
  const topic = await getTopic(c.env, c.req.param("topic"));
  return produceAnswer(c, topic, acks, await readJsonBodySized(c.req.raw, maxRequestBytes(c.env)));
});

function checkPartition(topic: TopicMetadata, partition: number): void {
  if (partition >= topic.partitions)
    throw new EdgelogError(
      "UNKNOWN_TOPIC_OR_PARTITION",
      `partition ${partition} does not exist; topic '${topic.name}' has partitions 0 to ${topic.partitions - 1}`,
    );
}

/** A conditional append to one partition (API.md "Streams for the web"): `expectedOffset` optional. */
recordRoutes.post("/:topic/partitions/:partition/records", async (c) => {
  const query = readQuery(c.req.url, PartitionProduceQuery);
  const acks = readAcks(c, query);
  const expectedOffset = query.expectedOffset;
  const partition = pathInt(c.req.param("partition"), "partition");
  authorize(c.get("auth").rights, "topic", checkTopicName(c.req.param("topic")), "write");
  const topic = await getTopic(c.env, c.req.param("topic"));
  checkPartition(topic, partition);
  const body = await readJsonBodySized(c.req.raw, maxRequestBytes(c.env));
  return produceAnswer(c, topic, acks, body, { partition, expectedOffset });
});

function fetchPosition(query: {
  offset?: number | "earliest" | "latest";
  timestamp?: number;
}): FetchPosition {
  const { offset, timestamp } = query;
  if (offset !== undefined && timestamp !== undefined)
    invalid("give either 'offset' or 'timestamp', not both");
  if (timestamp !== undefined) return { kind: "timestamp", timestamp };
  if (offset === undefined)
    invalid("query parameter 'offset' (a number, 'earliest' or 'latest') or 'timestamp' is required");
  if (offset === "earliest" || offset === "latest") return { kind: offset };
  return { kind: "offset", offset };
}

recordRoutes.get("/:topic/partitions/:partition/records", async (c) => {
  const sse = wantsEventStream(c.req.raw);
  // An EventSource cannot send headers: its credential may ride as ?access_token= (authentication.ts).
  const query = readQuery(c.req.url, sse ? FetchEventStreamQuery : FetchQuery);
  const position = fetchPosition(query);
  const { maxRecords, maxBytes, waitMs } = limitsOf(query);
  const isolation = query.isolation ?? "read_uncommitted";
  const format = query.format ?? "json";
  const partition = pathInt(c.req.param("partition"), "partition");
  const auth = c.get("auth");
  authorize(auth.rights, "topic", checkTopicName(c.req.param("topic")), "read");
  const topic = await getTopic(c.env, c.req.param("topic"));
  checkPartition(topic, partition);
  if (sse) {
    // API.md: EventSource's Last-Event-ID (the last nextOffset it got) overrides `offset`.
    const lastEventId = c.req.header("last-event-id");
    const resumed =
      lastEventId === undefined
        ? position
        : { kind: "offset" as const, offset: parseOffset(lastEventId, "header 'last-event-id'") };
    return sseTail(c, {
      topic,
      partition,
      position: resumed,
      limits: { maxRecords, maxBytes },
      isolation,
      format,
    });
  }
  const started = startFetch(c.env, auth);
  const charge = typeof started === "function" ? started : await started;
  const body = await fetchFromLeader(c.env, topic, partition, {
    position,
    maxRecords,
    maxBytes,
    waitMs,
    isolation,
  });
  charge(body.length);
  return c.body(inFormat(body, format), 200, { "content-type": "application/json" });
});
