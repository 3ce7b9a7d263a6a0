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

type Series = {
  name: string;
  type: "gauge" | "counter";
  help: string;
  value: (m: PartitionMetrics) => number;
};

const PARTITION_SERIES: Series[] = [
  {
    name: "edgelog_partition_log_start_offset",
    type: "gauge",
    help: "First offset still in the log.",
    value: (m) => m.logStartOffset,
  },
  {
    name: "edgelog_partition_log_end_offset",
    type: "gauge",
    help: "Offset the next appended record gets.",
    value: (m) => m.logEndOffset,
  },
  {
    name: "edgelog_partition_high_watermark",
    type: "gauge",
    help: "Offset below which records are readable.",
    value: (m) => m.highWatermark,
  },
  {
    name: "edgelog_partition_leader_epoch",
    type: "gauge",
    help: "Epoch of the partition's current leader.",
    value: (m) => m.leaderEpoch,
  },
  {
    name: "edgelog_partition_isr_size",
    type: "gauge",
    help: "Replicas in sync with the leader, leader included.",
    value: (m) => m.isr.length,
  },
  {
    name: "edgelog_partition_under_replicated",
    type: "gauge",
    help: "1 when the ISR is smaller than the replication factor.",
    value: (m) => (m.isr.length < m.replicationFactor ? 1 : 0),
  },
  {
    name: "edgelog_partition_produce_requests_total",
    type: "counter",
    help: "Appends handled by the leader since it started.",
    value: (m) => m.produceRequests,
  },
  {
    name: "edgelog_partition_produce_records_total",
    type: "counter",
    help: "Records appended by the leader since it started.",
    value: (m) => m.produceRecords,
  },
  {
    name: "edgelog_partition_fetch_requests_total",
    type: "counter",
    help: "Fetches served by the leader since it started.",
    value: (m) => m.fetchRequests,
  },
  {
    name: "edgelog_partition_fetch_records_total",
    type: "counter",
    help: "Records returned by the leader since it started.",
    value: (m) => m.fetchRecords,
  },
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
  for (const series of PARTITION_SERIES) {
    out += header(series.name, series.type, series.help);
    metrics.forEach((m, i) => {
      if (m) out += `${series.name}{${labels[i]}} ${series.value(m)}\n`;
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
