import * as z from "zod";
import type { ErrorCode } from "../core/errors";
import { AlertName, AlertRuleBody } from "./alerts";
import { EmptyBody } from "./groups";
import { type Answer, CLUSTER_ERRORS, created, noContent, type Operation, ok } from "./openapi-routes";
import { WebSocketQuery } from "./query";
import * as answers from "./responses";
import { AclFilterInput, AclInput, MintBody, PrincipalName, QuotaBody } from "./security";

/** The route table's administrative half: alerts, security, streaming and operations. */

const STREAM_METHODS = ["put", "post", "get", "head", "delete"] as const;
const STREAM_SUMMARIES: Record<(typeof STREAM_METHODS)[number], string> = {
  put: "create (or fork) a stream",
  post: "append to (or close) a stream",
  get: "read a stream (catch-up, long-poll, SSE)",
  head: "a stream's metadata",
  delete: "delete a stream",
};
const STREAM_ANSWERS: Record<(typeof STREAM_METHODS)[number], Record<number, Answer>> = {
  put: { 201: { description: "Created" }, 200: { description: "Already exists as asked" } },
  post: {},
  get: { 200: { description: "Bytes from the offset on", contentType: "*/*" } },
  head: { 200: { description: "The stream's headers" } },
  delete: {},
};
const STREAM_ERRORS: ErrorCode[] = [
  "STREAM_NOT_FOUND",
  "STREAM_GONE",
  "STREAM_ALREADY_EXISTS",
  "STREAM_CONFLICT",
  "STREAM_CLOSED",
  "STREAM_SEQUENCE_GAP",
  "STREAM_PRODUCER_FENCED",
  "TOPIC_AUTHORIZATION_FAILED",
  "ORIGIN_NOT_ALLOWED",
];

