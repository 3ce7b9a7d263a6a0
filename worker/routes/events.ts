import { Hono } from "hono";
import { binaryToEvent, type EventRecord, eventToRecord, InvalidEvent } from "../../core/cloudevents";
import { PRODUCE_RECORDS_MAX } from "../../core/limits";
import { authorize } from "../../durable-objects/authorizer";
import { invalid, typeName } from "../../schemas/input";
import { ProduceQuery, readQuery } from "../../schemas/query";
import { parseJsonBytes, readBodyBytes } from "../body";
import { maxRequestBytes } from "../config";
import type { GatewayEnv } from "../gateway-env";
import { produceAnswer, readAcks } from "../produce";
import { checkTopicName, getTopic } from "../topic-cache";

/**
 * The CloudEvents HTTP binding (API.md "Events and tracing"): structured, batched
 * and binary mode, each event stored as the Kafka binding's binary mode stores it
 * (core/cloudevents.ts), then produced as a produce request would be.
 */
export const eventRoutes = new Hono<GatewayEnv>();

const STRUCTURED = /^application\/cloudevents\+json\s*(;|$)/i;
const BATCH = /^application\/cloudevents-batch\+json\s*(;|$)/i;

eventRoutes.post("/:topic/events", async (c) => {
  const acks = readAcks(c, readQuery(c.req.url, ProduceQuery));
  authorize(c.get("auth").rights, "topic", checkTopicName(c.req.param("topic")), "write");
  const topic = await getTopic(c.env, c.req.param("topic"));
  const body = await readBodyBytes(c.req.raw, maxRequestBytes(c.env));
  const type = c.req.header("content-type") ?? "";
  let records: EventRecord[];
  try {
    if (STRUCTURED.test(type)) {
      if (body === null) invalid("the body must be a CloudEvent in structured mode (a JSON object)");
      records = [eventToRecord(parseJsonBytes(body), "body")];
    } else if (BATCH.test(type)) {
      const events = body === null ? undefined : parseJsonBytes(body);
      if (!Array.isArray(events))
        invalid(`the body must be a JSON array of CloudEvents, got ${typeName(events)}`);
      if (events.length === 0) invalid("the batch must hold at least one event");
      if (events.length > PRODUCE_RECORDS_MAX)
        invalid(
          `the batch holds ${events.length} events; at most ${PRODUCE_RECORDS_MAX} are allowed a request`,
        );
      records = events.map((event, i) => eventToRecord(event, `body[${i}]`));
    } else records = [eventToRecord(binaryToEvent(c.req.raw.headers.entries(), body), "event")];
  } catch (error) {
    if (error instanceof InvalidEvent) invalid(error.message);
    throw error;
  }
  return produceAnswer(c, topic, acks, { value: { records }, bytes: body?.byteLength ?? 0 });
});
