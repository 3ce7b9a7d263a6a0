import { EdgelogError } from "../core/errors";
import {
  PARTITIONS_MAX,
  PARTITIONS_MIN,
  REPLICATION_FACTOR_MAX,
  REPLICATION_FACTOR_MIN,
} from "../core/limits";
import { resolveTopicConfigs, type TopicConfigs } from "../core/topic-config";
import { topicNameProblem } from "../core/topic-name";
import { expectInt, expectObject, expectString, invalid, rejectUnknownFields } from "./input";

export type CreateTopicRequest = {
  name: string;
  partitions: number;
  replicationFactor: number;
  configs: TopicConfigs;
};

const CREATE_FIELDS = ["name", "partitions", "replicationFactor", "configs"] as const;
const DEFAULT_PARTITIONS = 1;
const DEFAULT_REPLICATION_FACTOR = 3;

/** `POST /v1/topics` body: name rule, bounded partitions and replication factor, typed configs with defaults. */
export function parseCreateTopic(body: unknown): CreateTopicRequest {
  const request = expectObject(body, "body");
  rejectUnknownFields(request, CREATE_FIELDS, "body");
  if (request.name === undefined) invalid("body.name is required");
  const name = expectString(request.name, "body.name");
  const problem = topicNameProblem(name);
  if (problem) throw new EdgelogError("INVALID_TOPIC_EXCEPTION", problem);
  const partitions =
    request.partitions === undefined
      ? DEFAULT_PARTITIONS
      : expectInt(
          request.partitions,
          "body.partitions",
          PARTITIONS_MIN,
          PARTITIONS_MAX,
          "INVALID_PARTITIONS",
        );
  const replicationFactor =
    request.replicationFactor === undefined
      ? DEFAULT_REPLICATION_FACTOR
      : expectInt(
          request.replicationFactor,
          "body.replicationFactor",
          REPLICATION_FACTOR_MIN,
          REPLICATION_FACTOR_MAX,
          "INVALID_REPLICATION_FACTOR",
        );
  const resolved = resolveTopicConfigs(request.configs, replicationFactor);
  if (!resolved.ok) throw new EdgelogError(resolved.error.code, resolved.error.message);
  return { name, partitions, replicationFactor, configs: resolved.configs };
}

/** `PATCH /v1/topics/{topic}` body: `{ "configs": { ... } }`; the values are checked by the registry. */
export function parseAlterConfigs(body: unknown): Record<string, unknown> {
  const request = expectObject(body, "body");
  rejectUnknownFields(request, ["configs"], "body");
  if (request.configs === undefined) invalid("body.configs is required");
  const configs = request.configs;
  if (typeof configs !== "object" || configs === null || Array.isArray(configs))
    throw new EdgelogError("INVALID_CONFIG", "body.configs must be an object of config name → value");
  return configs as Record<string, unknown>;
}
