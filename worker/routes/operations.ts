import { Hono } from "hono";
import { CLUSTER_RESOURCE } from "../../core/acl";
import { mapConcurrent } from "../../core/concurrency";
import { FAN_OUT_CONCURRENCY_MAX } from "../../core/limits";
import { authorize } from "../../durable-objects/authorizer";
import type { Env } from "../../durable-objects/env";
import { consumerGroup, topicRegistry } from "../../durable-objects/stubs";
import { NoQuery, readQuery } from "../../schemas/query";
import { partitionMetrics } from "../describe";
import type { GatewayEnv } from "../gateway-env";
import { renderGatewayMetrics } from "../gateway-metrics";
import { type GroupView, type PartitionView, renderGroups, renderPartitions } from "../metrics-exposition";

/** Health and Prometheus metrics (API.md "Operations"). */
export const operationRoutes = new Hono<GatewayEnv>();

operationRoutes.get("/healthz", (c) => {
  readQuery(c.req.url, NoQuery);
  return c.json({ status: "ok" });
});

operationRoutes.get("/metrics", async (c) => {
  readQuery(c.req.url, NoQuery);
  authorize(c.get("auth").rights, "cluster", CLUSTER_RESOURCE, "describe");
  const topics = await topicRegistry(c.env).listTopics();
  // One topic at a time; each fans out to its partitions (bounded by FAN_OUT_CONCURRENCY_MAX).
  const partitions: PartitionView[] = [];
  for (const topic of topics) {
    const metrics = await partitionMetrics(c.env, topic);
    metrics.forEach((m, partition) => {
      if (m) partitions.push({ topic, partition, metrics: m });
    });
  }
  const out =
    renderPartitions(topics, partitions) + renderGroups(await groupViews(c.env)) + renderGatewayMetrics();
  return c.body(out, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
});

/** Every group's summary and committed offsets with lag (at most 5 s old). */
async function groupViews(env: Env): Promise<GroupView[]> {
  const names = await topicRegistry(env).listGroups();
  const views = await mapConcurrent(names, FAN_OUT_CONCURRENCY_MAX, async (name) => {
    const stub = consumerGroup(env, name);
    const [summary, offsets] = await Promise.all([stub.summary(), stub.listOffsets()]);
    return summary === null ? null : { name, summary, offsets: offsets.ok ? offsets.value.offsets : [] };
  });
  return views.filter((v) => v !== null);
}
