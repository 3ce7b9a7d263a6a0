import { describe, expect, it } from "vitest";
import { api, createTopic, logEndOffsets, produce } from "./helpers";

const JSON_TYPE = { "content-type": "application/json" };

/**
 * Every bad input gets its code and a message saying what to fix, and changes
 * nothing: the log end offsets and the topic list are the same afterwards.
 */
describe("bad input is refused with a clear 4xx and changes nothing", async () => {
  const topic = await createTopic({ partitions: 2, configs: { "max.message.bytes": 1000 } });
  await produce(topic, [{ value: "seed", partition: 0 }]);
  const records = `/v1/topics/${topic}/records`;
  const fetch0 = `/v1/topics/${topic}/partitions/0/records`;

  type Case = [
    name: string,
    method: string,
    path: string,
    body: unknown,
    status: number,
    code: string,
    headers?: Record<string, string>,
  ];
  const cases: Case[] = [
    // produce: body shape and types
    ["malformed JSON", "POST", records, '{"records": [', 400, "INVALID_REQUEST"],
    ["JSON with trailing garbage", "POST", records, '{"records": []} x', 400, "INVALID_REQUEST"],
    [
      "wrong content type",
      "POST",
      records,
      JSON.stringify({ records: [{ value: 1 }] }),
      400,
      "INVALID_REQUEST",
      { "content-type": "text/plain" },
    ],
    [
      "no content type",
      "POST",
      records,
      JSON.stringify({ records: [{ value: 1 }] }),
      400,
      "INVALID_REQUEST",
      {},
    ],
    ["empty body", "POST", records, "", 400, "INVALID_REQUEST"],
    ["body is an array", "POST", records, [], 400, "INVALID_REQUEST"],
    ["records missing", "POST", records, {}, 400, "INVALID_REQUEST"],
    ["records not an array", "POST", records, { records: "x" }, 400, "INVALID_REQUEST"],
    ["records empty", "POST", records, { records: [] }, 400, "INVALID_REQUEST"],
    [
      "too many records",
      "POST",
      records,
      { records: Array.from({ length: 10_001 }, () => ({ value: 0 })) },
      400,
      "INVALID_REQUEST",
    ],
    ["unknown body field", "POST", records, { records: [{ value: 1 }], acks: 1 }, 400, "INVALID_REQUEST"],
    ["record without value", "POST", records, { records: [{ key: "k" }] }, 400, "INVALID_REQUEST"],
    ["key of wrong type", "POST", records, { records: [{ key: 1, value: 1 }] }, 400, "INVALID_REQUEST"],
    [
      "header value not a string",
      "POST",
      records,
      { records: [{ value: 1, headers: { a: 1 } }] },
      400,
      "INVALID_REQUEST",
    ],
    [
      "headers not an object",
      "POST",
      records,
      { records: [{ value: 1, headers: "a=b" }] },
      400,
      "INVALID_REQUEST",
    ],
    [
      "negative partition",
      "POST",
      records,
      { records: [{ value: 1, partition: -1 }] },
      400,
      "INVALID_REQUEST",
    ],
    [
      "fractional partition",
      "POST",
      records,
      { records: [{ value: 1, partition: 0.5 }] },
      400,
      "INVALID_REQUEST",
    ],
    ["huge partition", "POST", records, { records: [{ value: 1, partition: 1e20 }] }, 400, "INVALID_REQUEST"],
    [
      "unknown partition",
      "POST",
      records,
      { records: [{ value: 1 }, { value: 2, partition: 2 }] },
      404,
      "UNKNOWN_TOPIC_OR_PARTITION",
    ],
    [
      "negative timestamp",
      "POST",
      records,
      { records: [{ value: 1, timestamp: -1 }] },
      400,
      "INVALID_REQUEST",
    ],
    ["bad base64", "POST", records, { records: [{ valueBase64: "%%%" }] }, 400, "INVALID_REQUEST"],
    [
      "record over max.message.bytes",
      "POST",
      records,
      { records: [{ value: 1 }, { value: "x".repeat(1000) }] },
      413,
      "RECORD_TOO_LARGE",
    ],
    [
      "body over the gateway limit",
      "POST",
      records,
      { records: [{ value: "x".repeat(1024 * 1024) }] },
      413,
      "MESSAGE_TOO_LARGE",
    ],
    ["bad acks", "POST", `${records}?acks=2`, { records: [{ value: 1 }] }, 400, "INVALID_REQUEST"],
    [
      "unknown query parameter",
      "POST",
      `${records}?ack=1`,
      { records: [{ value: 1 }] },
      400,
      "INVALID_REQUEST",
    ],
    [
      "unknown topic",
      "POST",
      "/v1/topics/no-such-topic/records",
      { records: [{ value: 1 }] },
      404,
      "UNKNOWN_TOPIC_OR_PARTITION",
    ],
    [
      "invalid topic name",
      "POST",
      "/v1/topics/bad%20name/records",
      { records: [{ value: 1 }] },
      400,
      "INVALID_TOPIC_EXCEPTION",
    ],
    [
      "producer id not one POST /v1/producers hands out",
      "POST",
      records,
      { records: [{ value: 1 }], producer: { id: "p", epoch: 0, sequence: 0 } },
      400,
      "INVALID_REQUEST",
    ],
    // fetch
    ["fetch without offset", "GET", fetch0, undefined, 400, "INVALID_REQUEST"],
    ["negative offset", "GET", `${fetch0}?offset=-1`, undefined, 400, "INVALID_REQUEST"],
    ["fractional offset", "GET", `${fetch0}?offset=1.5`, undefined, 400, "INVALID_REQUEST"],
    ["huge offset", "GET", `${fetch0}?offset=99999999999999999999`, undefined, 400, "INVALID_REQUEST"],
    ["word offset", "GET", `${fetch0}?offset=first`, undefined, 400, "INVALID_REQUEST"],
    ["offset and timestamp", "GET", `${fetch0}?offset=0&timestamp=0`, undefined, 400, "INVALID_REQUEST"],
    ["offset past the high watermark", "GET", `${fetch0}?offset=2`, undefined, 416, "OFFSET_OUT_OF_RANGE"],
    ["max safe offset", "GET", `${fetch0}?offset=9007199254740991`, undefined, 416, "OFFSET_OUT_OF_RANGE"],
    ["maxRecords 0", "GET", `${fetch0}?offset=0&maxRecords=0`, undefined, 400, "INVALID_REQUEST"],
    [
      "maxRecords over 10,000",
      "GET",
      `${fetch0}?offset=0&maxRecords=10001`,
      undefined,
      400,
      "INVALID_REQUEST",
    ],
    ["maxBytes 0", "GET", `${fetch0}?offset=0&maxBytes=0`, undefined, 400, "INVALID_REQUEST"],
    [
      "maxBytes over 16 MiB",
      "GET",
      `${fetch0}?offset=0&maxBytes=16777217`,
      undefined,
      400,
      "INVALID_REQUEST",
    ],
    ["waitMs over 30 s", "GET", `${fetch0}?offset=0&waitMs=30001`, undefined, 400, "INVALID_REQUEST"],
    ["waitMs negative", "GET", `${fetch0}?offset=0&waitMs=-5`, undefined, 400, "INVALID_REQUEST"],
    ["repeated parameter", "GET", `${fetch0}?offset=0&offset=1`, undefined, 400, "INVALID_REQUEST"],
    ["unknown fetch parameter", "GET", `${fetch0}?offset=0&max=1`, undefined, 400, "INVALID_REQUEST"],
    [
      "unknown partition",
      "GET",
      `/v1/topics/${topic}/partitions/2/records?offset=0`,
      undefined,
      404,
      "UNKNOWN_TOPIC_OR_PARTITION",
    ],
    [
      "negative partition",
      "GET",
      `/v1/topics/${topic}/partitions/-1/records?offset=0`,
      undefined,
      400,
      "INVALID_REQUEST",
    ],
    [
      "word partition",
      "GET",
      `/v1/topics/${topic}/partitions/zero/records?offset=0`,
      undefined,
      400,
      "INVALID_REQUEST",
    ],
    [
      "huge partition",
      "GET",
      `/v1/topics/${topic}/partitions/99999999999999999999/records?offset=0`,
      undefined,
      400,
      "INVALID_REQUEST",
    ],
    [
      "fetch from unknown topic",
      "GET",
      "/v1/topics/no-such-topic/partitions/0/records?offset=0",
      undefined,
      404,
      "UNKNOWN_TOPIC_OR_PARTITION",
    ],
    // topics
    ["create without name", "POST", "/v1/topics", { partitions: 1 }, 400, "INVALID_REQUEST"],
    ["create with '..'", "POST", "/v1/topics", { name: ".." }, 400, "INVALID_TOPIC_EXCEPTION"],
    [
      "create with a 250-character name",
      "POST",
      "/v1/topics",
      { name: "x".repeat(250) },
      400,
      "INVALID_TOPIC_EXCEPTION",
    ],
    [
      "create existing",
      "POST",
      "/v1/topics",
      { name: topic, replicationFactor: 1 },
      409,
      "TOPIC_ALREADY_EXISTS",
    ],
    [
      "create with 1025 partitions",
      "POST",
      "/v1/topics",
      { name: "p1025", partitions: 1025 },
      400,
      "INVALID_PARTITIONS",
    ],
    [
      "create with replication factor 6",
      "POST",
      "/v1/topics",
      { name: "rf6", replicationFactor: 6 },
      400,
      "INVALID_REPLICATION_FACTOR",
    ],
    [
      "create with a bad config",
      "POST",
      "/v1/topics",
      { name: "cfg", configs: { "cleanup.policy": "never" } },
      400,
      "INVALID_CONFIG",
    ],
    ["create with malformed JSON", "POST", "/v1/topics", "{", 400, "INVALID_REQUEST"],
    ["create with query parameter", "POST", "/v1/topics?dryRun=true", { name: "q" }, 400, "INVALID_REQUEST"],
    [
      "patch with unknown config",
      "PATCH",
      `/v1/topics/${topic}`,
      { configs: { "flush.ms": 1 } },
      400,
      "INVALID_CONFIG",
    ],
    [
      "patch of unknown topic",
      "PATCH",
      "/v1/topics/no-such-topic",
      { configs: {} },
      404,
      "UNKNOWN_TOPIC_OR_PARTITION",
    ],
    ["describe invalid name", "GET", "/v1/topics/a%2Fb", undefined, 400, "INVALID_TOPIC_EXCEPTION"],
    [
      "delete unknown topic",
      "DELETE",
      "/v1/topics/no-such-topic",
      undefined,
      404,
      "UNKNOWN_TOPIC_OR_PARTITION",
    ],
    ["unknown route", "GET", "/v2/topics", undefined, 404, "NOT_FOUND"],
  ];

  it.each(cases)("%s (%s %s)", async (_name, method, path, body, status, code, headers = JSON_TYPE) => {
    const before = await logEndOffsets(topic);
    const res = await api(method, path, body, headers);
    expect(res.status).toBe(status);
    expect(res.body.error).toMatchObject({ code, retriable: false });
    expect(res.body.error.message.length).toBeGreaterThan(10);
    expect(await logEndOffsets(topic)).toEqual(before);
  });

  it("creates no topic on any refused create", async () => {
    const names = (await api("GET", "/v1/topics")).body.topics.map((t: { name: string }) => t.name);
    for (const name of ["p1025", "rf6", "cfg", "q", ".."]) expect(names).not.toContain(name);
  });

  it("refuses a chunked body over the limit without a content-length, and keeps serving", async () => {
    const big = new TextEncoder().encode(JSON.stringify({ records: [{ value: "y".repeat(1024 * 1024) }] }));
    const stream = new ReadableStream({
      start(controller) {
        for (let at = 0; at < big.length; at += 64 * 1024) controller.enqueue(big.slice(at, at + 64 * 1024));
        controller.close();
      },
    });
    const { SELF } = await import("cloudflare:test");
    const before = await logEndOffsets(topic);
    const res = await SELF.fetch(`http://localhost${records}`, {
      method: "POST",
      headers: JSON_TYPE,
      body: stream,
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as any).error.code).toBe("MESSAGE_TOO_LARGE");
    expect(await logEndOffsets(topic)).toEqual(before);
    expect((await produce(topic, [{ value: "after", partition: 0 }])).status).toBe(200);
  });
});
