import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { EdgelogError } from "../../core/errors";
import { streamBody } from "../../core/stream-body";
import { responseCursor, sseEvent } from "../../core/stream-cursor";
import { expiryOf, forkExpiry, forkOf, producerOf } from "../../core/stream-headers";
import { jsonAppend, jsonPrefix, jsonRead } from "../../core/stream-json";
import { parseReadOffset, STREAM_OFFSET_ZERO, streamOffset, streamPosition } from "../../core/stream-offsets";
import { checkProducer, type StreamProducerState } from "../../core/stream-producers";

/** The pure parts of the Durable Streams protocol (/v1/stream/*); the conformance suite runs end to end. */

const headers = (map: Record<string, string>) => (name: string) => map[name] ?? null;
const code = (work: () => unknown) => {
  try {
    work();
  } catch (error) {
    return (error as EdgelogError).info.code;
  }
  return "none";
};

describe("Durable Streams offsets", () => {
  it("string order is stream order, and every minted offset parses back", () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), (a, b) => {
        expect(streamPosition(streamOffset(a))).toBe(a);
        expect(Math.sign(streamOffset(a).localeCompare(streamOffset(b), "en"))).toBe(Math.sign(a - b));
        expect(streamOffset(a) < streamOffset(b)).toBe(a < b);
      }),
    );
    expect(streamOffset(0)).toBe(STREAM_OFFSET_ZERO);
  });

  it("reads take -1, now or a minted offset, once; anything else is a 400", () => {
    expect(parseReadOffset([])).toEqual({ kind: "start" });
    expect(parseReadOffset(["-1"])).toEqual({ kind: "start" });
    expect(parseReadOffset(["now"])).toEqual({ kind: "now" });
    expect(parseReadOffset([streamOffset(42)])).toEqual({ kind: "at", position: 42 });
    for (const bad of [
      [""],
      ["1,2"],
      ["0 1"],
      ["12"],
      ["0000000000000001_0000000000000000"],
      ["-2"],
      ["x", "y"],
    ])
      expect(code(() => parseReadOffset(bad))).toBe("INVALID_REQUEST");
  });
});

describe("Durable Streams headers", () => {
  it("Stream-TTL is a plain decimal; Expires-At is RFC 3339; never both", () => {
    expect(expiryOf(headers({ "stream-ttl": "3600" }))).toEqual({ ttlSeconds: 3600 });
    expect(expiryOf(headers({ "stream-expires-at": "2030-01-01T00:00:00+02:00" }))).toEqual({
      expiresAt: "2030-01-01T00:00:00+02:00",
    });
    for (const ttl of ["03600", "+3600", "3600.0", "3.6e3", "-1", " 1", "", "999999999999"])
      expect(code(() => expiryOf(headers({ "stream-ttl": ttl })))).toBe("INVALID_REQUEST");
    for (const at of ["tomorrow", "2030-01-01", "2030-13-01T00:00:00Z"])
      expect(code(() => expiryOf(headers({ "stream-expires-at": at })))).toBe("INVALID_REQUEST");
    const both = headers({ "stream-ttl": "1", "stream-expires-at": "2030-01-01T00:00:00Z" });
    expect(code(() => expiryOf(both))).toBe("INVALID_REQUEST");
  });

  it("a fork inherits its source's expiry only when it asks for none", () => {
    expect(forkExpiry({}, { ttlSeconds: 5 })).toEqual({ ttlSeconds: 5 });
    expect(forkExpiry({}, { expiresAt: "2030-01-01T00:00:00Z" })).toEqual({
      expiresAt: "2030-01-01T00:00:00Z",
    });
    expect(forkExpiry({ ttlSeconds: 9 }, { expiresAt: "2030-01-01T00:00:00Z" })).toEqual({ ttlSeconds: 9 });
    expect(forkExpiry({}, {})).toEqual({});
  });

  it("fork headers need Stream-Forked-From; a sub-offset needs a fork offset", () => {
    expect(forkOf(headers({}))).toBeNull();
    expect(forkOf(headers({ "stream-forked-from": "/v1/stream/a" }))).toEqual({
      from: "/v1/stream/a",
      position: null,
      subOffset: 0,
    });
    expect(code(() => forkOf(headers({ "stream-fork-sub-offset": "0" })))).toBe("INVALID_REQUEST");
    const from = { "stream-forked-from": "/v1/stream/a" };
    expect(code(() => forkOf(headers({ ...from, "stream-fork-sub-offset": "2" })))).toBe("INVALID_REQUEST");
    expect(code(() => forkOf(headers({ ...from, "stream-fork-offset": "12" })))).toBe("INVALID_REQUEST");
    const at = { ...from, "stream-fork-offset": streamOffset(5) };
    for (const sub of ["-1", "01", "1.5", ""])
      expect(code(() => forkOf(headers({ ...at, "stream-fork-sub-offset": sub })))).toBe("INVALID_REQUEST");
  });

  it("producer headers come all three or none, as integers up to 2^53-1", () => {
    expect(producerOf(headers({}))).toBeNull();
    expect(producerOf(headers({ "producer-id": "p", "producer-epoch": "0", "producer-seq": "7" }))).toEqual({
      id: "p",
      epoch: 0,
      seq: 7,
    });
    const cases: Record<string, string>[] = [
      { "producer-id": "p" },
      { "producer-id": "", "producer-epoch": "0", "producer-seq": "0" },
      { "producer-id": "p", "producer-epoch": "1e3", "producer-seq": "0" },
      { "producer-id": "p", "producer-epoch": "0", "producer-seq": "-1" },
      { "producer-id": "p", "producer-epoch": "9007199254740992", "producer-seq": "0" },
    ];
    for (const bad of cases) expect(code(() => producerOf(headers(bad)))).toBe("INVALID_REQUEST");
  });
});

