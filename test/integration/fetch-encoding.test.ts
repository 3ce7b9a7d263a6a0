import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { testSeed } from "../seed";
import { api, createTopic, fetchRecords, join, poll, produce, uniqueGroup } from "./helpers";

/**
 * Fetch answers are spliced from stored JSON text (PartitionLog.recordsText): every
 * record must come back as it was sent, whatever its key, value and headers hold,
 * and maxRecords / maxBytes must cut where the byte-counting model says.
 */

// Keys and header strings with what JSON escaping is about: quotes, backslashes, control
// characters, non-BMP characters, and the separators JavaScript escapes but JSON need not.
const tricky = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.string({
    unit: fc.constantFrom('"', "\\", "\n", "\t", "\u0001", "\u001f", "\u2028", "/", "é", "😀"),
    maxLength: 8,
  }),
);
const record = fc.record({
  key: fc.option(tricky, { nil: null }),
  // As JSON carries it: fast-check's jsonValue may hold -0, which JSON text writes as 0.
  value: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v))),
  headers: fc.dictionary(
    tricky.filter((k) => k.length > 0),
    tricky,
    { maxKeys: 3 },
  ),
});

const utf8 = new TextEncoder();
/** A record's size as the gateway counts it (key + value JSON + headers JSON, UTF-8), for the maxBytes model. */
function sizeOf(r: { key: string | null; value: unknown; headers: Record<string, string> }): number {
  const key = r.key === null ? 0 : utf8.encode(r.key).length;
  return key + utf8.encode(JSON.stringify(r.value)).length + utf8.encode(JSON.stringify(r.headers)).length;
}

describe("fetch answers spliced from stored JSON", () => {
  it("every record comes back as sent, through fetch and a group poll", async () => {
    const seed = testSeed("fetch-encoding");
    const topic = await createTopic({ partitions: 1 });
    const sent: { key: string | null; value: unknown; headers: Record<string, string> }[] = [];
    await fc.assert(
      fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 8 }), async (records) => {
        const res = await produce(
          topic,
          records.map((r) => ({ ...r, partition: 0 })),
        );
        expect(res.status).toBe(200);
        const base = res.body.results[0].offset;
        sent.push(...records);
        const fetched = await fetchRecords(topic, 0, `offset=${base}&maxRecords=${records.length}`);
        expect(fetched.status).toBe(200);
        expect(fetched.body.records).toEqual(
          records.map((r, i) => ({
            offset: base + i,
            timestamp: res.body.results[i].timestamp,
            key: r.key,
            value: r.value,
            headers: r.headers,
          })),
        );
      }),
      { seed, numRuns: 40 },
    );
    const group = uniqueGroup();
    const m = await join(group, { topics: [topic], autoOffsetReset: "earliest" });
    const polled = await poll(group, m.memberId, `maxRecords=${sent.length}&maxBytes=16777216`);
    expect(polled.body.records.map((r: { key: unknown; value: unknown; headers: unknown }) => r)).toEqual(
      sent.map((r, i) => expect.objectContaining({ topic, partition: 0, offset: i, ...r })),
    );
  });

  it("maxRecords and maxBytes cut where the byte count says, always after at least one record", async () => {
    const seed = testSeed("fetch-encoding maxBytes");
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 14 }),
        fc.nat({ max: 11 }),
        fc.nat({ max: 12 }),
        fc.integer({ min: -1, max: 1 }),
        async (records, maxRecords, from, cutAt, delta) => {
          const topic = await createTopic({ partitions: 1 });
          expect(
            (
              await produce(
                topic,
                records.map((r) => ({ ...r, partition: 0 })),
              )
            ).status,
          ).toBe(200);
          const start = Math.min(from, records.length - 1);
          // maxBytes on, just under or just over the size of the first cutAt records read: the edges.
          const prefix = records.slice(start, start + cutAt).reduce((n, r) => n + sizeOf(r), 0);
          const maxBytes = Math.max(1, prefix + delta);
          const fetched = await fetchRecords(
            topic,
            0,
            `offset=${start}&maxRecords=${maxRecords}&maxBytes=${maxBytes}`,
          );
          expect(fetched.status).toBe(200);
          // The model: the first record always, then while the running size stays within maxBytes.
          let expected = 0;
          let bytes = 0;
          for (const r of records.slice(start, start + maxRecords)) {
            if (expected > 0 && bytes + sizeOf(r) > maxBytes) break;
            bytes += sizeOf(r);
            expected++;
          }
          expect(fetched.body.records.map((r: { offset: number }) => r.offset)).toEqual(
            Array.from({ length: expected }, (_, i) => start + i),
          );
          expect(fetched.body.nextOffset).toBe(start + expected);
          await api("DELETE", `/v1/topics/${topic}`);
        },
      ),
      { seed, numRuns: 25 },
    );
  });
});
