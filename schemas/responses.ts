import * as z from "zod";
import { ALERT_KINDS } from "../core/alerts";
import { ERRORS } from "../core/errors";
import { TOPIC_CONFIG_SPECS } from "../core/topic-config";
import { IsolationLevel, OffsetResetPolicy } from "./groups";
import { AclInput } from "./security";

/**
 * The gateway's answers (API.md), for /openapi.json and for the e2e tests that check
 * every route's real answers against it. Answers are not checked at run time: the
 * objects build them from typed code; these say what a client may rely on.
 */

const offset = z.int().min(0);
const timestampMs = z.int().min(0).meta({ description: "Milliseconds since the epoch" });
const isoTime = z.string().meta({ format: "date-time" });

export const ErrorInfo = z
  .object({
    code: z.enum(Object.keys(ERRORS) as [string, ...string[]]),
    message: z.string(),
    retriable: z.boolean(),
    logStartOffset: offset.optional(),
    highWatermark: offset.optional(),
    logEndOffset: offset.optional(),
  })
  .meta({ id: "ErrorInfo" });

/** API.md "Errors": every non-2xx answer. */
export const ErrorEnvelope = z
  .object({
    error: ErrorInfo,
    logEndOffset: offset
      .optional()
      .meta({ description: "With OFFSET_MISMATCH: where the partition's log ends" }),
    logStartOffset: offset.optional().meta({ description: "With OFFSET_OUT_OF_RANGE" }),
    highWatermark: offset.optional().meta({ description: "With OFFSET_OUT_OF_RANGE" }),
  })
  .meta({ id: "Error" });

export const TopicConfigs = z
  .strictObject(
    Object.fromEntries(
      Object.entries(TOPIC_CONFIG_SPECS).map(([name, spec]) => [
        name,
        spec.kind === "enum" ? z.enum(spec.values) : z.int(),
      ]),
    ),
  )
  .meta({ id: "TopicConfigs" });

export const PartitionInfo = z
  .object({
    partition: z.int().min(0),
    leader: z.int().min(0),
    leaderEpoch: z.int().min(0),
    replicas: z.array(z.int().min(0)),
    isr: z.array(z.int().min(0)),
    logStartOffset: offset,
    highWatermark: offset,
    lastStableOffset: offset,
    logEndOffset: offset,
  })
  .meta({ id: "PartitionInfo" });

export const TopicDescription = z
  .object({
    name: z.string(),
    partitions: z.int().min(1),
    replicationFactor: z.int().min(1),
    configs: TopicConfigs,
    partitionInfo: z.array(PartitionInfo),
  })
  .meta({ id: "TopicDescription" });

export const TopicList = z
  .object({
    topics: z.array(z.object({ name: z.string(), partitions: z.int(), replicationFactor: z.int() })),
  })
  .meta({ id: "TopicList" });

export const ProduceResult = z
  .union([
    z.object({ partition: z.int().min(0), offset, timestamp: timestampMs }),
    z.object({ partition: z.int().min(0), error: ErrorInfo }),
  ])
  .meta({ id: "ProduceResult" });

export const ProduceAnswer = z
  .object({ topic: z.string(), results: z.array(ProduceResult) })
  .meta({ id: "ProduceResponse" });
export const AcceptedAnswer = z.object({ accepted: z.int().min(1) }).meta({ id: "AcceptedResponse" });

const recordFields = {
  offset,
  timestamp: timestampMs,
  key: z.string().nullable(),
  value: z
    .unknown()
    .optional()
    .meta({ description: "The JSON value (absent when the record carries bytes)" }),
  valueBase64: z.string().optional(),
  headers: z.record(z.string(), z.string()),
};
export const FetchedRecord = z.object(recordFields).meta({ id: "Record" });

export const FetchAnswer = z
  .object({
    records: z.array(FetchedRecord),
    nextOffset: offset,
    highWatermark: offset,
    lastStableOffset: offset,
    logStartOffset: offset,
  })
  .meta({ id: "FetchResponse" });

const topicPartition = { topic: z.string(), partition: z.int().min(0) };
export const Assignment = z.object(topicPartition).meta({ id: "TopicPartition" });
export const GroupState = z.enum(["Empty", "PreparingRebalance", "Stable", "Dead"]);

export const JoinAnswer = z
  .object({ memberId: z.string(), generation: z.int().min(0), assignments: z.array(Assignment) })
  .meta({ id: "JoinGroupResponse" });
export const HeartbeatAnswer = z
  .object({ generation: z.int().min(0), assignments: z.array(Assignment), rebalancing: z.boolean() })
  .meta({ id: "HeartbeatResponse" });
export const PollAnswer = z
  .object({
    generation: z.int().min(0),
    records: z.array(z.object({ ...topicPartition, ...recordFields })),
  })
  .meta({ id: "PollResponse" });

export const CommittedOffsets = z
  .object({ offsets: z.array(z.object({ ...topicPartition, committedOffset: offset })) })
  .meta({ id: "CommittedOffsets" });
export const GroupOffsets = z
  .object({
    offsets: z.array(
      z.object({ ...topicPartition, committedOffset: offset, highWatermark: offset, lag: z.int().min(0) }),
    ),
  })
  .meta({ id: "GroupOffsets" });

