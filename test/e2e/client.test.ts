import { Edgelog } from "@edgelog/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { LocalServer, tempStateDir } from "./server";

/** The SDK (the built @edgelog/client package) against what `npm start` runs. */

const PARTITIONS = 3;
const CRASH_RECORDS = 3_000;
/** Records sent a millisecond at most, so the crashes land in the middle of the stream. */
const SEND_PER_MS = 1;

async function readAll(edgelog: Edgelog, topic: string, partition: number) {
  const records = [];
  let offset = 0;
  for (;;) {
    const answer = await edgelog.admin.fetch(topic, partition, { offset, maxRecords: 5_000 });
    records.push(...answer.records);
    if (answer.nextOffset >= answer.highWatermark) return records;
    offset = answer.nextOffset;
  }
}

describe("the SDK producer across server crashes", () => {
  const server = new LocalServer(tempStateDir());
  afterAll(() => server.stop("SIGKILL"));

  it(`an idempotent producer sends ${CRASH_RECORDS} records while the server is SIGKILLed twice: every record exactly once, in order`, async () => {
    await server.start();
    const edgelog = new Edgelog({ url: server.url, WebSocket });
    await edgelog.admin.createTopic("crash", { partitions: PARTITIONS, replicationFactor: 1 });
    const producer = edgelog.producer({ lingerMs: 5, batchMaxRecords: 100 });
    const sends: Promise<{ partition: number; offset: number }>[] = [];
    const crashes = (async () => {
      for (const atRecords of [CRASH_RECORDS / 3, (2 * CRASH_RECORDS) / 3]) {
        while (sends.length < atRecords) await new Promise((resolve) => setTimeout(resolve, 5));
        await server.stop("SIGKILL");
        await server.start(); // same state directory, new ports are not needed: same URL
      }
    })();
    for (let i = 0; i < CRASH_RECORDS; i++) {
      sends.push(producer.send({ topic: "crash", key: `k${i % 50}`, value: { i } }));
      if (i % SEND_PER_MS === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await crashes;
    const acknowledged = await Promise.all(sends);
    await producer.close();

    const byValue = new Map<number, { partition: number; offset: number }>();
    for (let p = 0; p < PARTITIONS; p++)
      for (const r of await readAll(edgelog, "crash", p)) {
        const i = (r.value as { i: number }).i;
        expect(byValue.has(i), `value ${i} appears twice`).toBe(false);
        byValue.set(i, { partition: p, offset: r.offset });
      }
    expect(byValue.size).toBe(CRASH_RECORDS);
    for (const [i, ack] of acknowledged.entries())
      expect(byValue.get(i)).toEqual({ partition: ack.partition, offset: ack.offset });
    // Per partition, offsets follow send order.
    for (let p = 0; p < PARTITIONS; p++) {
      const sent = [...acknowledged.entries()].filter(([, a]) => a.partition === p).map(([, a]) => a.offset);
      expect(sent).toEqual([...sent].sort((a, b) => a - b));
    }
  });
});

describe("the SDK consumer and tails", () => {
  const server = new LocalServer(tempStateDir());
  let edgelog: Edgelog;
  const RECORDS = 1_000;
  beforeAll(async () => {
    await server.start();
    edgelog = new Edgelog({ url: server.url, WebSocket });
    await edgelog.admin.createTopic("orders", { partitions: 2, replicationFactor: 1 });
    const producer = edgelog.producer();
    await Promise.all(
      Array.from({ length: RECORDS }, (_, i) =>
        producer.send({ topic: "orders", key: `u${i % 7}`, value: i }),
      ),
    );
    await producer.close();
  });
  afterAll(() => server.stop("SIGKILL"));

  for (const transport of ["http", "websocket"] as const)
    it(`${transport}: a member reads, commits after processing, and the next member resumes there`, async () => {
      const group = `g-${transport}`;
      const seen: number[] = [];
      const assignedTo: string[] = [];
      const first = edgelog.consumer({
        group,
        topics: ["orders"],
        autoOffsetReset: "earliest",
        transport,
        maxRecords: 100,
        onAssigned: (a) => assignedTo.push(a.map((tp) => tp.partition).join(",")),
      });
      for await (const batch of first) {
        for (const r of batch.records) seen.push(r.value as number);
        await first.commit();
        if (seen.length >= RECORDS / 2) break;
      }
      await first.close();
      expect(assignedTo[0]).toBe("0,1");
      const resumed = edgelog.consumer({ group, topics: ["orders"], transport, autoCommit: true });
      for await (const batch of resumed) {
        for (const r of batch.records) seen.push(r.value as number);
        if (seen.length >= RECORDS) break;
      }
      await resumed.close();
      expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: RECORDS }, (_, i) => i));
      const offsets = await edgelog.admin.groupOffsets(group);
      expect(offsets.reduce((n, o) => n + o.lag, 0)).toBe(0);
    });

  it("subscribe(): a partition tail from an offset, then live records", async () => {
    const tail = edgelog.subscribe({ topic: "orders", partition: 0, offset: "earliest", credits: 50 });
    const got: number[] = [];
    const producer = edgelog.producer();
    let live = false;
    const partition0 = (await edgelog.admin.describeTopic("orders")).partitionInfo[0]!.highWatermark;
    for await (const records of tail) {
      got.push(...records.map((r) => r.offset));
      if (!live && got.length >= partition0) {
        live = true;
        await producer.send({ topic: "orders", partition: 0, value: "live" });
      }
      if (got.length > partition0) break;
    }
    tail.close();
    expect(got).toEqual(Array.from({ length: partition0 + 1 }, (_, i) => i));
  });
});
