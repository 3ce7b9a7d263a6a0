import { describe, expect, it } from "vitest";
import { EdgelogError } from "../../core/errors";
import { utf8Length } from "../../schemas/input";
import { parseProduceRequest } from "../../schemas/produce";

const topic = { partitions: 3, maxMessageBytes: 1000 };

function errorOf(body: unknown, t = topic): { code: string; message: string } {
  try {
    parseProduceRequest(body, t);
  } catch (error) {
    if (error instanceof EdgelogError) return error.info;
    throw error;
  }
  return { code: "no error", message: "" };
}

describe("produce body", () => {
  it("serialises each record once for storage and measures its bytes", () => {
    const { records } = parseProduceRequest(
      {
        records: [
          { key: "k", value: { a: [1, "é"] }, headers: { h: "v" }, partition: 2, timestamp: 5 },
          { value: null },
          { key: null, valueBase64: "AAEC" },
        ],
      },
      topic,
    );
    expect(records[0]).toEqual({
      key: "k",
      partition: 2,
      timestamp: 5,
      valueJson: '{"a":[1,"é"]}',
      valueBase64: null,
      headersJson: '{"h":"v"}',
      sizeBytes: 1 + 14 + 9, // key "k", {"a":[1,"é"]} (é is 2 bytes), {"h":"v"}
    });
    expect(records[1]).toMatchObject({ key: null, valueJson: "null", headersJson: "{}", sizeBytes: 4 + 2 });
    expect(records[2]).toMatchObject({ valueJson: "null", valueBase64: "AAEC", sizeBytes: 4 + 2 });
  });

  it.each([
    [null, "INVALID_REQUEST", "body must be a JSON object"],
    [[], "INVALID_REQUEST", "body must be a JSON object"],
    [{}, "INVALID_REQUEST", "body.records is required"],
    [{ records: {} }, "INVALID_REQUEST", "body.records must be an array"],
    [{ records: [] }, "INVALID_REQUEST", "at least one record"],
    [{ records: [{ value: 1 }], extra: true }, "INVALID_REQUEST", "unknown field 'extra'"],
    [{ records: [1] }, "INVALID_REQUEST", "records[0] must be a JSON object"],
    [{ records: [{}] }, "INVALID_REQUEST", "exactly one of 'value'"],
    [{ records: [{ value: 1, valueBase64: "AA==" }] }, "INVALID_REQUEST", "exactly one of 'value'"],
    [{ records: [{ valueBase64: "not base64!" }] }, "INVALID_REQUEST", "valueBase64"],
    [{ records: [{ valueBase64: "AAE" }] }, "INVALID_REQUEST", "valueBase64"],
    [{ records: [{ value: 1, key: 5 }] }, "INVALID_REQUEST", "records[0].key must be a string or null"],
    [{ records: [{ value: 1, partition: -1 }] }, "INVALID_REQUEST", "records[0].partition"],
    [{ records: [{ value: 1, partition: 1.5 }] }, "INVALID_REQUEST", "records[0].partition"],
    [
      { records: [{ value: 1, partition: "0" }] },
      "INVALID_REQUEST",
      "records[0].partition must be an integer",
    ],
    [{ records: [{ value: 1, partition: 3 }] }, "UNKNOWN_TOPIC_OR_PARTITION", "partitions 0 to 2"],
    [{ records: [{ value: 1, partition: 2 ** 60 }] }, "INVALID_REQUEST", "records[0].partition"],
    [{ records: [{ value: 1, timestamp: -5 }] }, "INVALID_REQUEST", "records[0].timestamp"],
    [{ records: [{ value: 1, timestamp: "now" }] }, "INVALID_REQUEST", "records[0].timestamp"],
    [
      { records: [{ value: 1, headers: { h: 1 } }] },
      "INVALID_REQUEST",
      "records[0].headers.h must be a string",
    ],
    [
      { records: [{ value: 1, headers: ["x"] }] },
      "INVALID_REQUEST",
      "records[0].headers must be a JSON object",
    ],
    [{ records: [{ value: 1, headers: { "": "x" } }] }, "INVALID_REQUEST", "header names"],
    [{ records: [{ value: 1, color: "red" }] }, "INVALID_REQUEST", "unknown field 'color'"],
    [{ records: [{ value: "x".repeat(1000) }] }, "RECORD_TOO_LARGE", "max.message.bytes is 1000"],
    [
      { records: [{ value: 1 }], producer: { id: "p", epoch: 0, sequence: 0 } },
      "INVALID_REQUEST",
      "producer",
    ],
  ])("%j → %s", (body, code, message) => {
    const error = errorOf(body);
    expect(error.code).toBe(code);
    expect(error.message).toContain(message);
  });

  it("limits records a request to 10,000", () => {
    const records = Array.from({ length: 10_001 }, () => ({ value: 1 }));
    expect(errorOf({ records }, { partitions: 1, maxMessageBytes: 100 }).message).toContain("at most 10000");
    expect(() =>
      parseProduceRequest({ records: records.slice(1) }, { partitions: 1, maxMessageBytes: 100 }),
    ).not.toThrow();
  });

  it("limits headers a record and value nesting depth", () => {
    const headers = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`h${i}`, "v"]));
    expect(
      errorOf({ records: [{ value: 1, headers }] }, { partitions: 1, maxMessageBytes: 10_000 }).message,
    ).toContain("more than 64 headers");
    let deep: unknown = 1;
    for (let i = 0; i < 65; i++) deep = [deep];
    expect(errorOf({ records: [{ value: deep }] }).message).toContain("deeper than 64");
    let ok: unknown = 1;
    for (let i = 0; i < 64; i++) ok = [ok];
    expect(errorOf({ records: [{ value: ok }] }).code).toBe("no error");
  });

  it("names the first bad record so the client knows what to fix", () => {
    const error = errorOf({ records: [{ value: 1 }, { value: 2 }, { value: 3, key: [] }] });
    expect(error.message).toContain("records[2].key");
  });
});

describe("utf8Length", () => {
  it.each(["", "abc", "é", "€", "🎉", "a🎉é€", "\ud800", "x\udc00y"])(
    "matches TextEncoder for %j",
    (text) => {
      expect(utf8Length(text)).toBe(new TextEncoder().encode(text).length);
    },
  );
});
