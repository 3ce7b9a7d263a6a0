import { describe, expect, it } from "vitest";
import { api, createTopic, fetchRecords } from "./helpers";

/** API.md "Streams for the web": POST …/partitions/{p}/records?expectedOffset=N. */

function append(topic: string, partition: number, query: string, body: Record<string, unknown>) {
  return api("POST", `/v1/topics/${topic}/partitions/${partition}/records?${query}`, body);
}

const values = async (topic: string, partition: number) =>
  (await fetchRecords(topic, partition, "offset=0&maxRecords=1000")).body.records.map((r: any) => r.value);

describe("conditional append", () => {
  it("appends only where the log ends at expectedOffset; otherwise 412 with logEndOffset, nothing appended", async () => {
    const topic = await createTopic({ partitions: 2 });
    const first = await append(topic, 1, "expectedOffset=0", { records: [{ value: "a" }, { value: "b" }] });
    expect(first.status).toBe(200);
    expect(first.body.results.map((r: any) => [r.partition, r.offset])).toEqual([
      [1, 0],
      [1, 1],
    ]);
    const stale = await append(topic, 1, "expectedOffset=1", { records: [{ value: "x" }] });
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({
      error: { code: "OFFSET_MISMATCH", logEndOffset: 2 },
      logEndOffset: 2,
    });
    const next = await append(topic, 1, "expectedOffset=2&acks=all", { records: [{ key: "k", value: "c" }] });
    expect(next.body.results[0]).toMatchObject({ partition: 1, offset: 2 });
    // Without expectedOffset: a plain append to the named partition (keys do not move it).
    expect((await append(topic, 1, "acks=1", { records: [{ key: "other", value: "d" }] })).status).toBe(200);
    expect(await values(topic, 1)).toEqual(["a", "b", "c", "d"]);
    expect(await values(topic, 0)).toEqual([]);
  });

  it("of concurrent appends expecting the same offset, exactly one wins (the check is in the write's commit)", async () => {
    const topic = await createTopic();
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => append(topic, 0, "expectedOffset=0", { records: [{ value: i }] })),
    );
    const won = answers.filter((a) => a.status === 200);
    expect(won).toHaveLength(1);
    expect(answers.filter((a) => a.status === 412)).toHaveLength(19);
    expect(answers.every((a) => a.status === 200 || a.body.logEndOffset === 1)).toBe(true);
    // The log holds the winner's record, once.
    const winner = answers.indexOf(won[0]!);
    expect(await values(topic, 0)).toEqual([winner]);
  });

  it("composes with idempotent producers: a retried sequence gets its original answer, a refused one stays unapplied", async () => {
    const topic = await createTopic();
    const producer = (await api("POST", "/v1/producers", {})).body;
    const send = (sequence: number, expected: number, value: string) =>
      append(topic, 0, `expectedOffset=${expected}`, {
        records: [{ value }],
        producer: { ...producer, sequence },
      });
    expect((await send(0, 0, "p0")).body.results[0].offset).toBe(0);
    // The same request again (its answer was lost): the original result, though the log moved on.
    const again = await send(0, 0, "p0");
    expect(again.status).toBe(200);
    expect(again.body.results[0].offset).toBe(0);
    const refused = await send(1, 0, "p1");
    expect(refused.status).toBe(412);
    // Sequence 1 was not applied: sent again with the right offset, it is appended.
    expect((await send(1, 1, "p1")).body.results[0].offset).toBe(1);
    expect(await values(topic, 0)).toEqual(["p0", "p1"]);
  });

  it("refuses malformed, wrong-typed and out-of-range input with a 4xx, appending nothing", async () => {
    const topic = await createTopic({ partitions: 2 });
    const record = { records: [{ value: 1 }] };
    const cases: [number | string, string, unknown, number, string][] = [
      [0, "expectedOffset=-1", record, 400, "expectedOffset"],
      [0, "expectedOffset=x", record, 400, "expectedOffset"],
      [0, "expectedOffset=1.5", record, 400, "expectedOffset"],
      [0, "expectedOffset=0&expectedOffset=0", record, 400, "expectedOffset"],
      [0, "expectedOffset=0&acks=0", record, 400, "acks=0"],
      [0, "expectedOffset=0&acks=2", record, 400, "acks"],
      [0, "expectedOffset=0&other=1", record, 400, "other"],
      [0, "expectedOffset=0", { records: [{ value: 1, partition: 0 }] }, 400, "partition"],
      [0, "expectedOffset=0", { records: [] }, 400, "at least one"],
      [0, "expectedOffset=0", { records: "x" }, 400, "records"],
      [2, "expectedOffset=0", record, 404, "partition 2"],
      ["x", "expectedOffset=0", record, 400, "partition"],
    ];
    for (const [partition, query, body, status, says] of cases) {
      const res = await api("POST", `/v1/topics/${topic}/partitions/${partition}/records?${query}`, body);
      expect(res.status, `${partition} ${query}`).toBe(status);
      expect(res.text).toContain(says);
    }
    expect((await append("never-made-cond", 0, "expectedOffset=0", record)).status).toBe(404);
    expect(await values(topic, 0)).toEqual([]);
    expect(await values(topic, 1)).toEqual([]);
  });
});
