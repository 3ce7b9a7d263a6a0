import { Hono } from "hono";
import * as z from "zod";
import { CLUSTER_RESOURCE } from "../../core/acl";
import { withTimeout } from "../../core/concurrency";
import { EdgelogError, ok } from "../../core/errors";
import { authorize } from "../../durable-objects/authorizer";
import type { PartitionInfo } from "../../durable-objects/contract";
import { FAULT_MODES } from "../../durable-objects/faults";
import { replicaStub } from "../../durable-objects/stubs";
import { invalid } from "../../schemas/input";
import { NoQuery, pathInt, readQuery } from "../../schemas/query";
import { TopicName } from "../../schemas/topic";
import { parseInput } from "../../schemas/validate";
import { readJsonBody } from "../body";
import { maxRequestBytes } from "../config";
import type { GatewayEnv } from "../gateway-env";
import { getTopic } from "../topic-cache";

/**
 * Test-only routes, mounted only when fault injection is compiled in
 * (EDGELOG_FAULTS=1 locally): make a replica fail, hang, fail after committing,
 * or reset; and read every replica's own view of a partition.
 */
export const faultRoutes = new Hono<GatewayEnv>();

// Even in a test build, with credentials on, only a cluster administrator injects faults.
faultRoutes.use((c, next) => {
  authorize(c.get("auth").rights, "cluster", CLUSTER_RESOURCE, "alter");
  return next();
});

/** `POST /v1/_faults`: which replica of which partition, and what to do to it. */
const FaultBody = z.strictObject({
  topic: TopicName,
  partition: z.int().min(0),
  replica: z.int().min(0),
  fault: z.enum(FAULT_MODES),
});

/** A faulty replica's answer is not awaited longer than this. */
const REPLICA_VIEW_TIMEOUT_MS = 1_000;

faultRoutes.post("/", async (c) => {
  readQuery(c.req.url, NoQuery);
  const body = parseInput(FaultBody, await readJsonBody(c.req.raw, maxRequestBytes(c.env)), "body");
  const topic = await getTopic(c.env, body.topic);
  const { partition, replica, fault } = body;
  if (partition >= topic.partitions) invalid(`body.partition must be below ${topic.partitions}`);
  if (replica >= topic.replicationFactor) invalid(`body.replica must be below ${topic.replicationFactor}`);
  try {
    const result = await replicaStub(c.env, topic.name, partition, replica).injectFault(fault);
    if (!result.ok) throw new EdgelogError(result.error.code, result.error.message);
  } catch (error) {
    if (fault !== "reset") throw error; // a reset aborts the object mid-call: that is the point
  }
  return c.json({ topic: topic.name, partition, replica, fault });
});

faultRoutes.get("/replicas/:topic/:partition", async (c) => {
  readQuery(c.req.url, NoQuery);
  const topic = await getTopic(c.env, c.req.param("topic"));
  const partition = pathInt(c.req.param("partition"), "partition");
  if (partition >= topic.partitions) invalid(`partition must be below ${topic.partitions}, got ${partition}`);
  const replicas = await Promise.all(
    Array.from({ length: topic.replicationFactor }, (_, r) =>
      withTimeout<PartitionInfo | null>(
        replicaStub(c.env, topic.name, partition, r).describe(topic.topicId),
        REPLICA_VIEW_TIMEOUT_MS,
        "describe",
      ).catch(() => null),
    ),
  );
  return c.json(ok(replicas).value);
});
