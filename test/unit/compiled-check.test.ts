import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { compileCheck } from "../../schemas/compiled-check";
import { ProduceBody } from "../../schemas/produce";

const id = "a".repeat(64);
/** Mostly `valid`, sometimes one of `wrong`. */
const mostly = <T>(valid: fc.Arbitrary<T>, ...wrong: fc.Arbitrary<unknown>[]) =>
  fc.oneof({ arbitrary: valid, weight: 40 }, ...wrong.map((arbitrary) => ({ arbitrary, weight: 1 })));

/** Near-valid records: every field sometimes right, sometimes wrong in one way. */
const record = fc.record(
  {
    key: mostly(fc.oneof(fc.string({ maxLength: 4 }), fc.constant(null)), fc.integer()),
    value: mostly(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined)),
    valueBase64: mostly(fc.constantFrom("AAE=", "AQID", ""), fc.constant("not base64!"), fc.integer()),
    headers: mostly(
      fc.dictionary(fc.string({ minLength: 1, maxLength: 3 }), fc.string({ maxLength: 3 }), { maxKeys: 3 }),
      fc.constant({ "": "x" }),
      fc.constant({ h: 1 }),
      fc.constant([]),
      fc.constant(null),
    ),
    partition: mostly(fc.integer({ min: 0, max: 3 }), fc.constant(-1), fc.double(), fc.constant("0")),
    timestamp: mostly(fc.integer({ min: 0, max: 2 ** 53 - 1 }), fc.constant(-1), fc.constant(8.64e15 + 1)),
  },
  { requiredKeys: [] },
);
const withExtra = record.map((r) => ({ ...r, extra: 1 }));
const body = fc.record(
  {
    records: mostly(
      fc.array(mostly(record, withExtra, fc.constant(7)), { minLength: 1, maxLength: 4 }),
      fc.constant({}),
      fc.constant([]),
    ),
    producer: mostly(
      fc.record(
        {
          id: mostly(fc.constant(id), fc.constant("p"), fc.constant(7)),
          epoch: fc.integer({ min: -1, max: 3 }),
          sequence: fc.integer({ min: -1, max: 3 }),
        },
        { requiredKeys: [] },
      ),
      fc.constant(null),
    ),
    transactional: mostly(fc.boolean(), fc.constant("yes")),
  },
  { requiredKeys: ["records"] },
);
const withOther = body.map((b) => ({ ...b, other: true }));

describe("compileCheck", () => {
  it("answers exactly what zod's parse answers on produce bodies (valid and invalid alike)", () => {
    const check = compileCheck(ProduceBody);
    let valid = 0;
    fc.assert(
      fc.property(mostly(body, withOther, fc.anything()), (input) => {
        const parses = ProduceBody.safeParse(input).success;
        if (parses) valid++;
        expect(check(input)).toBe(parses);
      }),
      { numRuns: 4_000 },
    );
    // The generator must reach both answers, or the property says little.
    expect(valid).toBeGreaterThan(400);
  });

  it("refuses to compile what it cannot check, so it never silently disagrees", () => {
    expect(() => compileCheck(z.string().refine((s) => s.length > 1))).toThrow(/not supported/);
    expect(() => compileCheck(z.string().transform(Number))).toThrow(/not supported/);
    expect(() => compileCheck(z.object({ a: z.int() }).catchall(z.string()))).toThrow(/not supported/);
    expect(() => compileCheck(z.email())).toThrow(/not supported/);
  });
});
