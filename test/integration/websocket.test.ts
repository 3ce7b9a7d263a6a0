import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { WS_FRAME_BYTES_MAX, WS_FRAMES_PER_SECOND, WS_SUBSCRIPTIONS_MAX } from "../../core/limits";
import { TokenBucket } from "../../core/token-bucket";
import {
  api,
  createTopic,
  describePartition,
  fault,
  logEndOffsets,
  openSocket,
  produce,
  sendAcrossFailover,
  uniqueGroup,
  values,
} from "./helpers";

describe("WebSocket tails", () => {
  it("pushes every record of a partition in offset order, never more than the credits granted", async () => {
    const topic = await createTopic({ partitions: 2 });
    await produce(
      topic,
      values(5, "before").map((v) => ({ ...v, partition: 1 })),
    );
    const s = await openSocket();
    s.send({ op: "subscribe", id: 1, topic, partition: 1, offset: "earliest", credits: 3 });
    expect(await s.next((f) => f.op === "subscribed")).toEqual({ op: "subscribed", id: 1, nextOffset: 0 });
    const first = await s.next((f) => f.op === "records");
    expect(first.subscription).toBe(1);
    expect(first.records.map((r: any) => r.offset)).toEqual([0, 1, 2]);
    expect(first.records[0]).toMatchObject({
      topic,
      partition: 1,
      key: null,
      value: "before-0",
      headers: {},
    });
    // Out of credits: nothing more arrives, even as records are produced.
    await produce(
      topic,
      values(4, "after").map((v) => ({ ...v, partition: 1 })),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(s.frames.filter((f) => f.op === "records")).toEqual([]);
    s.send({ op: "credit", subscription: 1, credits: 100 });
    const seen: number[] = [];
    while (seen.length < 6)
      seen.push(...(await s.next((f) => f.op === "records")).records.map((r: any) => r.offset));
    expect(seen).toEqual([3, 4, 5, 6, 7, 8]);
    // Pushed as records arrive: a new append shows up without any request.
    await produce(topic, [{ value: "live", partition: 1 }]);
    expect((await s.next((f) => f.op === "records")).records.map((r: any) => r.value)).toEqual(["live"]);
    s.ws.close(1000, "done");
  });

  it("starts at latest, at a number, and refuses an offset outside the log", async () => {
    const topic = await createTopic();
    await produce(topic, values(3, "x"));
    const s = await openSocket();
    s.send({ op: "subscribe", id: "late", topic, partition: 0 }); // offset defaults to latest
    expect(await s.next((f) => f.id === "late")).toEqual({ op: "subscribed", id: "late", nextOffset: 3 });
    s.send({ op: "subscribe", id: "two", topic, partition: 0, offset: 2 });
    expect((await s.next((f) => f.id === "two")).nextOffset).toBe(2);
    expect(
      (await s.next((f) => f.op === "records" && f.subscription === "two")).records.map((r: any) => r.offset),
    ).toEqual([2]);
    s.send({ op: "subscribe", id: "far", topic, partition: 0, offset: 9 });
    const err = await s.next((f) => f.id === "far");
    expect(err.op).toBe("error");
    expect(err.error).toMatchObject({ code: "OFFSET_OUT_OF_RANGE", logStartOffset: 0, highWatermark: 3 });
    s.send({ op: "unsubscribe", id: "two" });
    expect(await s.next((f) => f.id === "two")).toEqual({ op: "unsubscribed", id: "two" });
    await produce(topic, values(1, "y"));
    expect((await s.next((f) => f.op === "records")).subscription).toBe("late");
    s.ws.close(1000);
  });

  it("20 concurrent tail sockets on one partition each receive every record in order", async () => {
    const topic = await createTopic();
    const sockets = await Promise.all(Array.from({ length: 20 }, () => openSocket()));
    for (const [i, s] of sockets.entries())
      s.send({ op: "subscribe", id: i, topic, partition: 0, offset: "earliest" });
    await Promise.all(sockets.map((s) => s.next((f) => f.op === "subscribed")));
    for (let batch = 0; batch < 5; batch++) await produce(topic, values(10, `b${batch}`));
    await Promise.all(
      sockets.map(async (s) => {
        const offsets: number[] = [];
        while (offsets.length < 50)
          offsets.push(...(await s.next((f) => f.op === "records")).records.map((r: any) => r.offset));
        expect(offsets).toEqual(Array.from({ length: 50 }, (_, i) => i));
      }),
    );
    for (const s of sockets) s.ws.close(1000);
  });
});

describe("tails across a leader failover", () => {
  it("go on being pushed by the newly elected leader", async () => {
    const topic = await createTopic({
      replicationFactor: 3,
      configs: { "min.insync.replicas": 2, "replica.lag.time.max.ms": 1000, "replica.ack.timeout.ms": 1500 },
    });
    const s = await openSocket();
    s.send({ op: "subscribe", id: 1, topic, partition: 0, offset: "earliest" });
    await s.next((f) => f.op === "subscribed");
    expect((await produce(topic, values(2, "e0"), "all")).status).toBe(200);
    expect((await s.next((f) => f.op === "records")).records.map((r: any) => r.value)).toEqual([
      "e0-0",
      "e0-1",
    ]);
    await fault(topic, 0, 0, "fail");
    const res = await sendAcrossFailover(() => produce(topic, values(2, "e1"), "all")); // the first one elects
    expect(res.status).toBe(200);
    expect((await describePartition(topic)).leader).not.toBe(0);
    const got: string[] = [];
    while (got.length < 2)
      got.push(...(await s.next((f) => f.op === "records")).records.map((r: any) => r.value));
    expect(got).toEqual(["e1-0", "e1-1"]);
    await fault(topic, 0, 0, "none");
    s.ws.close(1000);
  });
});

describe("produce over WebSocket", () => {
  it("answers produced with the same results as HTTP, correlated by id", async () => {
    const topic = await createTopic({ partitions: 3 });
    const s = await openSocket();
    s.send({
      op: "produce",
      id: 7,
      topic,
      acks: "1",
      records: [
        { key: "k1", value: 1, partition: 0 },
        { value: 2, partition: 2 },
      ],
    });
    s.send({ op: "produce", id: 8, topic, acks: "all", records: [{ value: 3, partition: 2 }] });
    const [a, b] = await Promise.all([s.next((f) => f.id === 7), s.next((f) => f.id === 8)]);
    expect(a.op).toBe("produced");
    expect(a.results).toHaveLength(2);
    expect(a.results[1]).toMatchObject({ partition: 2 });
    expect(b.results[0].partition).toBe(2);
    expect(new Set([a.results[1].offset, b.results[0].offset])).toEqual(new Set([0, 1]));
    s.send({ op: "produce", id: 9, topic, acks: "0", records: values(2, "z") });
    expect(await s.next((f) => f.id === 9)).toEqual({ op: "produced", id: 9, accepted: 2 });
    s.ws.close(1000);
  });
});

describe("bad frames get an error frame and change nothing", async () => {
  const topic = await createTopic({ partitions: 1, configs: { "max.message.bytes": 1000 } });
  const cases: [string, unknown, string][] = [
    ["unknown op", { op: "fly", id: 1 }, "INVALID_REQUEST"],
    ["missing op", { id: 1 }, "INVALID_REQUEST"],
    ["array frame", [1, 2], "INVALID_REQUEST"],
    ["subscribe without id", { op: "subscribe", topic, partition: 0 }, "INVALID_REQUEST"],
    ["subscribe with object id", { op: "subscribe", id: {}, topic, partition: 0 }, "INVALID_REQUEST"],
    [
      "subscribe to unknown topic",
      { op: "subscribe", id: 1, topic: "no-such-topic-ws", partition: 0 },
      "UNKNOWN_TOPIC_OR_PARTITION",
    ],
    [
      "subscribe to invalid topic",
      { op: "subscribe", id: 1, topic: "a b", partition: 0 },
      "INVALID_TOPIC_EXCEPTION",
    ],
    [
      "subscribe to unknown partition",
      { op: "subscribe", id: 1, topic, partition: 5 },
      "UNKNOWN_TOPIC_OR_PARTITION",
    ],
    ["negative partition", { op: "subscribe", id: 1, topic, partition: -1 }, "INVALID_REQUEST"],
    ["partition a string", { op: "subscribe", id: 1, topic, partition: "0" }, "INVALID_REQUEST"],
    ["negative offset", { op: "subscribe", id: 1, topic, partition: 0, offset: -1 }, "INVALID_REQUEST"],
    ["offset a word", { op: "subscribe", id: 1, topic, partition: 0, offset: "first" }, "INVALID_REQUEST"],
    ["zero credits", { op: "subscribe", id: 1, topic, partition: 0, credits: 0 }, "INVALID_REQUEST"],
    ["absurd credits", { op: "subscribe", id: 1, topic, partition: 0, credits: 1e9 }, "INVALID_REQUEST"],
    ["unknown subscribe field", { op: "subscribe", id: 1, topic, partition: 0, from: 0 }, "INVALID_REQUEST"],
    ["credit for no subscription", { op: "credit", subscription: 99, credits: 5 }, "INVALID_REQUEST"],
    ["negative credit", { op: "credit", subscription: 1, credits: -5 }, "INVALID_REQUEST"],
    ["credit without subscriptions", { op: "credit", credits: 5 }, "INVALID_REQUEST"],
    ["commit without a group", { op: "commit", id: 2, offsets: [] }, "INVALID_REQUEST"],
    [
      "produce bad acks",
      { op: "produce", id: 3, topic, acks: 2, records: [{ value: 1 }] },
      "INVALID_REQUEST",
    ],
    ["produce no records", { op: "produce", id: 3, topic, records: [] }, "INVALID_REQUEST"],
    [
      "produce bad record",
      { op: "produce", id: 3, topic, records: [{ key: 5, value: 1 }] },
      "INVALID_REQUEST",
    ],
    [
      "produce record too large",
      { op: "produce", id: 3, topic, records: [{ value: "x".repeat(2000) }] },
      "RECORD_TOO_LARGE",
    ],
    [
      "produce to unknown topic",
      { op: "produce", id: 3, topic: "no-such-topic-ws", records: [{ value: 1 }] },
      "UNKNOWN_TOPIC_OR_PARTITION",
    ],
    ["unsubscribe unknown", { op: "unsubscribe", id: 42 }, "INVALID_REQUEST"],
  ];

  it.each(cases)("%s", async (_name, frame, code) => {
    const s = await openSocket();
    const before = await logEndOffsets(topic);
    s.send(frame);
    const answer = await s.next((f) => f.op === "error");
    expect(answer.error.code).toBe(code);
    expect(answer.error.message.length).toBeGreaterThan(10);
    expect(await logEndOffsets(topic)).toEqual(before);
    // The socket stays open and usable.
    s.send({ op: "produce", id: "ok", topic, acks: "1", records: [{ value: "fine" }] });
    expect((await s.next((f) => f.id === "ok")).op).toBe("produced");
    s.ws.close(1000);
  });

  it("subscribing twice with the same id is refused; the first subscription goes on", async () => {
    const s = await openSocket();
    s.send({ op: "subscribe", id: 1, topic, partition: 0, offset: "latest" });
    await s.next((f) => f.op === "subscribed");
    s.send({ op: "subscribe", id: 1, topic, partition: 0, offset: "earliest" });
    expect((await s.next((f) => f.op === "error")).error.message).toContain("already in use");
    await produce(topic, [{ value: "one" }]);
    expect((await s.next((f) => f.op === "records")).records.map((r: any) => r.value)).toEqual(["one"]);
    s.ws.close(1000);
  });

  it("three non-JSON frames in a row close the socket with 1008; one in between does not", async () => {
    const s = await openSocket();
    // Each frame waits for its answer before the next is sent: the count is what is tested, and
    // this harness's in-process sockets may hand a burst of frames to the session out of order
    // (seen: 0,1,2,8,7,6,5,4,3,9… for 20 frames sent at once; over TCP, `npm start`, 4,000
    // frames in bursts of 20 came in order). docs/websocket.md: frames are handled concurrently.
    const notJson = async (label: string) => {
      s.send("nope");
      const answer = await s.next((f) => f.op === "error" && f.id === null, 10_000, label);
      expect(answer.error.code).toBe("INVALID_REQUEST");
    };
    await notJson("1st non-JSON answer");
    await notJson("2nd non-JSON answer");
    // A JSON frame resets the count.
    s.send({ op: "unsubscribe", id: "json" });
    expect((await s.next((f) => f.id === "json", 10_000, "json answer")).error.code).toBe("INVALID_REQUEST");
    await notJson("3rd non-JSON answer");
    await notJson("4th non-JSON answer");
    // Four non-JSON frames so far, never three in a row: still open, and still answering.
    s.send({ op: "unsubscribe", id: "open" });
    expect((await s.next((f) => f.id === "open", 10_000, "open answer")).error.code).toBe("INVALID_REQUEST");
    await notJson("5th non-JSON answer");
    await notJson("6th non-JSON answer");
    s.send("nope");
    expect(await s.closed).toMatchObject({ code: 1008 });
  });

  it("a frame over 1 MiB is refused, counted in UTF-8 bytes; the gateway refuses a plain GET /v1/ws", async () => {
    const s = await openSocket();
    const before = await logEndOffsets(topic);
    s.send(
      JSON.stringify({ op: "produce", id: "big", topic, records: [{ value: "x".repeat(1024 * 1024) }] }),
    );
    expect((await s.next((f) => f.op === "error")).error.code).toBe("MESSAGE_TOO_LARGE");
    // 600,000 characters of 'é' are 1.2 MB: over the limit though fewer than 1 Mi characters.
    const accents = JSON.stringify({
      op: "produce",
      id: "é",
      topic,
      records: [{ value: "é".repeat(600_000) }],
    });
    expect(accents.length).toBeLessThan(WS_FRAME_BYTES_MAX);
    s.send(accents);
    const refused = await s.next((f) => f.op === "error");
    expect(refused.error.code).toBe("MESSAGE_TOO_LARGE");
    expect(refused.error.message).toContain(`frame is ${new TextEncoder().encode(accents).byteLength} bytes`);
    expect(await logEndOffsets(topic)).toEqual(before);
    s.ws.close(1000);
    const plain = await api("GET", "/v1/ws");
    expect(plain.status).toBe(400);
    expect(plain.body.error.code).toBe("INVALID_REQUEST");
  });

  it("a flood past the burst is throttled, and a burst more closes the socket (clock frozen, so no race)", async () => {
    const session: DurableObjectStub = env.WS_SESSION.get(env.WS_SESSION.newUniqueId());
    const s = await openSocket(session);
    const burst = 5;
    // Time stands still: however fast or slow this machine is, no token comes back.
    await runInDurableObject(session, (instance: unknown) => {
      (instance as { frames: TokenBucket }).frames = new TokenBucket(WS_FRAMES_PER_SECOND, burst, () => 0);
    });
    for (let i = 0; i < burst; i++) s.send({ op: "unsubscribe", id: `u${i}` });
    for (let i = 0; i < burst; i++)
      expect((await s.next((f) => f.op === "error")).error.code).toBe("INVALID_REQUEST"); // handled
    for (let i = 0; i < burst; i++) s.send({ op: "unsubscribe", id: `t${i}` });
    for (let i = 0; i < burst; i++) {
      const throttled = await s.next((f) => f.op === "error");
      expect(throttled.error).toMatchObject({ code: "THROTTLING_QUOTA_EXCEEDED", retriable: true });
      expect(throttled.error.message).toMatch(/wait \d+ s$/);
    }
    s.send({ op: "unsubscribe", id: "last" });
    expect(await s.closed).toMatchObject({ code: 1008 });
  });
});

describe("subscription limits hold for frames sent without waiting", () => {
  it(`200 tail subscribes at once leave exactly ${WS_SUBSCRIPTIONS_MAX} subscriptions`, async () => {
    const topic = await createTopic();
    const s = await openSocket();
    for (let i = 0; i < 200; i++) s.send({ op: "subscribe", id: i, topic, partition: 0, offset: "latest" });
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => s.next((f) => f.id === i && f.op !== "records")),
    );
    expect(answers.filter((f) => f.op === "subscribed").length).toBe(WS_SUBSCRIPTIONS_MAX);
    const refused = answers.filter((f) => f.op === "error");
    expect(refused.length).toBe(200 - WS_SUBSCRIPTIONS_MAX);
    for (const f of refused)
      expect(f.error.message).toContain(`at most ${WS_SUBSCRIPTIONS_MAX} subscriptions`);
    s.ws.close(1000);
  });

  it("two subscribes to one group sent back to back make one member; the same id twice makes one subscription", async () => {
    const topic = await createTopic();
    const group = uniqueGroup();
    const s = await openSocket();
    const join = { op: "subscribe", group, topics: [topic], autoOffsetReset: "earliest" };
    s.send({ ...join, id: "a" });
    s.send({ ...join, id: "b" });
    const answers = [await s.next((f) => f.id === "a"), await s.next((f) => f.id === "b")];
    expect(answers.map((f) => f.op).sort()).toEqual(["assigned", "error"]);
    expect(answers.find((f) => f.op === "error").error.message).toContain("already a member");
    const described = await api("GET", `/v1/groups/${group}`);
    expect(described.body.members.length).toBe(1);
    s.send({ op: "subscribe", id: "t", topic, partition: 0, offset: "latest" });
    s.send({ op: "subscribe", id: "t", topic, partition: 0, offset: "latest" });
    const twice = [await s.next((f) => f.id === "t"), await s.next((f) => f.id === "t")];
    expect(twice.map((f) => f.op).sort()).toEqual(["error", "subscribed"]);
    s.ws.close(1000);
  });

  it.each([".", ".."])("the group id '%s' is refused over WebSocket as over HTTP", async (group) => {
    const topic = await createTopic();
    const s = await openSocket();
    s.send({ op: "subscribe", id: 1, group, topics: [topic] });
    const answer = await s.next((f) => f.id === 1);
    expect(answer.error).toMatchObject({ code: "INVALID_REQUEST" });
    expect(answer.error.message).toContain(`group id cannot be '${group}'`);
    expect((await api("GET", "/v1/groups")).body.groups.map((g: any) => g.group)).not.toContain(group);
    s.ws.close(1000);
  });
});
