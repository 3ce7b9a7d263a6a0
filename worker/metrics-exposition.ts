import { labelValue } from "../core/histogram";
import type { GroupSummary } from "../durable-objects/consumer-group";
import type { PartitionMetrics, TopicMetadata } from "../durable-objects/contract";
import type { OffsetInfo } from "../durable-objects/group-lag";

/**
 * The broker and group families of GET /metrics in Prometheus text: edgelog's own
 * names, and kafka_exporter's for the same facts (API.md "Operations additions"),
 * with its labels (`topic`, `partition`, `consumergroup`), so dashboards built for
 * kafka_exporter (e.g. Grafana's "Kafka Exporter Overview") work unchanged.
 */

export type PartitionView = { topic: TopicMetadata; partition: number; metrics: PartitionMetrics };
type Series<T> = [name: string, type: "gauge" | "counter", help: string, value: (x: T) => number];

// biome-ignore format: a table, one series a row
const PARTITION_SERIES: Series<PartitionMetrics>[] = [
  ["edgelog_partition_log_start_offset", "gauge", "First offset still in the log.", (m) => m.logStartOffset],
  ["edgelog_partition_log_end_offset", "gauge", "Offset the next appended record gets.", (m) => m.logEndOffset],
  ["edgelog_partition_high_watermark", "gauge", "Offset below which records are readable.", (m) => m.highWatermark],
  ["edgelog_partition_last_stable_offset", "gauge", "Offset where read_committed reads stop.", (m) => m.lastStableOffset],
  ["edgelog_partition_leader_epoch", "gauge", "Epoch of the partition's current leader.", (m) => m.leaderEpoch],
  ["edgelog_partition_isr_size", "gauge", "Replicas in sync with the leader, leader included.", (m) => m.isr.length],
  ["edgelog_partition_under_replicated", "gauge", "1 when the ISR is smaller than the replication factor.", underReplicated],
  ["edgelog_partition_produce_requests_total", "counter", "Appends handled by the leader since it started.", (m) => m.produceRequests],
  ["edgelog_partition_produce_records_total", "counter", "Records appended by the leader since it started.", (m) => m.produceRecords],
  ["edgelog_partition_fetch_requests_total", "counter", "Fetches served by the leader since it started.", (m) => m.fetchRequests],
  ["edgelog_partition_fetch_records_total", "counter", "Records returned by the leader since it started.", (m) => m.fetchRecords],
  // kafka_exporter's (its help texts): current offset is what consumers can read up to, the high watermark.
  ["kafka_topic_partition_current_offset", "gauge", "Current Offset of a Broker at Topic/Partition", (m) => m.highWatermark],
  ["kafka_topic_partition_oldest_offset", "gauge", "Oldest Offset of a Broker at Topic/Partition", (m) => m.logStartOffset],
  ["kafka_topic_partition_in_sync_replica", "gauge", "Number of In-Sync Replicas for this Topic/Partition", (m) => m.isr.length],
  ["kafka_topic_partition_leader", "gauge", "Leader Broker ID of this Topic/Partition", (m) => m.leader],
  ["kafka_topic_partition_leader_is_preferred", "gauge", "1 if Topic/Partition is using the Preferred Broker", (m) => (m.leader === 0 ? 1 : 0)],
  ["kafka_topic_partition_replicas", "gauge", "Number of Replicas for this Topic/Partition", (m) => m.replicationFactor],
  ["kafka_topic_partition_under_replicated_partition", "gauge", "1 if Topic/Partition is under Replicated", underReplicated],
];

function underReplicated(m: PartitionMetrics): number {
  return m.isr.length < m.replicationFactor ? 1 : 0;
}

function header(name: string, type: string, help: string): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
}

