import * as z from "zod";
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
import { ISOLATION_LEVELS, type Isolation } from "../core/partition-transactions";
import { legalName } from "./names";
import { TopicName } from "./topic";
import { parseInput, refusal } from "./validate";

/** Group ids follow the topic-name rule (they name Durable Objects, URL paths and metrics labels). */
export const GroupId = legalName("group id", GROUP_ID_LENGTH_MAX);
export const MemberId = legalName("member id", MEMBER_ID_LENGTH_MAX);
export const IsolationLevel = z
  .enum(ISOLATION_LEVELS)
  .meta({ description: "read_committed skips aborted records and stops at the last stable offset" });
/** Where a member without a committed offset starts (Kafka's auto.offset.reset). */
export const OffsetResetPolicy = z.enum(["earliest", "latest"]);
/** The next offset to read, as Kafka commits it. */
export const Offset = z.int().min(0).max(OFFSET_MAX);
export const PartitionNumber = z.int().min(0);

export function checkGroupId(group: string): string {
  return parseInput(GroupId, group, "");
}

export function checkMemberId(memberId: string, path = "memberId"): string {
  return parseInput(MemberId, memberId, path);
}

export type JoinRequest = {
  topics: string[];
  sessionTimeoutMs: number;
  autoOffsetReset: OffsetReset;
  assignor: AssignorName;
  instanceId: string | null;
  isolation: Isolation;
};

export const JoinBody = z
  .strictObject({
    topics: z
      .array(TopicName)
      .min(1)
      .max(SUBSCRIBED_TOPICS_MAX)
      .superRefine((topics, context) => {
        if (new Set(topics).size !== topics.length) refusal(context, "names a topic twice");
      }),
    sessionTimeoutMs: z
      .int()
      .min(SESSION_TIMEOUT_MS_MIN)
      .max(SESSION_TIMEOUT_MS_MAX)
      .default(SESSION_TIMEOUT_MS_DEFAULT),
    autoOffsetReset: OffsetResetPolicy.default("latest"),
    assignor: z.enum(ASSIGNORS).default("range"),
    instanceId: MemberId.nullable().optional(),
    isolation: IsolationLevel.default("read_uncommitted"),
  })
  .meta({ id: "JoinGroupRequest" });

/** `POST /v1/groups/{group}/members` body (API.md). */
export function parseJoin(body: unknown): JoinRequest {
  const request = parseInput(JoinBody, body, "body");
  return { ...request, instanceId: request.instanceId ?? null };
}

export const EmptyBody = z.strictObject({}).optional().meta({ description: "An empty body or {}" });

/** Heartbeat and other parameterless POSTs: an empty body or `{}`. */
export function parseEmpty(body: unknown): void {
  parseInput(EmptyBody, body, "body");
}

export type OffsetCommit = { topic: string; partition: number; offset: number };
export type CommitRequest = { memberId: string; generation: number; offsets: OffsetCommit[] };

/** A list of `{ topic, partition, offset }` to commit: non-empty, bounded, no partition twice. */
export const OffsetList = z
  .array(z.strictObject({ topic: TopicName, partition: PartitionNumber, offset: Offset }))
  .min(1)
  .max(COMMIT_OFFSETS_MAX)
  .superRefine((offsets, context) => {
    const seen = new Set<string>();
    offsets.forEach(({ topic, partition }, i) => {
      const key = `${topic}/${partition}`;
      if (seen.has(key)) refusal(context, `names ${key} a second time`, undefined, [i]);
      seen.add(key);
    });
  });

export const CommitBody = z
  .strictObject({ memberId: MemberId, generation: z.int().min(0), offsets: OffsetList })
  .meta({ id: "CommitOffsetsRequest" });

/** `POST /v1/groups/{group}/offsets` body. */
export function parseCommit(body: unknown): CommitRequest {
  return parseInput(CommitBody, body, "body");
}

export type ResetTarget =
  | { kind: "earliest" }
  | { kind: "latest" }
  | { kind: "timestamp"; timestamp: number }
  | { kind: "offset"; offset: number };
export type ResetRequest = { topic: string; to: ResetTarget };

export const ResetBody = z
  .strictObject({
    topic: TopicName,
    to: z.union(
      [
        z.enum(["earliest", "latest"]),
        z.strictObject({ timestamp: z.int().min(0).max(TIMESTAMP_MAX) }),
        z.strictObject({ offset: Offset }),
      ],
      { error: 'must be "earliest", "latest", { "timestamp": T } or { "offset": N }' },
    ),
  })
  .meta({ id: "ResetOffsetsRequest" });

/** `POST /v1/groups/{group}/offsets/reset` body. */
export function parseReset(body: unknown): ResetRequest {
  const { topic, to } = parseInput(ResetBody, body, "body");
  if (typeof to === "string") return { topic, to: { kind: to } };
  if ("timestamp" in to) return { topic, to: { kind: "timestamp", timestamp: to.timestamp } };
  return { topic, to: { kind: "offset", offset: to.offset } };
}
