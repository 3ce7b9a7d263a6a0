import { describe, expect, it } from "vitest";
import { partitionForKey } from "../../core/partitioner";
import { api, createTopic, fetchRecords, logEndOffsets, produce, readAll } from "./helpers";

/** Shorter than the 30 s long-poll: a poll that is not woken fails the test instead of answering late. */
const LONG_POLL_TEST_TIMEOUT_MS = 25_000;

describe("produce", () => {
  it("places keyed records with Kafka's partitioner and answers per record in request order", async () => {
    const topic = await createTopic({ partitions: 4 });
    const keys = ["user-1", "user-2", "user-3", "user-42", "user-1", "user-7"];
    const res = await produce(
      topic,
      keys.map((key, i) => ({ key, value: { i }, headers: { n: String(i) } })),
    );
    expect(res.status).toBe(200);
    expect(res.body.topic).toBe(topic);
    expect(res.body.results).toHaveLength(keys.length);
    const nextOffset = new Map<number, number>();
    res.body.results.forEach((result: any, i: number) => {
      const partition = partitionForKey(keys[i]!, 4);
      expect(result.partition).toBe(partition);
      // Within a partition, records keep request order with dense offsets.
      expect(result.offset).toBe(nextOffset.get(partition) ?? 0);
      nextOffset.set(partition, result.offset + 1);
      expect(typeof result.timestamp).toBe("number");
    });
    for (let p = 0; p < 4; p++) {
      const records = await readAll(topic, p);
      const expected = keys.flatMap((key, i) =>
        partitionForKey(key, 4) === p ? [{ key, value: { i }, headers: { n: String(i) } }] : [],
      );
      expect(records.map(({ key, value, headers }) => ({ key, value, headers }))).toEqual(expected);
    }
  });

  it("keeps explicit partitions, timestamps, any JSON value, bytes and unicode exactly", async () => {
    const topic = await createTopic({ partitions: 2 });
    const values = [
      null,
      0,
      -1.5,
      true,
      "",
      'é🎉\u0000"\\',
      [1, [2, [3]]],
      { nested: { deep: ["x"] } },
      1e300,
    ];
    const res = await produce(topic, [
      ...values.map((value, i) => ({ key: `κλειδί-${i}`, value, partition: 1, timestamp: 1000 + i })),
      { key: null, valueBase64: "AAECA/8=", partition: 1 },
    ]);
    expect(res.status).toBe(200);
    const records = await readAll(topic, 1);
    expect(records).toHaveLength(values.length + 1);
    values.forEach((value, i) => {
      expect(records[i]).toEqual({ offset: i, timestamp: 1000 + i, key: `κλειδί-${i}`, value, headers: {} });
    });
    expect(records[values.length]).toMatchObject({
      offset: values.length,
      key: null,
      valueBase64: "AAECA/8=",
    });
    expect(records[values.length].value).toBeUndefined();
    expect(await logEndOffsets(topic)).toEqual([0, values.length + 1]);
  });

  it("sends the keyless records of one request to one partition and moves on with the next", async () => {
    const topic = await createTopic({ partitions: 3 });
    const used: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await produce(topic, [{ value: 1 }, { value: 2 }, { value: 3 }]);
      const partitions = new Set(res.body.results.map((r: any) => r.partition));
      expect(partitions.size).toBe(1);
      used.push(res.body.results[0].partition);
    }
    expect(new Set(used).size).toBe(3);
  });

  it("acks=0 answers 202 with the count and the records become readable", async () => {
    const topic = await createTopic();
    const res = await produce(topic, [{ value: "a" }, { value: "b" }], "0");
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 2 });
    // Long-poll instead of sleeping: wakes as soon as the append lands.
    const fetched = await fetchRecords(topic, 0, "offset=0&waitMs=5000");
    expect(fetched.body.records.length).toBeGreaterThan(0);
    expect((await readAll(topic, 0)).map((r) => r.value)).toEqual(["a", "b"]);
  });

  it("acks=all and acks=-1 are accepted (as acks=1 until replication lands)", async () => {
    const topic = await createTopic();
    expect((await produce(topic, [{ value: 1 }], "all")).status).toBe(200);
    expect((await produce(topic, [{ value: 2 }], "-1")).status).toBe(200);
    expect((await api("POST", `/v1/topics/${topic}/records`, { records: [{ value: 3 }] })).status).toBe(200);
    expect(await logEndOffsets(topic)).toEqual([3]);
  });
});

