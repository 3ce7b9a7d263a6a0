import type { Context } from "hono";
import { EdgelogError, statusOf } from "../core/errors";
import { isCompacted } from "../core/topic-config";
import type { Acks, TopicMetadata } from "../durable-objects/contract";
import { startProduce } from "../durable-objects/produce-path";
import { invalid } from "../schemas/input";
import { parseProduceRequest } from "../schemas/produce";
import type { GatewayEnv } from "./gateway-env";
import { chargeProduce } from "./quota";
import { topics } from "./topic-cache";

/** `acks` of a produce request (all by default; Kafka's -1 means all), kept for the request's metrics. */
export function readAcks(c: Context<GatewayEnv>, query: { acks?: "all" | "-1" | "1" | "0" }): Acks {
  const acks = query.acks === undefined || query.acks === "-1" ? "all" : query.acks;
  c.set("acks", acks);
  return acks;
}

/**
 * Appends a produce body (API.md "Produce": checked whole before anything is
 * appended) to a topic the caller may write, and answers as produce does.
 * `bytes` is what the produce quota charges. With `target` (the partition route)
 * every record goes to that partition, none may name one, and `expectedOffset`
 * makes the append conditional; a refusal is then the request's error envelope
 * (412 OFFSET_MISMATCH with `logEndOffset`).
 */
export async function produceAnswer(
  c: Context<GatewayEnv>,
  topic: TopicMetadata,
  acks: Acks,
  body: { value: unknown; bytes: number },
  target?: { partition: number; expectedOffset?: number },
): Promise<Response> {
  const { records, producer, transactional } = parseProduceRequest(
    body.value,
    {
      partitions: topic.partitions,
      maxMessageBytes: topic.configs["max.message.bytes"],
      keyRequired: isCompacted(topic.configs),
    },
    c.get("trace"), // API.md: the request's traceparent/tracestate go into records without their own
  );
  if (target) {
    records.forEach((record, i) => {
      if (record.partition !== undefined)
        invalid(`records[${i}].partition is not allowed here: the path names the partition`);
      record.partition = target.partition;
    });
    if (target.expectedOffset !== undefined && acks === "0")
      invalid("expectedOffset needs acks=1 or acks=all: acks=0 would never say whether the append happened");
  }
  const charged = chargeProduce(c.env, c.get("auth"), body.bytes);
  if (charged) await charged;
  const produced = startProduce(c.env, topics, topic, records, acks, producer, {
    transactional,
    expectedOffset: target?.expectedOffset,
  });
  if (acks === "0") {
    // Nothing is promised for acks=0: answer now, append in the background.
    c.executionCtx.waitUntil(produced);
    return c.json({ accepted: records.length }, 202);
  }
  const { results, firstError } = await produced;
  // One partition, one batch: a refusal is the whole request's.
  if (target && firstError) throw new EdgelogError(firstError.code, firstError.message, firstError);
  const status = firstError ? statusOf(firstError.code) : 200;
  if (firstError) c.set("errorCode", firstError.code);
  return c.json({ topic: topic.name, results }, status as 200);
}
