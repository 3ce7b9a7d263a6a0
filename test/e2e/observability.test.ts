import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { CloudEvent, HTTP } from "cloudevents";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Prometheus } from "./prometheus";
import { LocalServer, tempStateDir, until } from "./server";

/**
 * Issue 17 against the real server `npm start` runs (access log on): a real
 * Prometheus scraping kafka_exporter's names, the CloudEvents SDK's own emitter
 * and parser, and a W3C trace context from produce to consume (HTTP and WebSocket)
 * and into the gateway's log line.
 */

const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

describe("observability end to end", () => {
  // Webhook retries 100 ms apart (not 30 s), so the alert test sees one.
  const server = new LocalServer(tempStateDir(), {
    EDGELOG_ACCESS_LOG: "1",
    EDGELOG_ALERT_RETRY_BASE_MS: "100",
  });
  const prometheus = new Prometheus();
  beforeAll(() => server.start(), 60_000);
  afterAll(async () => {
    await prometheus.stop();
    await server.stop("SIGKILL");
  });

  async function post(path: string, body: string, headers: Record<string, string>) {
    const res = await fetch(`${server.url}${path}`, { method: "POST", headers, body });
    return { status: res.status, body: (await res.json()) as any };
  }

  it("Prometheus scrapes kafka_exporter's names and answers a PromQL query for consumer lag", async () => {
    expect(
      (await server.request("POST", "/v1/topics", { name: "lagging", partitions: 2, replicationFactor: 1 }))
        .status,
    ).toBe(201);
    const records = Array.from({ length: 7 }, (_, i) => ({ value: i, partition: i % 2 }));
    expect((await server.request("POST", "/v1/topics/lagging/records?acks=1", { records })).status).toBe(200);
    const member = (await server.request("POST", "/v1/groups/dashboards/members", { topics: ["lagging"] }))
      .body;
    const offsets = [{ topic: "lagging", partition: 0, offset: 1 }];
    const committed = await server.request("POST", "/v1/groups/dashboards/offsets", {
      memberId: member.memberId,
      generation: member.generation,
      offsets,
    });
    expect(committed.status).toBe(200);

    await prometheus.start(new URL(server.url).host);
    // Lag: partition 0 holds 4 records, 1 committed → 3; partition 1 has no committed offset (not counted).
    const lagQuery = 'sum by (consumergroup, topic) (kafka_consumergroup_lag{consumergroup="dashboards"})';
    let lag: { metric: Record<string, string>; value: number }[] = [];
    await until(async () => {
      lag = await prometheus.query(lagQuery);
      return lag.length > 0;
    }, 20_000);
    expect(lag).toEqual([{ metric: { consumergroup: "dashboards", topic: "lagging" }, value: 3 }]);
    const current = await prometheus.query('sum(kafka_topic_partition_current_offset{topic="lagging"})');
    expect(current[0]?.value).toBe(7);
    expect((await prometheus.query('kafka_topic_partitions{topic="lagging"}'))[0]?.value).toBe(2);
    // Produce latency p99 per acks level, from the histogram's buckets.
    const p99 = await prometheus.query(
      'histogram_quantile(0.99, sum by (le, acks) (edgelog_http_request_duration_ms_bucket{route="/v1/topics/:topic/records"}))',
    );
    expect(p99.map((s) => s.metric.acks)).toContain("1");
    expect(p99.every((s) => Number.isFinite(s.value) && s.value > 0)).toBe(true);
  }, 60_000);

  it("round-trips events made by the CloudEvents SDK (binary, structured and batched mode) back through its parser", async () => {
    expect(
      (await server.request("POST", "/v1/topics", { name: "events", partitions: 1, replicationFactor: 1 }))
        .status,
    ).toBe(201);
    const made: CloudEvent<unknown>[] = [
      new CloudEvent({
        type: "order.created",
        source: "/shop",
        subject: "o-1",
        data: { total: 12.5 },
        tenant: "acme",
      }),
      new CloudEvent({
        type: "order.paid",
        source: "/shop",
        datacontenttype: "text/plain",
        data: "paid in full",
      }),
      new CloudEvent({ type: "order.shipped", source: "/shop", partitionkey: "o-1", data: [1, 2, 3] }),
      new CloudEvent({ type: "order.closed", source: "/shop" }),
    ];
    const binary = HTTP.binary(made[0]!);
    expect(
      (
        await post(
          "/v1/topics/events/events",
          binary.body as string,
          binary.headers as Record<string, string>,
        )
      ).status,
    ).toBe(200);
    const structured = HTTP.structured(made[1]!);
    expect(
      (
        await post(
          "/v1/topics/events/events",
          structured.body as string,
          structured.headers as Record<string, string>,
        )
      ).status,
    ).toBe(200);
    const batch = await post(
      "/v1/topics/events/events",
      JSON.stringify(made.slice(2).map((e) => e.toJSON())),
      {
        "content-type": "application/cloudevents-batch+json",
      },
    );
    expect(batch.body.results.map((r: any) => r.offset)).toEqual([2, 3]);

    const read = await server.request(
      "GET",
      "/v1/topics/events/partitions/0/records?offset=0&format=cloudevents",
    );
    expect(read.status).toBe(200);
    const parsed = read.body.records.map(
      (r: any) =>
        HTTP.toEvent({
          headers: { "content-type": "application/cloudevents+json" },
          body: JSON.stringify(r.value),
        }) as CloudEvent,
    );
    const fields = (e: CloudEvent<unknown>) => JSON.parse(JSON.stringify(e.toJSON()));
    const expected = made.map(fields);
    // HTTP binary mode always sends a content-type, which is the event's datacontenttype (the binding).
    expected[0].datacontenttype = (binary.headers as Record<string, string>)["content-type"];
    expect(parsed.map(fields)).toEqual(expected);
    // A plain read gives the data as the value and the attributes as headers (the Kafka binding).
    const plain = await server.request("GET", "/v1/topics/events/partitions/0/records?offset=0");
    expect(plain.body.records[0]).toMatchObject({
      key: "o-1",
      value: { total: 12.5 },
      headers: { ce_type: "order.created", ce_tenant: "acme" },
    });
    expect(plain.body.records[2].key).toBe("o-1");
  });

  it("carries traceparent from produce to consumers (HTTP and WebSocket) and into the gateway's log line", async () => {
    expect(
      (await server.request("POST", "/v1/topics", { name: "traced", partitions: 1, replicationFactor: 1 }))
        .status,
    ).toBe(201);
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/v1/ws`);
    const frames: any[] = [];
    ws.on("message", (data) => frames.push(JSON.parse(String(data))));
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    ws.send(JSON.stringify({ op: "subscribe", id: 1, topic: "traced", partition: 0, offset: "earliest" }));
    await until(() => frames.some((f) => f.op === "subscribed"), 10_000);
    const produced = await post(
      "/v1/topics/traced/records?acks=1",
      JSON.stringify({ records: [{ value: "hello" }] }),
      {
        "content-type": "application/json",
        traceparent: TRACEPARENT,
        tracestate: "vendor=1",
      },
    );
    expect(produced.status).toBe(200);
    const fetched = await server.request("GET", "/v1/topics/traced/partitions/0/records?offset=0");
    expect(fetched.body.records[0].headers).toEqual({ traceparent: TRACEPARENT, tracestate: "vendor=1" });
    await until(() => frames.some((f) => f.op === "records"), 10_000);
    ws.close();
    const pushed = frames.find((f) => f.op === "records");
    expect(pushed.records[0].headers).toEqual({ traceparent: TRACEPARENT, tracestate: "vendor=1" });
    // The gateway's own line continues the trace: same trace id, the caller's span as parent.
    await until(() => server.output.includes('"route":"/v1/topics/:topic/records"'), 5_000);
    const line = server.output
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l))
      .find((l) => l.route === "/v1/topics/:topic/records" && l.traceId !== undefined);
    expect(line).toMatchObject({
      msg: "request",
      method: "POST",
      path: "/v1/topics/traced/records",
      status: 200,
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      parentSpanId: "00f067aa0ba902b7",
    });
    expect(line.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(line.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("a lag alert fires and resolves against a real local webhook, signed, a failed delivery retried", async () => {
    const received: {
      headers: Record<string, string | string[] | undefined>;
      body: string;
      status: number;
    }[] = [];
    const webhook = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => {
        body += chunk;
      });
      req.on("end", () => {
        // The first delivery fails: the next try comes after the back-off.
        const status = received.length === 0 ? 503 : 200;
        received.push({ headers: req.headers, body, status });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/alerts`;
    try {
      expect(
        (
          await server.request("POST", "/v1/topics", {
            name: "alerting",
            partitions: 1,
            replicationFactor: 1,
          })
        ).status,
      ).toBe(201);
      const records = Array.from({ length: 6 }, (_, i) => ({ value: i }));
      expect((await server.request("POST", "/v1/topics/alerting/records?acks=1", { records })).status).toBe(
        200,
      );
      const member = (await server.request("POST", "/v1/groups/alerted/members", { topics: ["alerting"] }))
        .body;
      const commit = (offset: number) =>
        server.request("POST", "/v1/groups/alerted/offsets", {
          memberId: member.memberId,
          generation: member.generation,
          offsets: [{ topic: "alerting", partition: 0, offset }],
        });
      expect((await commit(1)).status).toBe(200);
      const rule = {
        kind: "consumerLag",
        group: "alerted",
        maxLag: 3,
        forMs: 1_000,
        webhook: { url, secret: "hook-secret" },
      };
      expect((await server.request("PUT", "/v1/alerts/lag-alerted", rule)).status).toBe(200);

      await until(() => received.some((r) => r.status === 200), 20_000);
      const [failed, firing] = received;
      expect(failed!.status).toBe(503);
      expect(firing!.status).toBe(200);
      expect(firing!.body).toBe(failed!.body); // the same notification, tried again
      expect(firing!.headers["x-edgelog-attempt"]).toBe("2");
      const signed = `sha256=${createHmac("sha256", "hook-secret").update(firing!.body).digest("hex")}`;
      expect(firing!.headers["x-edgelog-signature"]).toBe(signed);
      const fired = JSON.parse(firing!.body);
      expect(fired).toMatchObject({
        alert: "lag-alerted",
        state: "firing",
        kind: "consumerLag",
        labels: { group: "alerted" },
        value: 5,
      });
      expect(Date.parse(fired.startsAt)).toBeGreaterThan(0);

      expect((await commit(6)).status).toBe(200);
      await until(() => received.length >= 3, 20_000);
      const resolved = JSON.parse(received[2]!.body);
      expect(resolved).toMatchObject({
        alert: "lag-alerted",
        state: "resolved",
        value: 0,
        startsAt: fired.startsAt,
      });
      expect(Date.parse(resolved.endsAt)).toBeGreaterThanOrEqual(Date.parse(fired.startsAt));
      expect(received[2]!.headers["x-edgelog-signature"]).toBe(
        `sha256=${createHmac("sha256", "hook-secret").update(received[2]!.body).digest("hex")}`,
      );
      const listed = (await server.request("GET", "/v1/alerts/lag-alerted")).body;
      expect(listed.state).toBe("inactive");
      expect(listed.deliveries.map((d: any) => [d.state, d.outcome, d.tries])).toEqual([
        ["resolved", "delivered", 1],
        ["firing", "delivered", 2],
      ]);
      expect(listed.deliveries[1].lastStatus).toBe(200);
    } finally {
      webhook.close();
    }
  }, 60_000);
});