describe("fetch", () => {
  async function topicWith(count: number) {
    const topic = await createTopic();
    const records = Array.from({ length: count }, (_, i) => ({
      key: `k${i}`,
      value: "v".repeat(90),
      timestamp: 10_000 + i * 10,
    }));
    expect((await produce(topic, records)).status).toBe(200);
    return topic;
  }

  it("reads from an offset, earliest and latest, with nextOffset, highWatermark and logStartOffset", async () => {
    const topic = await topicWith(10);
    const mid = await fetchRecords(topic, 0, "offset=4&maxRecords=3");
    expect(mid.status).toBe(200);
    expect(mid.body.records.map((r: any) => r.offset)).toEqual([4, 5, 6]);
    expect(mid.body).toMatchObject({ nextOffset: 7, highWatermark: 10, logStartOffset: 0 });
    expect((await fetchRecords(topic, 0, "offset=earliest&maxRecords=1")).body.records[0].offset).toBe(0);
    const latest = await fetchRecords(topic, 0, "offset=latest");
    expect(latest.body).toMatchObject({ records: [], nextOffset: 10, highWatermark: 10 });
    const atEnd = await fetchRecords(topic, 0, "offset=10");
    expect(atEnd.body).toMatchObject({ records: [], nextOffset: 10 });
  });

  it("starts at the first record whose timestamp is ≥ T", async () => {
    const topic = await topicWith(10);
    expect((await fetchRecords(topic, 0, "timestamp=10035")).body.records[0].offset).toBe(4);
    expect((await fetchRecords(topic, 0, "timestamp=10040")).body.records[0].offset).toBe(4);
    expect((await fetchRecords(topic, 0, "timestamp=0")).body.records[0].offset).toBe(0);
    expect((await fetchRecords(topic, 0, "timestamp=99999")).body).toMatchObject({
      records: [],
      nextOffset: 10,
    });
    // Out-of-order timestamps: the first record in offset order with timestamp ≥ T.
    await produce(topic, [
      { value: 1, timestamp: 5 },
      { value: 2, timestamp: 20_000 },
      { value: 3, timestamp: 10_001 },
    ]);
    expect((await fetchRecords(topic, 0, "timestamp=15000")).body.records[0].offset).toBe(11);
    expect((await fetchRecords(topic, 0, "timestamp=10000")).body.records[0].offset).toBe(0);
  });

  it("bounds an answer by maxRecords and maxBytes, but always returns at least one record", async () => {
    const topic = await topicWith(10);
    const all = await fetchRecords(topic, 0, "offset=0");
    expect(all.body.records).toHaveLength(10);
    // Each record is 2 (key) + 92 (value JSON) + 2 (headers) = 96 bytes.
    expect((await fetchRecords(topic, 0, "offset=0&maxBytes=200")).body.records).toHaveLength(2);
    expect((await fetchRecords(topic, 0, "offset=0&maxBytes=191")).body.records).toHaveLength(1);
    const tiny = await fetchRecords(topic, 0, "offset=3&maxBytes=1");
    expect(tiny.body.records.map((r: any) => r.offset)).toEqual([3]);
    expect(tiny.body.nextOffset).toBe(4);
  });

  it("answers OFFSET_OUT_OF_RANGE above the high watermark, with the offsets in the body", async () => {
    const topic = await topicWith(3);
    const res = await fetchRecords(topic, 0, "offset=4");
    expect(res.status).toBe(416);
    expect(res.body.error).toMatchObject({
      code: "OFFSET_OUT_OF_RANGE",
      retriable: false,
      logStartOffset: 0,
      highWatermark: 3,
    });
    expect(res.body).toMatchObject({ logStartOffset: 0, highWatermark: 3 });
  });

  it(
    "long-polls: a waiting fetch is woken by an append, long before waitMs",
    async () => {
      const topic = await createTopic();
      // waitMs is the contract's maximum and longer than this test may run: only a wake-up answers in time
      // (no speed threshold: the bench measures how fast).
      const waiting = fetchRecords(topic, 0, "offset=0&waitMs=30000");
      await new Promise((resolve) => setTimeout(resolve, 100));
      await produce(topic, [{ value: "wake" }]);
      const res = await waiting;
      expect(res.status).toBe(200);
      expect(res.body.records.map((r: any) => r.value)).toEqual(["wake"]);
    },
    LONG_POLL_TEST_TIMEOUT_MS,
  );

  it("long-polls: an idle fetch answers empty when waitMs is up", async () => {
    const topic = await createTopic();
    const started = Date.now();
    const res = await fetchRecords(topic, 0, "offset=latest&waitMs=300");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ records: [], nextOffset: 0 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it("long-polls: many waiting fetches on one partition are all woken by one append", async () => {
    const topic = await createTopic();
    const waiting = Array.from({ length: 20 }, () => fetchRecords(topic, 0, "offset=0&waitMs=20000"));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await produce(topic, [{ value: "all" }]);
    for (const res of await Promise.all(waiting))
      expect(res.body.records.map((r: any) => r.value)).toEqual(["all"]);
  });

  it("long-polls woken together share a read only when they ask for the same range and bounds", async () => {
    const topic = await createTopic({ partitions: 1 });
    await produce(topic, [{ value: "old", partition: 0 }]);
    // Three kinds of waiter, woken by one append: bounds and starts differ, each gets its own answer.
    const queries = ["offset=1&maxRecords=1", "offset=1&maxRecords=10", "offset=0&maxRecords=10"];
    const waiting = queries.flatMap((q) =>
      Array.from({ length: 4 }, () => fetchRecords(topic, 0, `${q}&waitMs=20000`)),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    await produce(
      topic,
      ["a", "b", "c"].map((value) => ({ value, partition: 0 })),
    );
    const answers = await Promise.all(waiting);
    const values = (i: number) => answers[i]!.body.records.map((r: any) => r.value);
    for (let i = 0; i < 4; i++) {
      expect(values(i)).toEqual(["a"]);
      expect(values(4 + i)).toEqual(["a", "b", "c"]);
      // offset=0 is below the high watermark: answered at once with "old" (a separate read).
      expect(values(8 + i)).toEqual(["old"]);
    }
  });
});
