import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { LocalServer, tempStateDir, until } from "./server";

/** Sockets tailing one partition at once (issue 5). */
const TAIL_SOCKETS = 200;
const RECORDS = 100;
/** Longer than workerd's idle time before it hibernates an object holding only hibernatable sockets. */
const IDLE_MS = 12_000;

function open(url: string): Promise<{ ws: WebSocket; frames: any[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const frames: any[] = [];
    ws.on("message", (data) => frames.push(JSON.parse(String(data))));
    ws.once("open", () => resolve({ ws, frames }));
    ws.once("error", reject);
  });
}

describe("WebSocket against a real server with real ws clients", () => {
  const server = new LocalServer(tempStateDir());
  afterAll(() => server.stop("SIGKILL"));

  it(`${TAIL_SOCKETS} concurrent tail sockets on one partition each receive every record in order`, async () => {
    await server.start();
    const wsUrl = `${server.url.replace("http", "ws")}/v1/ws`;
    expect(
      (await server.request("POST", "/v1/topics", { name: "tails", partitions: 1, replicationFactor: 1 }))
        .status,
    ).toBe(201);
    const sockets = await Promise.all(Array.from({ length: TAIL_SOCKETS }, () => open(wsUrl)));
    for (const [i, s] of sockets.entries())
      s.ws.send(JSON.stringify({ op: "subscribe", id: i, topic: "tails", partition: 0, offset: "earliest" }));
    await until(() => sockets.every((s) => s.frames.some((f) => f.op === "subscribed")), 30_000);
    expect(sockets.every((s) => s.frames.some((f) => f.op === "subscribed"))).toBe(true);

    for (let batch = 0; batch < RECORDS / 10; batch++) {
      const records = Array.from({ length: 10 }, (_, i) => ({ value: batch * 10 + i }));
      expect((await server.request("POST", "/v1/topics/tails/records?acks=1", { records })).status).toBe(200);
    }
    const offsetsOf = (s: { frames: any[] }) =>
      s.frames.filter((f) => f.op === "records").flatMap((f) => f.records.map((r: any) => r.offset));
    await until(() => sockets.every((s) => offsetsOf(s).length >= RECORDS), 60_000);
    for (const s of sockets) {
      expect(offsetsOf(s)).toEqual(Array.from({ length: RECORDS }, (_, i) => i));
      expect(s.frames.filter((f) => f.op === "error")).toEqual([]);
    }
    for (const s of sockets) s.ws.close(1000);
  });

  it("a socket idle past the hibernation window still gets pushes and answers frames", async () => {
    const wsUrl = `${server.url.replace("http", "ws")}/v1/ws`;
    expect(
      (await server.request("POST", "/v1/topics", { name: "idle", partitions: 1, replicationFactor: 1 }))
        .status,
    ).toBe(201);
    const s = await open(wsUrl);
    s.ws.send(JSON.stringify({ op: "subscribe", id: "quiet", topic: "idle", partition: 0, credits: 5 }));
    await until(() => s.frames.some((f) => f.op === "subscribed"), 10_000);
    // Nothing happens for longer than workerd waits before hibernating an idle object with sockets (10 s).
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    expect(
      (await server.request("POST", "/v1/topics/idle/records?acks=1", { records: [{ value: "wake" }] }))
        .status,
    ).toBe(200);
    await until(() => s.frames.some((f) => f.op === "records"), 10_000);
    expect(s.frames.find((f) => f.op === "records")).toMatchObject({
      subscription: "quiet",
      records: [{ offset: 0, value: "wake" }],
    });
    // The subscription's credits came through whatever happened to the object: 4 left, then a credit frame adds more.
    s.ws.send(JSON.stringify({ op: "credit", subscription: "quiet", credits: 1 }));
    s.ws.send("not json");
    await until(() => s.frames.some((f) => f.op === "error"), 10_000);
    expect(s.frames.find((f) => f.op === "error").error.code).toBe("INVALID_REQUEST");
    s.ws.close(1000);
  });

  it("produce over WebSocket, a group socket, commit, and resuming after reconnect", async () => {
    const wsUrl = `${server.url.replace("http", "ws")}/v1/ws`;
    expect(
      (await server.request("POST", "/v1/topics", { name: "ws-group", partitions: 2, replicationFactor: 3 }))
        .status,
    ).toBe(201);
    const producer = await open(wsUrl);
    producer.ws.send(
      JSON.stringify({
        op: "produce",
        id: 1,
        topic: "ws-group",
        acks: "all",
        records: Array.from({ length: 10 }, (_, i) => ({ value: i, partition: i % 2 })),
      }),
    );
    await until(() => producer.frames.some((f) => f.id === 1), 10_000);
    expect(producer.frames.find((f) => f.id === 1)).toMatchObject({ op: "produced", status: 200 });

    const consumer = await open(wsUrl);
    consumer.ws.send(
      JSON.stringify({
        op: "subscribe",
        id: "g",
        group: "ws-e2e",
        topics: ["ws-group"],
        autoOffsetReset: "earliest",
        credits: 6,
      }),
    );
    const records = () => consumer.frames.filter((f) => f.op === "records").flatMap((f) => f.records);
    await until(() => records().length >= 6, 10_000);
    expect(consumer.frames[0]).toMatchObject({ op: "assigned", id: "g", generation: 1 });
    expect(records()).toHaveLength(6); // never more than the credits
    const upTo = new Map<number, number>();
    for (const r of records()) upTo.set(r.partition, r.offset + 1);
    consumer.ws.send(
      JSON.stringify({
        op: "commit",
        id: 2,
        offsets: [...upTo].map(([partition, offset]) => ({ topic: "ws-group", partition, offset })),
      }),
    );
    await until(() => consumer.frames.some((f) => f.id === 2), 10_000);
    expect(consumer.frames.find((f) => f.id === 2)).toEqual({ op: "committed", id: 2 });
    consumer.ws.close(1000);
    // The close made the member leave: the group is Empty until the next socket joins and resumes from the commits.
    await until(() => false, 300);
    const again = await open(wsUrl);
    again.ws.send(
      JSON.stringify({ op: "subscribe", id: "g", group: "ws-e2e", topics: ["ws-group"], credits: 100 }),
    );
    const rest = () => again.frames.filter((f) => f.op === "records").flatMap((f) => f.records);
    await until(() => rest().length >= 4, 10_000);
    const first = new Set(records().map((r: any) => `${r.partition}/${r.offset}`));
    expect(rest()).toHaveLength(4);
    for (const r of rest()) expect(first.has(`${r.partition}/${r.offset}`)).toBe(false);
    again.ws.close(1000);
    producer.ws.close(1000);
  });
});
