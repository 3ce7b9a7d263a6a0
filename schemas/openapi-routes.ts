import * as z from "zod";
import type { ErrorCode } from "../core/errors";
import { CommitBody, EmptyBody, GroupId, JoinBody, MemberId, ResetBody } from "./groups";
import { ProduceBody } from "./produce";
import { EndTransactionBody, InitProducerBody, TransactionalId, TransactionOffsetsBody } from "./producers";
import { FetchQuery, NoQuery, PartitionParam, PartitionProduceQuery, PollQuery, ProduceQuery } from "./query";
import * as answers from "./responses";
import { AlterConfigsBody, CreateTopicBody, TopicName } from "./topic";

/**
 * Every route of the gateway with the schemas it reads and answers: the OpenAPI
 * document is built from this table (schemas/openapi-document.ts), the routes read
 * their input with the same schemas, and a test checks that the table and the
 * gateway's routes are the same set.
 */

export type Method = "get" | "post" | "put" | "patch" | "delete" | "head";

export type Answer = { description: string; schema?: z.ZodType; contentType?: string };

export type Operation = {
  method: Method;
  /** OpenAPI's path template: /v1/topics/{topic}. */
  path: string;
  tag: string;
  summary: string;
  params?: Record<string, z.ZodType>;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Content types other than JSON the body may have (the protocol routes take any). */
  bodyContentType?: string;
  answers: Record<number, Answer>;
  /** The error codes the route answers besides the ones every route may (see COMMON_ERRORS). */
  errors: ErrorCode[];
  /** Not under the gateway's credentials (GET /healthz, the docs, the console's files). */
  open?: boolean;
};

/** Errors any route with credentials may answer. */
export const COMMON_ERRORS: ErrorCode[] = [
  "INVALID_REQUEST",
  "UNAUTHENTICATED",
  "HOST_NOT_ALLOWED",
  "THROTTLING_QUOTA_EXCEEDED",
];

const topic = { topic: TopicName };
const partition = { ...topic, partition: PartitionParam };
const group = { group: GroupId };
const member = { ...group, memberId: MemberId };
export const ok = (schema: z.ZodType, description = "OK"): Record<number, Answer> => ({
  200: { description, schema },
});
export const created = (schema: z.ZodType): Record<number, Answer> => ({
  201: { description: "Created", schema },
});
export const noContent: Record<number, Answer> = { 204: { description: "Done" } };
const TOPIC_ERRORS: ErrorCode[] = ["TOPIC_AUTHORIZATION_FAILED", "UNKNOWN_TOPIC_OR_PARTITION"];
const PRODUCE_ERRORS: ErrorCode[] = [
  ...TOPIC_ERRORS,
  "INVALID_RECORD",
  "RECORD_TOO_LARGE",
  "MESSAGE_TOO_LARGE",
  "OUT_OF_ORDER_SEQUENCE_NUMBER",
  "DUPLICATE_SEQUENCE_NUMBER",
  "PRODUCER_FENCED",
  "UNKNOWN_PRODUCER_ID",
  "INVALID_TXN_STATE",
  "NOT_ENOUGH_REPLICAS",
  "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
  "REQUEST_TIMED_OUT",
  "LEADER_NOT_AVAILABLE",
];
const produced = {
  200: { description: "Stored (one result per record, in request order)", schema: answers.ProduceAnswer },
  202: { description: "acks=0: accepted, nothing promised", schema: answers.AcceptedAnswer },
};
const GROUP_ERRORS: ErrorCode[] = ["GROUP_AUTHORIZATION_FAILED", "GROUP_ID_NOT_FOUND"];
const MEMBER_ERRORS: ErrorCode[] = [
  ...GROUP_ERRORS,
  "UNKNOWN_MEMBER_ID",
  "ILLEGAL_GENERATION",
  "REBALANCE_IN_PROGRESS",
  "FENCED_INSTANCE_ID",
];
export const CLUSTER_ERRORS: ErrorCode[] = ["CLUSTER_AUTHORIZATION_FAILED"];
const TXN_ERRORS: ErrorCode[] = [
  "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
  "PRODUCER_FENCED",
  "INVALID_PRODUCER_EPOCH",
  "INVALID_TXN_STATE",
  "CONCURRENT_TRANSACTIONS",
  "UNKNOWN_PRODUCER_ID",
];
const recordsAnswer = (schema: z.ZodType): Record<number, Answer> => ({
  200: { description: "Records (JSON), or with Accept: text/event-stream a live tail over SSE", schema },
});

