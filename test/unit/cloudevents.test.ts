import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  binaryToEvent,
  CONTEXT_ATTRIBUTES,
  eventToRecord,
  InvalidEvent,
  recordToEvent,
} from "../../core/cloudevents";

const BASE = { specversion: "1.0", id: "e-1", source: "/orders", type: "order.created" };

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    if (error instanceof InvalidEvent) return error.message;
    throw error;
  }
  throw new Error("accepted");
}

describe("CloudEvents on records (Kafka binding, binary mode)", () => {
  it("stores data as the value and attributes as ce_ headers; the partitionkey (else subject) keys the record", () => {
    const record = eventToRecord(
      {
        ...BASE,
        subject: "o-7",
        time: "2026-11-28T12:00:00Z",
        datacontenttype: "application/json",
        data: { n: 1 },
        tenant: "acme",
        partitionkey: "k-9",
        seq: 3,
      },
      "body",
    );
    expect(record).toEqual({
      key: "k-9",
      value: { n: 1 },
      headers: {
        ce_specversion: "1.0",
        ce_id: "e-1",
        ce_source: "/orders",
        ce_type: "order.created",
        ce_subject: "o-7",
        ce_time: "2026-11-28T12:00:00Z",
        "content-type": "application/json",
        ce_tenant: "acme",
        ce_partitionkey: "k-9",
        ce_seq: "3",
      },
    });
    expect(eventToRecord({ ...BASE, subject: "s" }, "b").key).toBe("s");
    expect(eventToRecord(BASE, "b")).toMatchObject({ key: null, value: null });
    expect(eventToRecord({ ...BASE, data_base64: "AAEC" }, "b")).toMatchObject({ valueBase64: "AAEC" });
  });

  it("refuses what the spec does not allow, naming the attribute", () => {
    expect(refusal(() => eventToRecord([], "body"))).toContain("JSON object");
    expect(refusal(() => eventToRecord({ ...BASE, specversion: "0.3" }, "body"))).toContain(
      "body.specversion",
    );
    for (const name of ["id", "source", "type"]) {
      expect(refusal(() => eventToRecord({ ...BASE, [name]: "" }, "body"))).toContain(`body.${name}`);
      expect(refusal(() => eventToRecord({ ...BASE, [name]: 7 }, "body"))).toContain(`body.${name}`);
    }
    expect(refusal(() => eventToRecord({ ...BASE, time: "yesterday" }, "b"))).toContain("RFC 3339");
    expect(refusal(() => eventToRecord({ ...BASE, data: 1, data_base64: "AA==" }, "b"))).toContain("both");
    expect(refusal(() => eventToRecord({ ...BASE, data_base64: "not base64!" }, "b"))).toContain("base64");
    expect(refusal(() => eventToRecord({ ...BASE, Tenant: "x" }, "b"))).toContain("'Tenant'");
    expect(refusal(() => eventToRecord({ ...BASE, a_b: "x" }, "b"))).toContain("'a_b'");
    expect(refusal(() => eventToRecord({ ...BASE, ["x".repeat(21)]: "x" }, "b"))).toContain("20");
    expect(refusal(() => eventToRecord({ ...BASE, ext: { nested: 1 } }, "b"))).toContain("b.ext");
    expect(refusal(() => eventToRecord({ ...BASE, ext: 1.5 }, "b"))).toContain("b.ext");
  });

  it("reads HTTP binary mode: ce- headers percent-decoded, the body by its content type", () => {
    const headers = (extra: [string, string][]): [string, string][] => [
      ["ce-specversion", "1.0"],
      ["ce-id", "e-2"],
      ["ce-source", "/x"],
      ["ce-type", "t"],
      ["ce-note", "caf%C3%A9 50%25"],
      ...extra,
    ];
    const json = binaryToEvent(
      headers([["Content-Type", "application/json"]]),
      new TextEncoder().encode('{"a":[1]}'),
    );
    expect(json).toEqual({
      specversion: "1.0",
      id: "e-2",
      source: "/x",
      type: "t",
      note: "café 50%",
      datacontenttype: "application/json",
      data: { a: [1] },
    });
    expect(
      binaryToEvent(headers([["content-type", "text/plain"]]), new TextEncoder().encode("hé")).data,
    ).toBe("hé");
    expect(
      binaryToEvent(headers([["content-type", "application/octet-stream"]]), new Uint8Array([0, 1, 2]))
        .data_base64,
    ).toBe("AAEC");
    expect(binaryToEvent(headers([]), null)).not.toHaveProperty("data");
    expect(refusal(() => binaryToEvent([["content-type", "application/json"]], null))).toContain(
      "ce-specversion",
    );
    expect(refusal(() => binaryToEvent(headers([["ce-bad", "%E0%A4%A"]]), null))).toContain("ce-bad");
    expect(
      refusal(() =>
        binaryToEvent(headers([["content-type", "application/json"]]), new TextEncoder().encode("{")),
      ),
    ).toContain("JSON");
  });

  it("over random events: record → event gives back the event (extensions as strings, data null as no data)", () => {
    const name = fc
      .stringMatching(/^[a-z0-9]{1,20}$/)
      .filter((n) => !CONTEXT_ATTRIBUTES.includes(n) && n !== "data");
    fc.assert(
      fc.property(
        fc.record(
          {
            id: fc.string({ minLength: 1 }),
            source: fc.string({ minLength: 1 }),
            type: fc.string({ minLength: 1 }),
            subject: fc.string({ minLength: 1 }),
            datacontenttype: fc.constantFrom("application/json", "text/plain"),
            data: fc.jsonValue().filter((v) => v !== null),
            extensions: fc.dictionary(name, fc.oneof(fc.string(), fc.boolean(), fc.integer())),
          },
          { requiredKeys: ["id", "source", "type"] },
        ),
        ({ extensions, ...attrs }) => {
          const event = { ...extensions, specversion: "1.0", ...attrs };
          const record = eventToRecord(event, "e");
          // The record as a fetch gives it back (JSON all the way).
          const read = JSON.parse(JSON.stringify({ value: record.value, headers: record.headers }));
          const back = recordToEvent(read)!;
          const expected = JSON.parse(JSON.stringify(event));
          for (const key in extensions) expected[key] = String(extensions[key]);
          expect(back).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
    expect(recordToEvent({ value: 1, headers: {} })).toBeNull();
  });
});
