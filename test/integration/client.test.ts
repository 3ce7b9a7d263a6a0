import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Edgelog } from "../../client/src/index";

/**
 * The SDK runs unchanged inside workerd (as in a Worker that produces to and
 * consumes from edgelog): its fetch is the gateway's own (SELF), everything else
 * is the Workers runtime's.
 */
describe("the SDK inside workerd", () => {
  const edgelog = new Edgelog({ url: "http://localhost", fetch: (input, init) => SELF.fetch(input, init) });

  it("produces with batching and idempotence, reads back, and consumes as a group member", async () => {
    const topic = `sdk-${Date.now().toString(36)}`;
    await edgelog.admin.createTopic(topic, { partitions: 2, replicationFactor: 1 });
    const producer = edgelog.producer({ lingerMs: 2 });
    const acks = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        producer.send({ topic, key: `k${i % 5}`, value: { i }, headers: { n: String(i) } }),
      ),
    );
    await producer.close();
    const read = [];
    for (const partition of [0, 1])
      for (const r of (await edgelog.admin.fetch(topic, partition, { offset: 0, maxRecords: 1_000 })).records)
        read.push({ ...r, partition });
    expect(read).toHaveLength(200);
    for (const [i, ack] of acks.entries()) {
      const found = read.find((r) => (r.value as { i: number }).i === i)!;
      expect([found.partition, found.offset]).toEqual([ack.partition, ack.offset]);
      expect(found.headers).toEqual({ n: String(i) });
    }
    const consumer = edgelog.consumer({
      group: `g-${topic}`,
      topics: [topic],
      autoOffsetReset: "earliest",
      waitMs: 0,
    });
    const seen = new Set<number>();
    for (let polls = 0; seen.size < 200 && polls < 50; polls++) {
      const batch = await consumer.poll();
      for (const r of batch!.records) seen.add((r.value as { i: number }).i);
      await consumer.commit();
    }
    await consumer.close();
    expect(seen.size).toBe(200);
    expect((await edgelog.admin.groupOffsets(`g-${topic}`)).every((o) => o.lag === 0)).toBe(true);
  });
});
