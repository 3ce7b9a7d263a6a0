import { Hono } from "hono";
import { EdgelogError, statusOf, unwrap } from "../../core/errors";
import type { FetchPosition } from "../../core/fetch-position";
import { OFFSET_MAX, TIMESTAMP_MAX } from "../../core/limits";
import { isCompacted } from "../../core/topic-config";
import { authorize } from "../../durable-objects/authorizer";
import type { Acks } from "../../durable-objects/contract";
import { callLeader, LEADER_CALL_SLACK_MS } from "../../durable-objects/leader-call";
import { startProduce } from "../../durable-objects/produce-path";
import { invalid } from "../../schemas/input";
import { parseProduceRequest } from "../../schemas/produce";
import {
  pathInt,
  queryInt,
  READ_LIMIT_PARAMS,
  readIsolation,
  readLimits,
  readQuery,
} from "../../schemas/query";
import { readJsonBodySized } from "../body";
import { maxRequestBytes } from "../config";
import type { GatewayEnv } from "../gateway-env";
import { chargeProduce, startFetch } from "../quota";
import { checkTopicName, getTopic, topics } from "../topic-cache";

/** Produce and fetch (API.md "Produce" and "Fetch"). */
export const recordRoutes = new Hono<GatewayEnv>();

const ACKS = new Map<string, Acks>([
  ["all", "all"],
  ["-1", "all"],
  ["1", "1"],
  ["0", "0"],
]);

recordRoutes.post("/:topic/records", async (c) => {
  const query = readQuery(c.req.url, ["acks"]);
  const acks = ACKS.get(query.get("acks") ?? "all");
  if (acks === undefined)
    invalid(`query parameter 'acks' must be 'all', '1' or '0', got '${query.get("acks")}'`);
  c.set("acks", acks);
  const auth = c.get("auth");
  // Before the topic is looked up: a refusal never tells whether it exists.
  authorize(auth.rights, "topic", checkTopicName(c.req.param("topic")), "write");
  const topic = await getTopic(c.env, c.req.param("topic"));
  const body = await readJsonBodySized(c.req.raw, maxRequestBytes(c.env));
  const { records, producer, transactional } = parseProduceRequest(
    body.value,
    {
      partitions: topic.partitions,
      maxMessageBytes: topic.configs["max.message.bytes"],
      keyRequired: isCompacted(topic.configs),
    },
    c.get("trace"), // API.md: the request's traceparent/tracestate go into records without their own
  );
  const charged = chargeProduce(c.env, auth, body.bytes);
  if (charged) await charged;
  const produced = startProduce(c.env, topics, topic, records, acks, producer, transactional);
  if (acks === "0") {
    // Nothing is promised for acks=0: answer now, append in the background.
    c.executionCtx.waitUntil(produced);
    return c.json({ accepted: records.length }, 202);
  }
  const { results, firstError } = await produced;
  const status = firstError ? statusOf(firstError.code) : 200;
  if (firstError) c.set("errorCode", firstError.code);
  return c.json({ topic: topic.name, results }, status as 200);
});

const FETCH_PARAMS = ["offset", "timestamp", "isolation", ...READ_LIMIT_PARAMS] as const;

function fetchPosition(query: Map<string, string>): FetchPosition {
  const offset = query.get("offset");
  if (offset !== undefined && query.has("timestamp"))
    invalid("give either 'offset' or 'timestamp', not both");
  if (query.has("timestamp"))
    return { kind: "timestamp", timestamp: queryInt(query, "timestamp", 0, TIMESTAMP_MAX)! };
  if (offset === undefined)
    invalid("query parameter 'offset' (a number, 'earliest' or 'latest') or 'timestamp' is required");
  if (offset === "earliest" || offset === "latest") return { kind: offset };
  return { kind: "offset", offset: queryInt(query, "offset", 0, OFFSET_MAX)! };
}

recordRoutes.get("/:topic/partitions/:partition/records", async (c) => {
  const query = readQuery(c.req.url, FETCH_PARAMS);
  const position = fetchPosition(query);
  const { maxRecords, maxBytes, waitMs } = readLimits(query);
  const isolation = readIsolation(query);
  const partition = pathInt(c.req.param("partition"), "partition", OFFSET_MAX);
  const auth = c.get("auth");
  authorize(auth.rights, "topic", checkTopicName(c.req.param("topic")), "read");
  const started = startFetch(c.env, auth);
  const charge = typeof started === "function" ? started : await started;
  const topic = await getTopic(c.env, c.req.param("topic"));
  if (partition >= topic.partitions)
    throw new EdgelogError(
      "UNKNOWN_TOPIC_OR_PARTITION",
      `partition ${partition} does not exist; topic '${topic.name}' has partitions 0 to ${topic.partitions - 1}`,
    );
  const body = unwrap(
    await callLeader(
      c.env,
      topics,
      { topic, partition, timeoutMs: waitMs + LEADER_CALL_SLACK_MS, retrySafe: true },
      (leader, leaderEpoch) =>
        leader.fetchRecords({
          topicId: topic.topicId,
          leaderEpoch,
          position,
          maxRecords,
          maxBytes,
          waitMs,
          isolation,
        }),
    ),
  );
  charge(body.length);
  return c.body(body, 200, { "content-type": "application/json" });
});
