import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SUBSCRIPTION_SAVE_DELAY_MS } from "../../durable-objects/ws-subscriptions";
import { api, createTopic, openSocket, produce, type TestSocket, values } from "./helpers";

/**
 * A leader pushes the records that just passed its high watermark with its
 * notification; a tail standing at their start sends them without fetching them
 * back, any other tail fetches as before. Either way each record arrives once, in order.
 */

/** Fetches the leader of `topic`'s partition 0 has served (its Prometheus counter). */
async function leaderFetches(topic: string): Promise<number> {
  const text = (await api("GET", "/metrics")).text;
  const series = `edgelog_partition_fetch_requests_total{topic="${topic}",partition="0"} `;
  const line = text.split("\n").find((l) => l.startsWith(series));
  if (line === undefined) throw new Error(`no ${series}in /metrics`);
  return Number(line.slice(series.length));
}

/** Offsets of the records pushed to `subscription` until `count` have arrived. */
async function received(s: TestSocket, subscription: unknown, count: number): Promise<any[]> {
  const records: any[] = [];
  while (records.length < count)
    records.push(...(await s.next((f) => f.op === "records" && f.subscription === subscription)).records);
  return records;
}

describe("WebSocket tails: committed records pushed with the notification", () => {
  it("a tail at the high watermark gets new records without the leader serving a fetch", async () => {
    const topic = await createTopic();
    await produce(topic, values(3, "old"));
    const s = await openSocket();
    s.send({ op: "subscribe", id: "live", topic, partition: 0 });
    expect(await s.next((f) => f.id === "live")).toEqual({ op: "subscribed", id: "live", nextOffset: 3 });
    // The subscription's first delivery fetches (and finds nothing); wait until it has.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const before = await leaderFetches(topic);
    const got: any[] = [];
    for (let i = 0; i < 8; i++) {
      await produce(topic, [{ key: `k${i}`, value: { i }, headers: { h: `${i}` } }]);
      got.push(...(await received(s, "live", 1)));
    }
    expect(got.map((r) => r.offset)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    expect(got[2]).toMatchObject({
      topic,
      partition: 0,
      offset: 5,
      key: "k2",
      value: { i: 2 },
      headers: { h: "2" },
    });
    expect(typeof got[2].timestamp).toBe("number");
    expect(await leaderFetches(topic)).toBe(before);
    s.ws.close(1000);
  });

  it("tails elsewhere than the pushed range fetch instead, and every tail gets every record once in order", async () => {
    const topic = await createTopic();
    await produce(topic, values(30, "old"));
    const s = await openSocket();
    // Behind (from 0, few credits at a time), at the end, and one with too few credits for a push.
    s.send({ op: "subscribe", id: "behind", topic, partition: 0, offset: "earliest", credits: 7 });
    s.send({ op: "subscribe", id: "live", topic, partition: 0 });
    s.send({ op: "subscribe", id: "narrow", topic, partition: 0, credits: 2 });
    for (const id of ["behind", "live", "narrow"]) await s.next((f) => f.op === "subscribed" && f.id === id);
    const produced = await Promise.all(
      Array.from({ length: 20 }, (_, i) => produce(topic, values(3, `new${i}`))),
    );
    expect(produced.every((r) => r.status === 200)).toBe(true);
    const live = await received(s, "live", 60);
    expect(live.map((r) => r.offset)).toEqual(Array.from({ length: 60 }, (_, i) => 30 + i));
    const narrow: any[] = [];
    while (narrow.length < 60) {
      // Never more than the credits granted, though each push holds 3 records.
      const frame = await s.next((f) => f.op === "records" && f.subscription === "narrow");
      expect(frame.records.length).toBeLessThanOrEqual(2);
      narrow.push(...frame.records);
      if (narrow.length % 2 === 0) s.send({ op: "credit", subscription: "narrow", credits: 2 });
    }
    expect(narrow.map((r) => r.offset)).toEqual(live.map((r) => r.offset));
    const behind: any[] = [];
    while (behind.length < 90) {
      behind.push(...(await received(s, "behind", 1)));
      s.send({ op: "credit", subscription: "behind", credits: 7 });
    }
    expect(behind.map((r) => r.offset)).toEqual(Array.from({ length: 90 }, (_, i) => i));
    expect(behind.slice(30).map((r) => r.value)).toEqual(live.map((r) => r.value));
    // Nothing beyond the log arrived twice.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(s.frames.filter((f) => f.op === "records" && f.subscription !== "behind")).toEqual([]);
    s.ws.close(1000);
  });

  it("a push's new position is written within SUBSCRIPTION_SAVE_DELAY_MS, not at each push, and never ahead of what was sent", async () => {
    const topic = await createTopic();
    const session: DurableObjectStub = env.WS_SESSION.get(env.WS_SESSION.newUniqueId());
    const stored = () =>
      runInDurableObject(session, (_instance, state) =>
        state.storage.sql
          .exec<{ data: string }>("SELECT data FROM subscriptions")
          .toArray()
          .map((row) => JSON.parse(row.data)),
      );
    const s = await openSocket(session);
    s.send({ op: "subscribe", id: "t", topic, partition: 0, offset: "earliest", credits: 100 });
    await s.next((f) => f.op === "subscribed");
    expect(await stored()).toMatchObject([{ position: 0, credits: 100 }]); // a subscribe is written at once
    await produce(topic, values(3, "a"));
    expect((await received(s, "t", 3)).map((r) => r.offset)).toEqual([0, 1, 2]);
    // Pushed but not yet written: a reset object would send these again, never skip them.
    expect(await stored()).toMatchObject([{ position: 0, credits: 100 }]);
    await produce(topic, values(2, "b"));
    expect((await received(s, "t", 2)).map((r) => r.offset)).toEqual([3, 4]);
    await new Promise((resolve) => setTimeout(resolve, SUBSCRIPTION_SAVE_DELAY_MS + 300));
    expect(await stored()).toMatchObject([{ position: 5, credits: 95 }]);
    s.ws.close(1000);
  });
});