describe("Durable Streams idempotent producers", () => {
  it("retries, reorders and restarts append each request exactly once, in sequence order per epoch", () => {
    // A client sends requests 0..n-1 of an epoch, each possibly repeated; the stream applies accepts.
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 12 }), { maxLength: 60 }), fc.nat({ max: 3 }), (sends, epoch) => {
        let state: StreamProducerState | undefined;
        const applied: number[] = [];
        for (const seq of sends) {
          const verdict = checkProducer(state, epoch, seq);
          // A repeat of anything applied is a duplicate (answered 204), never a gap.
          if (applied.includes(seq)) expect(verdict.kind).toBe("duplicate");
          if (verdict.kind === "accept") {
            state = verdict.state;
            applied.push(seq);
          } else if (verdict.kind === "duplicate") expect(seq).toBeLessThanOrEqual(state!.lastSeq);
          else expect(verdict.kind).toBe("gap");
        }
        expect(applied).toEqual(applied.map((_, i) => i));
      }),
    );
  });

  it("fences older epochs, and a newer epoch starts at 0", () => {
    const state = { epoch: 2, lastSeq: 5 };
    expect(checkProducer(state, 1, 6)).toEqual({ kind: "fenced", epoch: 2 });
    expect(checkProducer(state, 3, 1)).toEqual({ kind: "epochStartsAtZero" });
    expect(checkProducer(state, 3, 0)).toEqual({ kind: "accept", state: { epoch: 3, lastSeq: 0 } });
    expect(checkProducer(state, 2, 5)).toEqual({ kind: "duplicate", lastSeq: 5 });
    expect(checkProducer(state, 2, 8)).toEqual({ kind: "gap", expected: 6, received: 8 });
    expect(checkProducer(undefined, 0, 1)).toEqual({ kind: "gap", expected: 0, received: 1 });
  });
});

/** A body that appends something: any JSON value but the empty array (which appends nothing). */
const appendable = fc.jsonValue().filter((value) => !(Array.isArray(value) && value.length === 0));

describe("Durable Streams JSON mode", () => {
  it("a read returns every appended value, arrays flattened one level", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(appendable, fc.array(fc.jsonValue(), { minLength: 1 })), { minLength: 1 }),
        (bodies) => {
          const stored = bodies.map((body) => jsonAppend(JSON.stringify(body), false));
          const expected = bodies.flatMap((body) => (Array.isArray(body) ? body : [body]));
          expect(JSON.parse(jsonRead(stored))).toEqual(JSON.parse(JSON.stringify(expected)));
        },
      ),
    );
  });

  it("a read body splices stored appends: one JSON array, or the bytes in order", () => {
    fc.assert(
      fc.property(fc.array(fc.array(appendable, { minLength: 1 })), (bodies) => {
        const stored = bodies.map((values) =>
          new TextEncoder().encode(jsonAppend(JSON.stringify(values), false)),
        );
        const text = new TextDecoder().decode(streamBody(true, stored));
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(bodies.flat())));
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1 })), (appends) => {
        const all = appends.flatMap((append) => [...append]);
        expect([...streamBody(false, appends)]).toEqual(all);
      }),
    );
  });

  it("an empty array creates an empty stream but is no append; invalid JSON is a 400", () => {
    expect(jsonAppend("[]", true)).toBe("");
    expect(code(() => jsonAppend("[]", false))).toBe("INVALID_REQUEST");
    expect(code(() => jsonAppend("{", false))).toBe("INVALID_REQUEST");
    expect(jsonAppend("[[1,2],[3]]", false)).toBe("[1,2],[3]");
    expect(jsonRead([])).toBe("[]");
  });

  it("a sub-offset takes the first values of an append, never more than it has", () => {
    expect(jsonPrefix('{"a":1},2,"x"', 2)).toBe('{"a":1},2');
    expect(jsonPrefix("1,2", 2)).toBe("1,2");
    expect(jsonPrefix("1,2", 3)).toBeNull();
  });
});

describe("Durable Streams live reads", () => {
  it("cursors never go back, and an echoed current cursor gets a later one", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 10 ** 12 }),
        fc.nat({ max: 10 ** 6 }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        (now, echo, r) => {
          const current = Number(responseCursor(null, now));
          const answered = Number(responseCursor(String(echo), now, () => r));
          if (echo < current) expect(answered).toBe(current);
          else expect(answered).toBeGreaterThan(echo);
        },
      ),
    );
  });

  it("no payload can end an SSE event or start another: every line is data", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom("a", "\r", "\n", ":", "event: control", " ") }),
        (payload) => {
          const event = sseEvent("data", payload);
          const lines = event.slice(0, -2).split("\n");
          expect(lines[0]).toBe("event: data");
          for (const line of lines.slice(1)) expect(line.startsWith("data:")).toBe(true);
          expect(
            lines
              .slice(1)
              .map((line) => line.slice(5))
              .join("\n"),
          ).toBe(payload.replace(/\r\n|\r/g, "\n"));
        },
      ),
    );
  });
});
