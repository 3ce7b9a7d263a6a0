import { Hono } from "hono";
import { CLUSTER_RESOURCE } from "../../core/acl";
import { mapConcurrent } from "../../core/concurrency";
import { labelValue } from "../../core/histogram";
import { FAN_OUT_CONCURRENCY_MAX } from "../../core/limits";
import { authorize } from "../../durable-objects/authorizer";
import type { PartitionMetrics } from "../../durable-objects/contract";
import type { Env } from "../../durable-objects/env";
import { consumerGroup, topicRegistry } from "../../durable-objects/stubs";
import { readQuery } from "../../schemas/query";
import { partitionMetrics } from "../describe";
import type { GatewayEnv } from "../gateway-env";
import { gatewayMetrics } from "../gateway-metrics";

/** Health and Prometheus metrics (API.md "Operations"). */
export const operationRoutes = new Hono<GatewayEnv>();

operationRoutes.get("/healthz", (c) => {
  readQuery(c.req.url, []);
  return c.json({ status: "ok" });
});

/** A partition series: name, Prometheus type, help text, and its value in a partition's metrics. */
type Series = [name: string, type: "gauge" | "counter", help: string, value: (m: PartitionMetrics) => number];

// biome-ignore format: a table, one series a row
const PARTITION_SERIES: Series[] = [
  ["edgelog_partition_log_start_offset", "gauge", "First offset still in the log.", (m) => m.logStartOffset],
  ["edgelog_partition_log_end_offset", "gauge", "Offset the next appended record gets.", (m) => m.logEndOffset],
  ["edgelog_partition_high_watermark", "gauge", "Offset below which records are readable.", (m) => m.highWatermark],
  ["edgelog_partition_leader_epoch", "gauge", "Epoch of the partition's current leader.", (m) => m.leaderEpoch],
  ["edgelog_partition_isr_size", "gauge", "Replicas in sync with the leader, leader included.", (m) => m.isr.length],
  ["edgelog_partition_under_replicated", "gauge", "1 when the ISR is smaller than the replication factor.", (m) => (m.isr.length < m.replicationFactor ? 1 : 0)],
  ["edgelog_partition_produce_requests_total", "counter", "Appends handled by the leader since it started.", (m) => m.produceRequests],
  ["edgelog_partition_produce_records_total", "counter", "Records appended by the leader since it started.", (m) => m.produceRecords],
  ["edgelog_partition_fetch_requests_total", "counter", "Fetches served by the leader since it started.", (m) => m.fetchRequests],
  ["edgelog_partition_fetch_records_total", "counter", "Records returned by the leader since it started.", (m) => m.fetchRecords],
];

function header(name: string, type: string, help: string): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
}

operationRoutes.get("/metrics", async (c) => {
  readQuery(c.req.url, []);
  authorize(c.get("auth").rights, "cluster", CLUSTER_RESOURCE, "describe");
  const topics = await topicRegistry(c.env).listTopics();
  const partitions = topics.flatMap((topic) =>
    Array.from({ length: topic.partitions }, (_, p) => ({ topic, p })),
  );
  // One topic at a time; each fans out to its partitions (bounded by FAN_OUT_CONCURRENCY_MAX).
  const metrics = [];
  for (const topic of topics) metrics.push(...(await partitionMetrics(c.env, topic)));
  const labels = partitions.map(({ topic, p }) => `topic="${labelValue(topic.name)}",partition="${p}"`);
  let out = "";
  for (const [name, type, help, value] of PARTITION_SERIES) {
    out += header(name, type, help);
    metrics.forEach((m, i) => {
      if (m) out += `${name}{${labels[i]}} ${value(m)}\n`;
    });
  }
  out += await groupMetrics(c.env);
  out += header(
    "edgelog_gateway_requests_total",
    "counter",
    "Produce and fetch answers of this gateway isolate, by status class.",
  );
  for (const [key, count] of gatewayMetrics.requests) {
    const [api, status] = key.split(" ");
    out += `edgelog_gateway_requests_total{api="${api}",status="${status}"} ${count}\n`;
  }
  out += header(
    "edgelog_produce_latency_ms",
    "histogram",
    "Produce request latency in this gateway isolate.",
  );
  out += gatewayMetrics.produceLatencyMs.render("edgelog_produce_latency_ms");
  out += header(
    "edgelog_fetch_latency_ms",
    "histogram",
    "Fetch request latency in this gateway isolate (long-polls included).",
  );
  out += gatewayMetrics.fetchLatencyMs.render("edgelog_fetch_latency_ms");
  return c.body(out, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
});

/** Per group: members, and per partition its committed offset and lag (at most 5 s old). */
async function groupMetrics(env: Env): Promise<string> {
  const names = await topicRegistry(env).listGroups();
  const groups = await mapConcurrent(names, FAN_OUT_CONCURRENCY_MAX, async (name) => {
    const stub = consumerGroup(env, name);
    const [summary, offsets] = await Promise.all([stub.summary(), stub.listOffsets()]);
    return { name, summary, offsets: offsets.ok ? offsets.value.offsets : [] };
  });
  let members = header("edgelog_consumergroup_members", "gauge", "Members of the consumer group.");
  let committed = header(
    "edgelog_consumergroup_committed_offset",
    "gauge",
    "Committed offset (next to read) per partition.",
  );
  let lag = header(
    "edgelog_consumergroup_lag",
    "gauge",
    "High watermark minus committed offset, per partition.",
  );
  for (const g of groups) {
    if (!g.summary) continue;
    const group = `group="${labelValue(g.name)}"`;
    members += `edgelog_consumergroup_members{${group},state="${g.summary.state}"} ${g.summary.members}\n`;
    for (const o of g.offsets) {
      const labels = `${group},topic="${labelValue(o.topic)}",partition="${o.partition}"`;
      committed += `edgelog_consumergroup_committed_offset{${labels}} ${o.committedOffset}\n`;
      lag += `edgelog_consumergroup_lag{${labels}} ${o.lag}\n`;
    }
  }
  return members + committed + lag;
}
