import * as z from "zod";
import { EdgelogError } from "../core/errors";
import {
  PARTITIONS_MAX,
  PARTITIONS_MIN,
  REPLICATION_FACTOR_MAX,
  REPLICATION_FACTOR_MIN,
  TOPIC_NAME_LENGTH_MAX,
} from "../core/limits";
import { resolveTopicConfigs, TOPIC_CONFIG_SPECS, type TopicConfigs } from "../core/topic-config";
import { legalName } from "./names";
import { parseInput, withCode } from "./validate";

export type CreateTopicRequest = {
  name: string;
  partitions: number;
  replicationFactor: number;
  configs: TopicConfigs;
};

const DEFAULT_PARTITIONS = 1;
const DEFAULT_REPLICATION_FACTOR = 3;

/** A topic name: Kafka's rule (INVALID_TOPIC_EXCEPTION). */
export const TopicName = withCode(legalName("topic name", TOPIC_NAME_LENGTH_MAX), "INVALID_TOPIC_EXCEPTION");

/** One config's value: its type and bounds from core/topic-config.ts; null resets it to its default. */
function configValue(spec: (typeof TOPIC_CONFIG_SPECS)[keyof typeof TOPIC_CONFIG_SPECS]) {
  if (spec.kind === "enum") return z.enum(spec.values).nullable().optional();
  // -1 means unlimited where the config allows it; core refuses the values between.
  const min = "unlimited" in spec ? -1 : spec.min;
  return z.int().min(min).max(spec.max).nullable().optional().meta({ default: spec.default });
}

/** Topic configs (API.md "Topics"); the values are checked again, with the replication factor, by core. */
export const TopicConfigsInput = withCode(
  z.strictObject(
    Object.fromEntries(Object.entries(TOPIC_CONFIG_SPECS).map(([name, spec]) => [name, configValue(spec)])),
  ),
  "INVALID_CONFIG",
  true,
).meta({ id: "TopicConfigsInput", description: "Config name → value; null resets a config to its default" });

export const CreateTopicBody = z
  .strictObject({
    name: TopicName,
    partitions: withCode(z.int().min(PARTITIONS_MIN).max(PARTITIONS_MAX), "INVALID_PARTITIONS")
      .optional()
      .meta({ default: DEFAULT_PARTITIONS }),
    replicationFactor: withCode(
      z.int().min(REPLICATION_FACTOR_MIN).max(REPLICATION_FACTOR_MAX),
      "INVALID_REPLICATION_FACTOR",
    )
      .optional()
      .meta({ default: DEFAULT_REPLICATION_FACTOR }),
    configs: TopicConfigsInput.optional(),
  })
  .meta({ id: "CreateTopicRequest" });

/** `POST /v1/topics` body: name rule, bounded partitions and replication factor, typed configs with defaults. */
export function parseCreateTopic(body: unknown): CreateTopicRequest {
  const request = parseInput(CreateTopicBody, body, "body");
  const replicationFactor = request.replicationFactor ?? DEFAULT_REPLICATION_FACTOR;
  const resolved = resolveTopicConfigs(request.configs, replicationFactor);
  if (!resolved.ok) throw new EdgelogError(resolved.error.code, resolved.error.message);
  return {
    name: request.name,
    partitions: request.partitions ?? DEFAULT_PARTITIONS,
    replicationFactor,
    configs: resolved.configs,
  };
}

export const AlterConfigsBody = z
  .strictObject({ configs: TopicConfigsInput })
  .meta({ id: "AlterConfigsRequest" });

/** `PATCH /v1/topics/{topic}` body: `{ "configs": { ... } }`; the values are checked by the registry. */
export function parseAlterConfigs(body: unknown): Record<string, unknown> {
  return parseInput(AlterConfigsBody, body, "body").configs;
}
