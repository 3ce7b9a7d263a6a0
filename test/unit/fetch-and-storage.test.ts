import { describe, expect, it } from "vitest";
import type { EdgelogError } from "../../core/errors";
import { resolveFetchOffset } from "../../core/fetch-position";
import { Histogram } from "../../core/histogram";
import { APPEND_CHUNK_BYTES_MAX } from "../../core/limits";
import { encodeAppendChunks } from "../../core/record-codec";
import { FetchQuery, limitsOf, PollQuery, pathInt, readQuery } from "../../schemas/query";

const log = { logStartOffset: 10, highWatermark: 20 };
const none = () => null;

describe("resolveFetchOffset", () => {
  it("resolves earliest, latest and in-range offsets", () => {
    expect(resolveFetchOffset({ kind: "earliest" }, log, none)).toEqual({ ok: true, value: 10 });
    expect(resolveFetchOffset({ kind: "latest" }, log, none)).toEqual({ ok: true, value: 20 });
    for (const offset of [10, 15, 20])
      expect(resolveFetchOffset({ kind: "offset", offset }, log, none)).toEqual({ ok: true, value: offset });
  });

  it("answers OFFSET_OUT_OF_RANGE below logStartOffset and above the high watermark, with both offsets", () => {
    for (const offset of [0, 9, 21, Number.MAX_SAFE_INTEGER]) {
      const result = resolveFetchOffset({ kind: "offset", offset }, log, none);
      expect(result.ok).toBe(false);
      if (!result.ok)
        expect(result.error).toMatchObject({
          code: "OFFSET_OUT_OF_RANGE",
          logStartOffset: 10,
          highWatermark: 20,
        });
    }
  });

  it("starts a timestamp fetch at the found offset, clamped to the readable range, or at the high watermark", () => {
    expect(resolveFetchOffset({ kind: "timestamp", timestamp: 1 }, log, () => 12)).toEqual({
      ok: true,
      value: 12,
    });
    expect(resolveFetchOffset({ kind: "timestamp", timestamp: 1 }, log, () => 3)).toEqual({
      ok: true,
      value: 10,
    });
    expect(resolveFetchOffset({ kind: "timestamp", timestamp: 1 }, log, () => 25)).toEqual({
      ok: true,
      value: 20,
    });
    expect(resolveFetchOffset({ kind: "timestamp", timestamp: 1 }, log, none)).toEqual({
      ok: true,
      value: 20,
    });
  });
});

describe("encodeAppendChunks", () => {
  const record = (size: number) => ({
    key: null,
    valueJson: `"${"x".repeat(size)}"`,
    valueBase64: null,
    headersJson: "{}",
    sizeBytes: size + 4,
  });

  it("encodes tuples that parse back to the records, in order", () => {
    const records = [
      { key: 'k"1', valueJson: '{"a":1}', valueBase64: null, headersJson: '{"h":"v"}', sizeBytes: 19 },
      { key: null, valueJson: "null", valueBase64: "AAEC", headersJson: "{}", sizeBytes: 6 },
    ];
    const [chunk] = encodeAppendChunks(records, [5, 6]);
    expect(chunk!.count).toBe(2);
    expect(JSON.parse(chunk!.records)).toEqual([
      [5, 'k"1', { a: 1 }, { h: "v" }, null, 19],
      [6, null, null, {}, "AAEC", 6],
    ]);
  });

  it("splits a large batch into bounded chunks without losing or reordering records", () => {
    const records = Array.from({ length: 50 }, () => record(100_000));
    const chunks = encodeAppendChunks(
      records,
      records.map((_, i) => i),
    );
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.reduce((n, c) => n + c.count, 0)).toBe(50);
    const timestamps = chunks.flatMap((c) => (JSON.parse(c.records) as number[][]).map((t) => t[0]));
    expect(timestamps).toEqual(records.map((_, i) => i));
    for (const chunk of chunks)
      expect(chunk.records.length).toBeLessThanOrEqual(APPEND_CHUNK_BYTES_MAX + 200);
  });

  it("sends a record larger than a chunk on its own", () => {
    const chunks = encodeAppendChunks([record(10), record(1_500_000), record(10)], [1, 2, 3]);
    expect(chunks.map((c) => c.count)).toEqual([1, 1, 1]);
  });
});

describe("query parameters", () => {
  const codeOf = (fn: () => unknown) => {
    try {
      fn();
      return "no error";
    } catch (error) {
      return (error as EdgelogError).info.code;
    }
  };

  it("refuses unknown and repeated parameters", () => {
    expect(codeOf(() => readQuery("http://x/?offset=1&bogus=2", FetchQuery))).toBe("INVALID_REQUEST");
    expect(codeOf(() => readQuery("http://x/?offset=1&offset=2", FetchQuery))).toBe("INVALID_REQUEST");
    expect(readQuery("http://x/?offset=1", FetchQuery).offset).toBe(1);
    expect(readQuery("http://x/?offset=earliest", FetchQuery).offset).toBe("earliest");
  });

  it.each(["-1", "1.5", "1e3", "+1", "0x10", "", " 1", "abc", "99999999999999999999", "10001"])(
    "refuses maxRecords=%j",
    (text) => {
      const url = `http://x/?maxRecords=${encodeURIComponent(text)}`;
      expect(codeOf(() => readQuery(url, PollQuery))).toBe("INVALID_REQUEST");
    },
  );

  it("accepts in-range decimal integers and applies defaults", () => {
    expect(readQuery("http://x/?maxRecords=0042", PollQuery).maxRecords).toBe(42);
    expect(limitsOf(readQuery("http://x/", PollQuery)).maxRecords).toBe(500);
    expect(pathInt("12", "partition")).toBe(12);
    expect(codeOf(() => pathInt("-1", "partition"))).toBe("INVALID_REQUEST");
    expect(codeOf(() => pathInt("1.0", "partition"))).toBe("INVALID_REQUEST");
  });
});

describe("Histogram", () => {
  it("renders cumulative Prometheus buckets, sum and count", () => {
    const h = new Histogram();
    for (const v of [0.2, 3, 3, 40_000]) h.observe(v);
    const text = h.render("lat", 'api="p"');
    expect(text).toContain('lat_bucket{api="p",le="0.5"} 1\n');
    expect(text).toContain('lat_bucket{api="p",le="5"} 3\n');
    expect(text).toContain('lat_bucket{api="p",le="30000"} 3\n');
    expect(text).toContain('lat_bucket{api="p",le="+Inf"} 4\n');
    expect(text).toContain('lat_count{api="p"} 4\n');
    expect(text).toContain('lat_sum{api="p"} 40006.2\n');
  });
});
