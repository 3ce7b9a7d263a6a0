import { describe, expect, it } from "vitest";
import { api, createTopic, fetchRecords, join, poll, produce, uniqueGroup } from "./helpers";

/** API.md "Events and tracing": the CloudEvents HTTP binding and format=cloudevents reads. */

const EVENT = { specversion: "1.0", id: "e-1", source: "/orders", type: "order.created" };

function postEvents(topic: string, body: unknown, headers: Record<string, string>, query = "") {
  return api("POST", `/v1/topics/${topic}/events${query}`, body, headers);
}

describe("CloudEvents", () => {
  it("takes structured, batched and binary mode; reads give data as the value, format=cloudevents the events", async () => {
    const topic = await createTopic();
    const structured = await postEvents(
      topic,
      { ...EVENT, subject: "o-1", datacontenttype: "application/json", data: { total: 5 } },
      { "content-type": "application/cloudevents+json; charset=utf-8" },
      "?acks=1",
    );
    expect(structured.status).toBe(200);
    expect(structured.body).toEqual({
      topic,
      results: [{ partition: 0, offset: 0, timestamp: expect.any(Number) }],
    });
    const batch = await postEvents(
      topic,
      [
        { ...EVENT, id: "e-2", data: "two", partitionkey: "k" },
        { ...EVENT, id: "e-3", data_base64: "AAEC" },
      ],
      { "content-type": "application/cloudevents-batch+json" },
    );
    expect(batch.body.results.map((r: any) => r.offset)).toEqual([1, 2]);
    const binary = await postEvents(topic, "hello", {
      "content-type": "text/plain",
      "ce-specversion": "1.0",
      "ce-id": "e-4",
      "ce-source": "/orders",
      "ce-type": "order.note",
      "ce-tenant": "acme",
    });
    expect(binary.status).toBe(200);
    await produce(topic, [{ value: "not an event" }]); // 4

    const plain = (await fetchRecords(topic, 0, "offset=0")).body.records;
    expect(plain.map((r: any) => r.value ?? r.valueBase64)).toEqual([
      { total: 5 },
      "two",
      "AAEC",
      "hello",
      "not an event",
    ]);
    expect(plain.map((r: any) => r.key)).toEqual(["o-1", "k", null, null, null]);
    expect(plain[0].headers).toMatchObject({
      ce_id: "e-1",
      ce_type: "order.created",
      "content-type": "application/json",
    });

    const events = (await fetchRecords(topic, 0, "offset=0&format=cloudevents")).body.records;
    expect(events.map((r: any) => r.value)).toEqual([
      { ...EVENT, subject: "o-1", datacontenttype: "application/json", data: { total: 5 } },
      { ...EVENT, id: "e-2", data: "two", partitionkey: "k" },
      { ...EVENT, id: "e-3", data_base64: "AAEC" },
      {
        ...EVENT,
        id: "e-4",
        type: "order.note",
        tenant: "acme",
        datacontenttype: "text/plain",
        data: "hello",
      },
      "not an event",
    ]);
    expect(events.every((r: any) => !("valueBase64" in r))).toBe(true);
    // Group polls take the same parameter.
    const group = uniqueGroup();
    const member = await join(group, { topics: [topic], autoOffsetReset: "earliest" });
    const polled = await poll(group, member.memberId, "maxRecords=2&format=cloudevents");
    expect(polled.body.records.map((r: any) => r.value.id)).toEqual(["e-1", "e-2"]);
  });

  it("refuses malformed, wrong-typed and oversized events with a 400, appending nothing", async () => {
    const topic = await createTopic();
    const structured = { "content-type": "application/cloudevents+json" };
    const batch = { "content-type": "application/cloudevents-batch+json" };
    const cases: [unknown, Record<string, string>, string][] = [
      ["{", structured, "JSON"],
      [[], structured, "JSON object"],
      [{ ...EVENT, specversion: "0.3" }, structured, "specversion"],
      [{ ...EVENT, id: 7 }, structured, "body.id"],
      [{ ...EVENT, time: "noon" }, structured, "RFC 3339"],
      [{ ...EVENT, "Bad-Name": 1 }, structured, "Bad-Name"],
      [{ ...EVENT, data: 1, data_base64: "AA==" }, structured, "both"],
      [{ ...EVENT }, batch, "array"],
      [[], batch, "at least one"],
      [[EVENT, { ...EVENT, source: "" }], batch, "body[1].source"],
      [Array.from({ length: 10_001 }, () => EVENT), batch, "at most 10000"],
      ["data", { "content-type": "text/plain" }, "ce-specversion"],
      [
        "{",
        {
          "content-type": "application/json",
          "ce-specversion": "1.0",
          "ce-id": "1",
          "ce-source": "s",
          "ce-type": "t",
        },
        "JSON",
      ],
      [
        "x",
        { "content-type": "text/plain", "ce-specversion": "1.0", "ce-id": "1", "ce-source": "s" },
        "event.type",
      ],
    ];
    for (const [body, headers, says] of cases) {
      const res = await postEvents(topic, body, headers);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.body.error.code).toBe("INVALID_REQUEST");
      expect(res.body.error.message).toContain(says);
    }
    const bad = await postEvents(topic, EVENT, structured, "?acks=2");
    expect(bad.status).toBe(400);
    expect((await fetchRecords(topic, 0, "offset=0")).body.records).toEqual([]);
    const format = await fetchRecords(topic, 0, "offset=0&format=xml");
    expect(format.status).toBe(400);
    expect(format.body.error.message).toContain("format");
    expect((await postEvents("no-such-topic-ce", EVENT, structured)).status).toBe(404);
  });
});
