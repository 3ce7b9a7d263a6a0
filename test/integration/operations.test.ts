import { describe, expect, it } from "vitest";
import { api, commit, createTopic, fetchRecords, join, produce, uniqueGroup } from "./helpers";

function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("operations", () => {
  it("GET /healthz answers ok", async () => {
    const res = await api("GET", "/healthz");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "ok" });
  });

  it("GET /metrics exports per-partition offsets, ISR, counters and latency histograms in Prometheus text", async () => {
    const topic = await createTopic({ partitions: 2, replicationFactor: 3 });
    await produce(topic, [
      { value: 1, partition: 1 },
      { value: 2, partition: 1 },
      { value: 3, partition: 1 },
    ]);
    await fetchRecords(topic, 1, "offset=1");
    const res = await api("GET", "/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const p1 = `{topic="${topic}",partition="1"}`;
    const p0 = `{topic="${topic}",partition="0"}`;
    const k1 = `{partition="1",topic="${topic}"}`;
    expect(sample(res.text, `edgelog_partition_log_end_offset${p1}`)).toBe(3);
    expect(sample(res.text, `edgelog_partition_high_watermark${p1}`)).toBe(3);
    expect(sample(res.text, `edgelog_partition_log_end_offset${p0}`)).toBe(0);
    expect(sample(res.text, `edgelog_partition_produce_records_total${p1}`)).toBe(3);
    expect(sample(res.text, `edgelog_partition_fetch_records_total${p1}`)).toBe(2);
    expect(sample(res.text, `edgelog_partition_isr_size${p1}`)).toBe(3);
    expect(sample(res.text, `edgelog_partition_under_replicated${p1}`)).toBe(0);
    expect(sample(res.text, `edgelog_partition_leader_epoch${p1}`)).toBe(0);
    // The same facts under kafka_exporter's names and labels.
    expect(sample(res.text, `kafka_topic_partitions{topic="${topic}"}`)).toBe(2);
    expect(sample(res.text, `kafka_topic_partition_current_offset${k1}`)).toBe(3);
    expect(sample(res.text, `kafka_topic_partition_oldest_offset${k1}`)).toBe(0);
    expect(sample(res.text, `kafka_topic_partition_in_sync_replica${k1}`)).toBe(3);
    expect(sample(res.text, `kafka_topic_partition_replicas${k1}`)).toBe(3);
    expect(sample(res.text, `kafka_topic_partition_under_replicated_partition${k1}`)).toBe(0);
    expect(sample(res.text, `kafka_topic_partition_leader${k1}`)).toBe(0);
    // Latency per route (and acks level for produce), with p50/p99 derivable from the buckets.
    expect(res.text).toContain("# TYPE edgelog_http_request_duration_ms histogram");
    const produced = `edgelog_http_request_duration_ms_bucket{method="POST",route="/v1/topics/:topic/records",acks="1",le="+Inf"}`;
    expect(sample(res.text, produced)).toBeGreaterThan(0);
    const fetched = `edgelog_http_request_duration_ms_bucket{method="GET",route="/v1/topics/:topic/partitions/:partition/records",le="+Inf"}`;
    expect(sample(res.text, fetched)).toBeGreaterThan(0);
    // Every sample line is `name{labels} number` or `name number`.
    for (const line of res.text.split("\n").filter((l) => l && !l.startsWith("#")))
      expect(line).toMatch(/^[a-z_]+(\{[^}]*\})? -?[0-9.e+]+$/);
  });

  it("exports a group's members, committed offsets and lag under edgelog's and kafka_exporter's names", async () => {
    const topic = await createTopic({ partitions: 2 });
    await produce(
      topic,
      [1, 2, 3, 4, 5].map((value) => ({ value, partition: 0 })),
    );
    await produce(topic, [{ value: 6, partition: 1 }]);
    const group = uniqueGroup();
    const member = await join(group, { topics: [topic] });
    expect(
      (await commit(group, member.memberId, member.generation, [{ topic, partition: 0, offset: 2 }])).status,
    ).toBe(200);
    const text = (await api("GET", "/metrics")).text;
    const k0 = `{consumergroup="${group}",partition="0",topic="${topic}"}`;
    expect(sample(text, `kafka_consumergroup_members{consumergroup="${group}"}`)).toBe(1);
    expect(sample(text, `kafka_consumergroup_current_offset${k0}`)).toBe(2);
    expect(sample(text, `kafka_consumergroup_lag${k0}`)).toBe(3);
    expect(sample(text, `kafka_consumergroup_lag_sum{consumergroup="${group}",topic="${topic}"}`)).toBe(3);
    expect(
      sample(text, `kafka_consumergroup_current_offset_sum{consumergroup="${group}",topic="${topic}"}`),
    ).toBe(2);
    expect(sample(text, `edgelog_consumergroup_lag{group="${group}",topic="${topic}",partition="0"}`)).toBe(
      3,
    );
  });

  it("counts answers by route, status and error code", async () => {
    const series =
      'edgelog_http_requests_total{method="POST",route="/v1/topics/:topic/records",status="404",code="UNKNOWN_TOPIC_OR_PARTITION"}';
    const before = sample((await api("GET", "/metrics")).text, series) ?? 0;
    await api("POST", "/v1/topics/never-created-x/records", { records: [{ value: 1 }] });
    expect(sample((await api("GET", "/metrics")).text, series)).toBe(before + 1);
    // A path no route matches is counted under one label, whatever the path.
    await api("GET", "/v1/no-such-route/abc");
    const unmatched =
      'edgelog_http_requests_total{method="GET",route="unmatched",status="404",code="NOT_FOUND"}';
    expect(sample((await api("GET", "/metrics")).text, unmatched)).toBeGreaterThan(0);
  });
});
