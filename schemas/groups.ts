import { ASSIGNORS, type AssignorName } from "../core/assignors";
import type { OffsetReset } from "../core/group-membership";
import {
  COMMIT_OFFSETS_MAX,
  GROUP_ID_LENGTH_MAX,
  MEMBER_ID_LENGTH_MAX,
  OFFSET_MAX,
  SESSION_TIMEOUT_MS_DEFAULT,
  SESSION_TIMEOUT_MS_MAX,
  SESSION_TIMEOUT_MS_MIN,
  SUBSCRIBED_TOPICS_MAX,
  TIMESTAMP_MAX,
} from "../core/limits";
import type { Isolation } from "../core/partition-transactions";
import { nameProblem, topicNameProblem } from "../core/topic-name";
import { expectInt, expectObject, expectString, invalid, rejectUnknownFields, typeName } from "./input";
import { parseIsolation } from "./query";

/** Group ids follow the topic-name rule (they name Durable Objects, URL paths and metrics labels). */
export function checkGroupId(group: string): string {
  const problem = nameProblem("group id", group, GROUP_ID_LENGTH_MAX);
  if (problem) invalid(problem);
  return group;
}

export function checkMemberId(memberId: string, path = "memberId"): string {
  const problem = nameProblem(path, memberId, MEMBER_ID_LENGTH_MAX);
  if (problem) invalid(problem);
  return memberId;
}

export type JoinRequest = {
  topics: string[];
  sessionTimeoutMs: number;
  autoOffsetReset: OffsetReset;
  assignor: AssignorName;
  instanceId: string | null;
  isolation: Isolation;
};

/** `POST /v1/groups/{group}/members` body (API.md). */
export function parseJoin(body: unknown): JoinRequest {
  const request = expectObject(body, "body");
  rejectUnknownFields(
    request,
    ["topics", "sessionTimeoutMs", "autoOffsetReset", "assignor", "instanceId", "isolation"],
    "body",
  );
  if (!Array.isArray(request.topics))
    invalid(`body.topics must be an array of topic names, got ${typeName(request.topics)}`);
  if (request.topics.length === 0) invalid("body.topics must name at least one topic");
  if (request.topics.length > SUBSCRIBED_TOPICS_MAX)
    invalid(`body.topics may name at most ${SUBSCRIBED_TOPICS_MAX} topics`);
  const topics = request.topics.map((t, i) => {
    const name = expectString(t, `body.topics[${i}]`);
    const problem = topicNameProblem(name);
    if (problem) invalid(`body.topics[${i}]: ${problem}`, "INVALID_TOPIC_EXCEPTION");
    return name;
  });
  if (new Set(topics).size !== topics.length) invalid("body.topics names a topic twice");
  const sessionTimeoutMs =
    request.sessionTimeoutMs === undefined
      ? SESSION_TIMEOUT_MS_DEFAULT
      : expectInt(
          request.sessionTimeoutMs,
          "body.sessionTimeoutMs",
          SESSION_TIMEOUT_MS_MIN,
          SESSION_TIMEOUT_MS_MAX,
        );
  const autoOffsetReset = request.autoOffsetReset ?? "latest";
  if (autoOffsetReset !== "earliest" && autoOffsetReset !== "latest")
    invalid(`body.autoOffsetReset must be "earliest" or "latest", got ${JSON.stringify(autoOffsetReset)}`);
  const assignor = request.assignor ?? "range";
  if (!ASSIGNORS.includes(assignor as AssignorName))
    invalid(
      `body.assignor must be one of ${ASSIGNORS.map((a) => `"${a}"`).join(", ")}, got ${JSON.stringify(assignor)}`,
    );
  const instanceId =
    request.instanceId === undefined || request.instanceId === null
      ? null
      : checkMemberId(expectString(request.instanceId, "body.instanceId"), "body.instanceId");
  const isolation = parseIsolation(request.isolation, "body.isolation");
  return {
    topics,
    sessionTimeoutMs,
    autoOffsetReset,
    assignor: assignor as AssignorName,
    instanceId,
    isolation,
  };
}

