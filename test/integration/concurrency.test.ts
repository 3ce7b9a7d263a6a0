import { describe, expect, it } from "vitest";
import { createTopic, produce, readAll } from "./helpers";

describe("concurrent producers on one partition", () => {
  it("20 producers get dense, unique, gap-free offsets and every acknowledged record reads back", async () => {
    const topic = await createTopic({ partitions: 2 });
    const acknowledged = new Map<number, { key: string; value: unknown; headers: Record<string, string> }>();
    const producers = Array.from({ length: 20 }, async (_, producer) => {
      for (let request = 0; request < 10; request++) {
        const size = 1 + ((producer + request) % 7); // batches of 1 to 7 records
        const records = Array.from({ length: size }, (_, i) => ({
          key: `p${producer}`,
          value: { producer, request, i },
          headers: { producer: String(producer) },
          partition: 0,
        }));
        const res = await produce(topic, records);
        expect(res.status).toBe(200);
        res.body.results.forEach((result: any, i: number) => {
          expect(result.partition).toBe(0);
          expect(acknowledged.has(result.offset)).toBe(false); // never handed out twice
          acknowledged.set(result.offset, {
            key: records[i]!.key,
            value: records[i]!.value,
            headers: records[i]!.headers,
          });
        });
        // One request's records are contiguous and in order.
        const offsets = res.body.results.map((r: any) => r.offset);
        expect(offsets).toEqual(offsets.map((_: number, i: number) => offsets[0] + i));
      }
    });
    await Promise.all(producers);

    const offsets = [...acknowledged.keys()].sort((a, b) => a - b);
    expect(offsets).toEqual(offsets.map((_, i) => i)); // dense from 0, no gaps
    const log = await readAll(topic, 0);
    expect(log).toHaveLength(acknowledged.size);
    for (const record of log) {
      const { key, value, headers } = acknowledged.get(record.offset)!;
      expect({ key: record.key, value: record.value, headers: record.headers }).toEqual({
        key,
        value,
        headers,
      });
    }
    // Per producer, its records appear in the order it sent them.
    for (let producer = 0; producer < 20; producer++) {
      const mine = log
        .filter((r) => r.value.producer === producer)
        .map((r) => r.value.request * 10 + r.value.i);
      expect(mine).toEqual([...mine].sort((a, b) => a - b));
    }
    expect(await readAll(topic, 1)).toEqual([]);
  });
});
