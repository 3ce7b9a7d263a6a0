import { describe, expect, it } from "vitest";
import { api, createTopic, fetchRecords, produce } from "./helpers";

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
    expect(sample(res.text, `edgelog_partition_log_end_offset${p1}`)).toBe(3);
    expect(sample(res.text, `edgelog_partition_high_watermark${p1}`)).toBe(3);
    expect(sample(res.text, `edgelog_partition_log_end_offset${p0}`)).toBe(0);
    expect(sample(res.text, `edgelog_partition_produce_records_total${p1}`)).toBe(3);
    expect(sample(res.text, `edgelog_partition_fetch_records_total${p1}`)).toBe(2);
    expect(sample(res.text, `edgelog_partition_isr_size${p1}`)).toBe(3);
    expect(sample(res.text, `edgelog_partition_under_replicated${p1}`)).toBe(0);
    expect(sample(res.text, `edgelog_partition_leader_epoch${p1}`)).toBe(0);
    expect(res.text).toContain("# TYPE edgelog_produce_latency_ms histogram");
    expect(sample(res.text, 'edgelog_produce_latency_ms_bucket{le="+Inf"}')).toBeGreaterThan(0);
    expect(sample(res.text, 'edgelog_fetch_latency_ms_bucket{le="+Inf"}')).toBeGreaterThan(0);
    // Every sample line is `name{labels} number` or `name number`.
    for (const line of res.text.split("\n").filter((l) => l && !l.startsWith("#")))
      expect(line).toMatch(/^[a-z_]+(\{[^}]*\})? -?[0-9.e+]+$/);
  });

  it("counts refused produce requests as 4xx answers", async () => {
    const before = await api("GET", "/metrics");
    const count = (text: string) =>
      sample(text, 'edgelog_gateway_requests_total{api="produce",status="4xx"}') ?? 0;
    await api("POST", "/v1/topics/never-created-x/records", { records: [{ value: 1 }] });
    expect(count((await api("GET", "/metrics")).text)).toBe(count(before.text) + 1);
  });
});