/** Heartbeat and other parameterless POSTs: an empty body or `{}`. */
export function parseEmpty(body: unknown): void {
  if (body === undefined) return;
  rejectUnknownFields(expectObject(body, "body"), [], "body");
}

export type OffsetCommit = { topic: string; partition: number; offset: number };
export type CommitRequest = { memberId: string; generation: number; offsets: OffsetCommit[] };

/** `POST /v1/groups/{group}/offsets` body. */
export function parseCommit(body: unknown): CommitRequest {
  const request = expectObject(body, "body");
  rejectUnknownFields(request, ["memberId", "generation", "offsets"], "body");
  const memberId = checkMemberId(expectString(request.memberId, "body.memberId"), "body.memberId");
  const generation = expectInt(request.generation, "body.generation", 0, Number.MAX_SAFE_INTEGER);
  const offsets = parseOffsetList(request.offsets, "body.offsets");
  return { memberId, generation, offsets };
}

/** A list of `{ topic, partition, offset }` to commit: non-empty, bounded, no partition twice. */
export function parseOffsetList(value: unknown, path: string): OffsetCommit[] {
  if (!Array.isArray(value)) invalid(`${path} must be an array, got ${typeName(value)}`);
  if (value.length === 0) invalid(`${path} must hold at least one offset`);
  if (value.length > COMMIT_OFFSETS_MAX) invalid(`${path} may hold at most ${COMMIT_OFFSETS_MAX} offsets`);
  const seen = new Set<string>();
  return value.map((o, i) => {
    const at = `${path}[${i}]`;
    const entry = expectObject(o, at);
    rejectUnknownFields(entry, ["topic", "partition", "offset"], at);
    const topic = expectString(entry.topic, `${at}.topic`);
    const problem = topicNameProblem(topic);
    if (problem) invalid(`${at}.topic: ${problem}`, "INVALID_TOPIC_EXCEPTION");
    const partition = expectInt(entry.partition, `${at}.partition`, 0, Number.MAX_SAFE_INTEGER);
    const offset = expectInt(entry.offset, `${at}.offset`, 0, OFFSET_MAX);
    const key = `${topic}/${partition}`;
    if (seen.has(key)) invalid(`${at} names ${key} a second time`);
    seen.add(key);
    return { topic, partition, offset };
  });
}

export type ResetTarget =
  | { kind: "earliest" }
  | { kind: "latest" }
  | { kind: "timestamp"; timestamp: number }
  | { kind: "offset"; offset: number };
export type ResetRequest = { topic: string; to: ResetTarget };

/** `POST /v1/groups/{group}/offsets/reset` body. */
export function parseReset(body: unknown): ResetRequest {
  const request = expectObject(body, "body");
  rejectUnknownFields(request, ["topic", "to"], "body");
  const topic = expectString(request.topic, "body.topic");
  const problem = topicNameProblem(topic);
  if (problem) invalid(`body.topic: ${problem}`, "INVALID_TOPIC_EXCEPTION");
  const to = request.to;
  if (to === "earliest" || to === "latest") return { topic, to: { kind: to } };
  if (typeof to === "object" && to !== null && !Array.isArray(to)) {
    const target = to as Record<string, unknown>;
    const keys = Object.keys(target);
    if (keys.length === 1 && keys[0] === "timestamp")
      return {
        topic,
        to: {
          kind: "timestamp",
          timestamp: expectInt(target.timestamp, "body.to.timestamp", 0, TIMESTAMP_MAX),
        },
      };
    if (keys.length === 1 && keys[0] === "offset")
      return {
        topic,
        to: { kind: "offset", offset: expectInt(target.offset, "body.to.offset", 0, OFFSET_MAX) },
      };
  }
  invalid('body.to must be "earliest", "latest", { "timestamp": T } or { "offset": N }');
}