export const GroupList = z
  .object({
    groups: z.array(
      z.object({ group: z.string(), state: GroupState, generation: z.int().min(0), members: z.int().min(0) }),
    ),
  })
  .meta({ id: "GroupList" });

const partitionLag = z.object({
  ...topicPartition,
  committedOffset: offset,
  highWatermark: offset,
  lag: z.int().min(0),
  history: z.array(z.int().min(0)).meta({ description: "Lag sampled by the group's alarm, oldest first" }),
});

export const GroupDescription = z
  .object({
    group: z.string(),
    state: GroupState,
    generation: z.int().min(0),
    assignor: z.string(),
    members: z.array(
      z.object({
        memberId: z.string(),
        instanceId: z.string().nullable(),
        topics: z.array(z.string()),
        sessionTimeoutMs: z.int(),
        autoOffsetReset: OffsetResetPolicy,
        isolation: IsolationLevel,
        generation: z.int().min(0),
        assignments: z.array(Assignment),
      }),
    ),
    lag: z.object({
      total: z.int().min(0),
      max: z.object({ ...topicPartition, lag: z.int().min(0) }).nullable(),
      partitions: z.array(partitionLag),
    }),
  })
  .meta({ id: "GroupDescription" });

export const ProducerAnswer = z
  .object({ id: z.string(), epoch: z.int().min(0) })
  .meta({ id: "ProducerResponse" });

const TransactionState = z.enum([
  "Empty",
  "Ongoing",
  "PrepareCommit",
  "PrepareAbort",
  "CompleteCommit",
  "CompleteAbort",
]);
export const TransactionEnd = z.object({ state: TransactionState }).meta({ id: "TransactionEndResponse" });
export const TransactionOffsetsAnswer = z
  .object({ group: z.string(), offsets: z.array(z.object({ ...topicPartition, offset })) })
  .meta({ id: "TransactionOffsetsResponse" });
export const TransactionDescription = z
  .object({
    transactionalId: z.string(),
    state: TransactionState,
    producer: ProducerAnswer,
    partitions: z.array(Assignment),
    groups: z.array(z.string()),
    startedAt: isoTime.optional(),
    transactionTimeoutMs: z.int().min(1),
  })
  .meta({ id: "TransactionDescription" });

export const KeyAnswer = z
  .object({ principal: z.string(), keyId: z.string(), token: z.string() })
  .meta({ id: "ApiKey" });
export const PrincipalList = z
  .object({
    principals: z.array(
      z.object({
        principal: z.string(),
        keys: z.array(z.object({ keyId: z.string(), createdAt: timestampMs })),
      }),
    ),
  })
  .meta({ id: "PrincipalList" });
export const AclList = z.object({ acls: z.array(AclInput) }).meta({ id: "AclList" });
export const DeletedAnswer = z.object({ deleted: z.int().min(0) }).meta({ id: "DeletedCount" });
export const TokenAnswer = z
  .object({ token: z.string(), expiresAt: timestampMs })
  .meta({ id: "ScopedToken" });
const quotaFields = {
  principal: z.string(),
  produceBytesPerS: z.int().min(1).optional(),
  fetchBytesPerS: z.int().min(1).optional(),
  requestsPerS: z.int().min(1).optional(),
};
export const QuotaAnswer = z.object(quotaFields).meta({ id: "PrincipalQuota" });
export const QuotaList = z.object({ quotas: z.array(QuotaAnswer) }).meta({ id: "QuotaList" });

const Delivery = z.object({
  id: z.int(),
  state: z.enum(["firing", "resolved"]),
  createdAt: isoTime,
  outcome: z.enum(["pending", "delivered", "failed"]),
  tries: z.int().min(0),
  lastAttemptAt: isoTime.optional(),
  lastStatus: z.int().optional(),
  lastError: z.string().optional(),
  nextAttemptAt: isoTime.optional(),
});
export const AlertView = z
  .object({
    name: z.string(),
    kind: z.enum(ALERT_KINDS),
    group: z.string().optional(),
    topic: z.string().optional(),
    maxLag: z.int().optional(),
    maxLagMs: z.int().optional(),
    forMs: z.int(),
    webhook: z.object({ url: z.string(), signed: z.boolean() }),
    state: z.enum(["inactive", "pending", "firing"]),
    value: z.number().nullable(),
    activeSince: isoTime.optional(),
    firingSince: isoTime.optional(),
    deliveries: z.array(Delivery),
  })
  .meta({ id: "Alert" });
export const AlertList = z.object({ alerts: z.array(AlertView) }).meta({ id: "AlertList" });

export const Health = z.object({ status: z.literal("ok") }).meta({ id: "Health" });

/** GET /openapi.json: this document (OpenAPI 3.1). */
export const OpenApiDocument = z
  .looseObject({ openapi: z.literal("3.1.0"), info: z.looseObject({}), paths: z.looseObject({}) })
  .meta({ id: "OpenApiDocument" });

/** GET /console/config.json: what the console needs before it calls the API. */
export const ConsoleConfig = z
  .object({
    auth: z.enum(["none", "required"]).meta({ description: "required: the console asks for a token first" }),
  })
  .meta({ id: "ConsoleConfig" });