/** The data path: topics, records, groups, producers and transactions. */
export const DATA_OPERATIONS: Operation[] = [
  // ---- topics ----
  {
    method: "post",
    path: "/v1/topics",
    tag: "Topics",
    summary: "Create a topic",
    body: CreateTopicBody,
    answers: created(answers.TopicDescription),
    errors: [
      "INVALID_TOPIC_EXCEPTION",
      "INVALID_PARTITIONS",
      "INVALID_REPLICATION_FACTOR",
      "INVALID_CONFIG",
      "TOPIC_ALREADY_EXISTS",
      "TOPIC_AUTHORIZATION_FAILED",
      "CLUSTER_AUTHORIZATION_FAILED",
    ],
  },
  {
    method: "get",
    path: "/v1/topics",
    tag: "Topics",
    summary: "List topics",
    answers: ok(answers.TopicList),
    errors: [],
  },
  {
    method: "get",
    path: "/v1/topics/{topic}",
    tag: "Topics",
    summary: "Describe a topic and its partitions",
    params: topic,
    answers: ok(answers.TopicDescription),
    errors: [...TOPIC_ERRORS, "INVALID_TOPIC_EXCEPTION"],
  },
  {
    method: "patch",
    path: "/v1/topics/{topic}",
    tag: "Topics",
    summary: "Alter a topic's configs",
    params: topic,
    body: AlterConfigsBody,
    answers: ok(answers.TopicDescription),
    errors: [...TOPIC_ERRORS, "INVALID_CONFIG"],
  },
  {
    method: "delete",
    path: "/v1/topics/{topic}",
    tag: "Topics",
    summary: "Delete a topic, its data and its groups' offsets for it",
    params: topic,
    answers: noContent,
    errors: TOPIC_ERRORS,
  },
  // ---- records ----
  {
    method: "post",
    path: "/v1/topics/{topic}/records",
    tag: "Records",
    summary: "Produce records",
    params: topic,
    query: ProduceQuery,
    body: ProduceBody,
    answers: produced,
    errors: PRODUCE_ERRORS,
  },
  {
    method: "post",
    path: "/v1/topics/{topic}/partitions/{partition}/records",
    tag: "Records",
    summary: "Produce to one partition, optionally only at an expected offset",
    params: partition,
    query: PartitionProduceQuery,
    body: ProduceBody,
    answers: produced,
    errors: [...PRODUCE_ERRORS, "OFFSET_MISMATCH"],
  },
  {
    method: "get",
    path: "/v1/topics/{topic}/partitions/{partition}/records",
    tag: "Records",
    summary: "Fetch records from an offset or a time (long-poll with waitMs)",
    params: partition,
    query: FetchQuery,
    answers: recordsAnswer(answers.FetchAnswer),
    errors: [...TOPIC_ERRORS, "OFFSET_OUT_OF_RANGE", "LEADER_NOT_AVAILABLE"],
  },
  {
    method: "post",
    path: "/v1/topics/{topic}/events",
    tag: "Records",
    summary: "Produce CloudEvents (structured, batched or binary mode)",
    params: topic,
    query: ProduceQuery,
    body: z.unknown().meta({
      description:
        "A CloudEvent (application/cloudevents+json), a batch (application/cloudevents-batch+json) or binary mode (ce-* headers)",
    }),
    bodyContentType: "application/cloudevents+json",
    answers: produced,
    errors: PRODUCE_ERRORS,
  },
  // ---- consumer groups ----
  {
    method: "get",
    path: "/v1/groups",
    tag: "Consumer groups",
    summary: "List groups",
    answers: ok(answers.GroupList),
    errors: [],
  },
  {
    method: "get",
    path: "/v1/groups/{group}",
    tag: "Consumer groups",
    summary: "Describe a group: members, assignments, lag and lag history",
    params: group,
    answers: ok(answers.GroupDescription),
    errors: GROUP_ERRORS,
  },
  {
    method: "delete",
    path: "/v1/groups/{group}",
    tag: "Consumer groups",
    summary: "Delete an Empty group",
    params: group,
    answers: noContent,
    errors: [...GROUP_ERRORS, "NON_EMPTY_GROUP"],
  },
  {
    method: "post",
    path: "/v1/groups/{group}/members",
    tag: "Consumer groups",
    summary: "Join a group",
    params: group,
    body: JoinBody,
    answers: created(answers.JoinAnswer),
    errors: [
      ...GROUP_ERRORS,
      "TOPIC_AUTHORIZATION_FAILED",
      "UNKNOWN_TOPIC_OR_PARTITION",
      "FENCED_INSTANCE_ID",
      "INVALID_TOPIC_EXCEPTION",
    ],
  },
  {
    method: "post",
    path: "/v1/groups/{group}/members/{memberId}/heartbeat",
    tag: "Consumer groups",
    summary: "Heartbeat",
    params: member,
    body: EmptyBody,
    answers: ok(answers.HeartbeatAnswer),
    errors: MEMBER_ERRORS,
  },
  {
    method: "get",
    path: "/v1/groups/{group}/members/{memberId}/records",
    tag: "Consumer groups",
    summary: "Poll the member's partitions",
    params: member,
    query: PollQuery,
    answers: ok(answers.PollAnswer),
    errors: [...MEMBER_ERRORS, "TOPIC_AUTHORIZATION_FAILED"],
  },
  {
    method: "delete",
    path: "/v1/groups/{group}/members/{memberId}",
    tag: "Consumer groups",
    summary: "Leave the group",
    params: member,
    answers: noContent,
    errors: MEMBER_ERRORS,
  },
  {
    method: "post",
    path: "/v1/groups/{group}/offsets",
    tag: "Consumer groups",
    summary: "Commit offsets (the next offset to read)",
    params: group,
    body: CommitBody,
    answers: ok(answers.CommittedOffsets),
    errors: [
      ...MEMBER_ERRORS,
      "PARTITION_NOT_ASSIGNED",
      "TOPIC_AUTHORIZATION_FAILED",
      "INVALID_TOPIC_EXCEPTION",
    ],
  },
  {
    method: "get",
    path: "/v1/groups/{group}/offsets",
    tag: "Consumer groups",
    summary: "Committed offsets and lag",
    params: group,
    answers: ok(answers.GroupOffsets),
    errors: GROUP_ERRORS,
  },
  {
    method: "post",
    path: "/v1/groups/{group}/offsets/reset",
    tag: "Consumer groups",
    summary: "Reset an Empty group's offsets",
    params: group,
    body: ResetBody,
    answers: ok(answers.CommittedOffsets),
    errors: [
      ...GROUP_ERRORS,
      "NON_EMPTY_GROUP",
      "TOPIC_AUTHORIZATION_FAILED",
      "UNKNOWN_TOPIC_OR_PARTITION",
      "INVALID_TOPIC_EXCEPTION",
    ],
  },
  // ---- producers and transactions ----
  {
    method: "post",
    path: "/v1/producers",
    tag: "Producers and transactions",
    summary: "Start an idempotent or transactional producer",
    body: InitProducerBody,
    answers: ok(answers.ProducerAnswer),
    errors: ["TRANSACTIONAL_ID_AUTHORIZATION_FAILED", "CONCURRENT_TRANSACTIONS"],
  },
  {
    method: "post",
    path: "/v1/transactions/{transactionalId}/commit",
    tag: "Producers and transactions",
    summary: "Commit the open transaction",
    params: { transactionalId: TransactionalId },
    body: EndTransactionBody,
    answers: ok(answers.TransactionEnd),
    errors: TXN_ERRORS,
  },
  {
    method: "post",
    path: "/v1/transactions/{transactionalId}/abort",
    tag: "Producers and transactions",
    summary: "Abort the open transaction",
    params: { transactionalId: TransactionalId },
    body: EndTransactionBody,
    answers: ok(answers.TransactionEnd),
    errors: TXN_ERRORS,
  },
  {
    method: "post",
    path: "/v1/transactions/{transactionalId}/offsets",
    tag: "Producers and transactions",
    summary: "Send a group's offsets to the transaction",
    params: { transactionalId: TransactionalId },
    body: TransactionOffsetsBody,
    answers: ok(answers.TransactionOffsetsAnswer),
    errors: [...TXN_ERRORS, ...MEMBER_ERRORS, "PARTITION_NOT_ASSIGNED", "TOPIC_AUTHORIZATION_FAILED"],
  },
  {
    method: "get",
    path: "/v1/transactions/{transactionalId}",
    tag: "Producers and transactions",
    summary: "Describe a transactionalId's transaction",
    params: { transactionalId: TransactionalId },
    answers: ok(answers.TransactionDescription),
    errors: ["TRANSACTIONAL_ID_AUTHORIZATION_FAILED", "TRANSACTIONAL_ID_NOT_FOUND"],
  },
];

/** Query-less routes still refuse unknown parameters: NoQuery is their schema. */
export const queryOf = (operation: Operation): z.ZodObject => operation.query ?? NoQuery;