export const ADMIN_OPERATIONS: Operation[] = [
  // ---- alerts ----
  {
    method: "put",
    path: "/v1/alerts/{name}",
    tag: "Alerts",
    summary: "Create or replace an alert rule",
    params: { name: AlertName },
    body: AlertRuleBody,
    answers: ok(answers.AlertView),
    errors: CLUSTER_ERRORS,
  },
  {
    method: "get",
    path: "/v1/alerts",
    tag: "Alerts",
    summary: "Alert rules with their state and last deliveries",
    answers: ok(answers.AlertList),
    errors: CLUSTER_ERRORS,
  },
  {
    method: "get",
    path: "/v1/alerts/{name}",
    tag: "Alerts",
    summary: "One alert rule",
    params: { name: AlertName },
    answers: ok(answers.AlertView),
    errors: [...CLUSTER_ERRORS, "ALERT_NOT_FOUND"],
  },
  {
    method: "delete",
    path: "/v1/alerts/{name}",
    tag: "Alerts",
    summary: "Delete an alert rule",
    params: { name: AlertName },
    answers: noContent,
    errors: [...CLUSTER_ERRORS, "ALERT_NOT_FOUND"],
  },
  // ---- security ----
  {
    method: "post",
    path: "/v1/principals/{principal}/keys",
    tag: "Security",
    summary: "Create an API key (its token is shown once)",
    params: { principal: PrincipalName },
    body: EmptyBody,
    answers: created(answers.KeyAnswer),
    errors: CLUSTER_ERRORS,
  },
  {
    method: "get",
    path: "/v1/principals",
    tag: "Security",
    summary: "Principals and their keys",
    answers: ok(answers.PrincipalList),
    errors: CLUSTER_ERRORS,
  },
  {
    method: "delete",
    path: "/v1/principals/{principal}/keys/{keyId}",
    tag: "Security",
    summary: "Revoke an API key",
    params: { principal: PrincipalName, keyId: z.string() },
    answers: noContent,
    errors: [...CLUSTER_ERRORS, "API_KEY_NOT_FOUND"],
  },
  {
    method: "post",
    path: "/v1/acls",
    tag: "Security",
    summary: "Add an ACL",
    body: AclInput,
    answers: created(AclInput),
    errors: CLUSTER_ERRORS,
  },
  {
    method: "get",
    path: "/v1/acls",
    tag: "Security",
    summary: "List ACLs matching a filter",
    query: AclFilterInput,
    answers: ok(answers.AclList),
    errors: CLUSTER_ERRORS,
  },
  {
    method: "delete",
    path: "/v1/acls",
    tag: "Security",
    summary: "Delete the ACLs matching a filter",
    body: AclFilterInput,
    answers: ok(answers.DeletedAnswer),
    errors: CLUSTER_ERRORS,
  },
  {
    method: "post",
    path: "/v1/tokens",
    tag: "Security",
    summary: "Mint a scoped, expiring token",
    body: MintBody,
    answers: created(answers.TokenAnswer),
    errors: CLUSTER_ERRORS,
  },
  {
    method: "put",
    path: "/v1/quotas/{principal}",
    tag: "Security",
    summary: "Set a principal's quota",
    params: { principal: PrincipalName },
    body: QuotaBody,
    answers: ok(answers.QuotaAnswer),
    errors: CLUSTER_ERRORS,
  },
  {
    method: "get",
    path: "/v1/quotas",
    tag: "Security",
    summary: "List quotas",
    answers: ok(answers.QuotaList),
    errors: CLUSTER_ERRORS,
  },
  {
    method: "delete",
    path: "/v1/quotas/{principal}",
    tag: "Security",
    summary: "Remove a principal's quota",
    params: { principal: PrincipalName },
    answers: noContent,
    errors: CLUSTER_ERRORS,
  },
  // ---- WebSocket and the Durable Streams protocol ----
  {
    method: "get",
    path: "/v1/ws",
    tag: "Streaming",
    summary: 'WebSocket: subscribe, credit, commit, produce (API.md "WebSocket")',
    query: WebSocketQuery,
    answers: { 101: { description: "Switching protocols" } },
    errors: ["ORIGIN_NOT_ALLOWED"],
  },
  ...STREAM_METHODS.map(
    (method): Operation => ({
      method,
      path: "/v1/stream/{name}",
      tag: "Streaming",
      summary: `Durable Streams protocol: ${STREAM_SUMMARIES[method]}`,
      params: { name: z.string().meta({ description: "The stream's path; may contain '/'" }) },
      ...(method === "put" || method === "post"
        ? {
            body: z.string().meta({ description: "Bytes in the stream's content type" }),
            bodyContentType: "*/*",
          }
        : {}),
      answers: {
        ...STREAM_ANSWERS[method],
        204: { description: "Done (headers carry Stream-Next-Offset etc.)" },
      },
      errors: STREAM_ERRORS,
    }),
  ),
  // ---- operations ----
  {
    method: "get",
    path: "/healthz",
    tag: "Operations",
    summary: "Liveness",
    answers: ok(answers.Health),
    errors: [],
    open: true,
  },
  {
    method: "get",
    path: "/metrics",
    tag: "Operations",
    summary: "Prometheus metrics (edgelog's and kafka_exporter's names)",
    answers: { 200: { description: "Prometheus text format", contentType: "text/plain" } },
    errors: CLUSTER_ERRORS,
  },
  {
    method: "get",
    path: "/openapi.json",
    tag: "Operations",
    summary: "This document",
    answers: { 200: { description: "OpenAPI 3.1", schema: answers.OpenApiDocument } },
    errors: [],
    open: true,
  },
  {
    method: "get",
    path: "/docs/",
    tag: "Operations",
    summary: "The API reference, rendered from this document (its files under /docs/)",
    answers: { 200: { description: "HTML", contentType: "text/html" } },
    errors: [],
    open: true,
  },
  {
    method: "get",
    path: "/console/config.json",
    tag: "Operations",
    summary: "The console's configuration (whether the API needs a token)",
    answers: ok(answers.ConsoleConfig),
    errors: [],
    open: true,
  },
  {
    method: "get",
    path: "/console/",
    tag: "Operations",
    summary: "The web console (its files under /console/)",
    answers: { 200: { description: "HTML", contentType: "text/html" } },
    errors: [],
    open: true,
  },
];