/** Every partition family, and kafka_topic_partitions per topic. */
export function renderPartitions(
  topics: readonly TopicMetadata[],
  partitions: readonly PartitionView[],
): string {
  let out = header("kafka_topic_partitions", "gauge", "Number of partitions for this Topic");
  for (const t of topics) out += `kafka_topic_partitions{topic="${labelValue(t.name)}"} ${t.partitions}\n`;
  // Each family keeps its own label order: edgelog's as it always was, kafka_exporter's as it writes them.
  const ours = partitions.map((p) => `topic="${labelValue(p.topic.name)}",partition="${p.partition}"`);
  const theirs = partitions.map((p) => `partition="${p.partition}",topic="${labelValue(p.topic.name)}"`);
  for (const [name, type, help, value] of PARTITION_SERIES) {
    out += header(name, type, help);
    const labels = name.startsWith("kafka_") ? theirs : ours;
    partitions.forEach((p, i) => {
      out += `${name}{${labels[i]}} ${value(p.metrics)}\n`;
    });
  }
  return out;
}

export type GroupView = { name: string; summary: GroupSummary; offsets: OffsetInfo[] };

/** Per group: members; per partition its committed offset and lag; kafka_exporter's per-topic sums. */
export function renderGroups(groups: readonly GroupView[]): string {
  const families = {
    members: header("edgelog_consumergroup_members", "gauge", "Members of the consumer group."),
    committed: header(
      "edgelog_consumergroup_committed_offset",
      "gauge",
      "Committed offset (next to read) per partition.",
    ),
    lag: header(
      "edgelog_consumergroup_lag",
      "gauge",
      "High watermark minus committed offset, per partition.",
    ),
    kMembers: header("kafka_consumergroup_members", "gauge", "Amount of members in a consumer group"),
    kCurrent: header(
      "kafka_consumergroup_current_offset",
      "gauge",
      "Current Offset of a ConsumerGroup at Topic/Partition",
    ),
    kCurrentSum: header(
      "kafka_consumergroup_current_offset_sum",
      "gauge",
      "Current Offset of a ConsumerGroup at Topic for all partitions",
    ),
    kLag: header(
      "kafka_consumergroup_lag",
      "gauge",
      "Current Approximate Lag of a ConsumerGroup at Topic/Partition",
    ),
    kLagSum: header(
      "kafka_consumergroup_lag_sum",
      "gauge",
      "Current Approximate Lag of a ConsumerGroup at Topic for all partitions",
    ),
  };
  for (const g of groups) {
    const name = labelValue(g.name);
    families.members += `edgelog_consumergroup_members{group="${name}",state="${g.summary.state}"} ${g.summary.members}\n`;
    families.kMembers += `kafka_consumergroup_members{consumergroup="${name}"} ${g.summary.members}\n`;
    const sums = new Map<string, { offset: number; lag: number }>();
    for (const o of g.offsets) {
      const topic = labelValue(o.topic);
      const labels = `group="${name}",topic="${topic}",partition="${o.partition}"`;
      families.committed += `edgelog_consumergroup_committed_offset{${labels}} ${o.committedOffset}\n`;
      families.lag += `edgelog_consumergroup_lag{${labels}} ${o.lag}\n`;
      const kLabels = `consumergroup="${name}",partition="${o.partition}",topic="${topic}"`;
      families.kCurrent += `kafka_consumergroup_current_offset{${kLabels}} ${o.committedOffset}\n`;
      families.kLag += `kafka_consumergroup_lag{${kLabels}} ${o.lag}\n`;
      const sum = sums.get(topic) ?? { offset: 0, lag: 0 };
      sum.offset += o.committedOffset;
      sum.lag += o.lag;
      sums.set(topic, sum);
    }
    for (const [topic, sum] of sums) {
      families.kCurrentSum += `kafka_consumergroup_current_offset_sum{consumergroup="${name}",topic="${topic}"} ${sum.offset}\n`;
      families.kLagSum += `kafka_consumergroup_lag_sum{consumergroup="${name}",topic="${topic}"} ${sum.lag}\n`;
    }
  }
  return Object.values(families).join("");
}
