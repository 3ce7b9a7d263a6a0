import { describe, expect, it } from "vitest";
import { newSpanId, parseTraceContext } from "../../core/trace-context";

const VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

describe("W3C trace context", () => {
  it("parses a traceparent and keeps its tracestate", () => {
    expect(parseTraceContext(VALID, "congo=t61rcWkgMzE")).toEqual({
      traceparent: VALID,
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      parentId: "00f067aa0ba902b7",
      tracestate: "congo=t61rcWkgMzE",
    });
    // Upper case and surrounding blanks are tolerated; a future version may carry more fields.
    expect(parseTraceContext(` ${VALID.toUpperCase()} `, undefined)?.traceparent).toBe(VALID);
    expect(parseTraceContext(`01-${VALID.slice(3)}-future`, undefined)?.traceId).toBe(
      "4bf92f3577b34da6a3ce929d0e0e4736",
    );
  });

  it("ignores what the recommendation calls invalid, and an oversized tracestate", () => {
    for (const bad of [
      "",
      "garbage",
      `ff-${VALID.slice(3)}`, // version ff
      `${VALID}-extra`, // version 00 has nothing after the flags
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01", // all-zero trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", // all-zero parent id
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", // short trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01", // not hex
    ])
      expect(parseTraceContext(bad, undefined)).toBeNull();
    expect(parseTraceContext(undefined, "a=b")).toBeNull();
    expect(parseTraceContext(VALID, "a".repeat(513))?.tracestate).toBeNull();
  });

  it("makes span ids of 16 hex digits", () => {
    const ids = new Set(Array.from({ length: 100 }, () => newSpanId()));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
  });
});
