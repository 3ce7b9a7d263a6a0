import { Hono } from "hono";
import { labelValue } from "../../core/histogram";
import { type Env, topicRegistry } from "../../durable-objects/env";
import type { PartitionMetrics } from "../../durable-objects/partition";
import { readQuery } from "../../schemas/query";
import { partitionMetrics } from "../describe";
import { gatewayMetrics } from "../gateway-metrics";

/** Health and Prometheus metrics (API.md "Operations"). */
export const operationRoutes = new Hono<{ Bindings: Env }>();

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
