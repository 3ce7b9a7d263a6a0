import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, createTopic, produce } from "./helpers";

/** API.md "Streams for the web": the fetch route's live tail over Server-Sent Events. */

type Event = { id?: string; event?: string; data?: string; comment?: string };

/** An SSE stream read event by event (each read bounded in time). */
async function openTail(path: string, headers: Record<string, string> = {}) {
  const res = await SELF.fetch(`http://localhost${path}`, {
    headers: { accept: "text/event-stream", ...headers },
  });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const events: Event[] = [];
  let ended = false;
  /** Reads until `count` events (comments included) arrived or the stream ended; bounded by `timeoutMs`. */
  const next = async (count: number, timeoutMs = 10_000): Promise<Event[]> => {
    const deadline = Date.now() + timeoutMs;
    while (events.length < count && !ended && Date.now() < deadline) {
      const chunk = await Promise.race([
        reader.read(),
        new Promise<null>((resolve) => setTimeout(() => resolve(null), deadline - Date.now())),
      ]);
      if (chunk === null) break;
      if (chunk.done) {
        ended = true;
        break;
      }
      buffer += chunk.value;
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event: Event = {};
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) event.comment = line.slice(1).trim();
          else {
            const at = line.indexOf(":");
            const [field, value] = [line.slice(0, at), line.slice(at + 1).trimStart()];
            if (field === "id" || field === "event" || field === "data") event[field] = value;
          }
        }
        events.push(event);
      }
    }
    return events.splice(0, count);
  };
  return { res, next, close: () => reader.cancel(), ended: () => ended };
}

const records = (e: Event) => JSON.parse(e.data!).records.map((r: any) => r.value);

describe("SSE live tail", () => {
  it("sends stored records, then live ones as they arrive; ids are next offsets; Last-Event-ID resumes", async () => {
    const topic = await createTopic();
    await produce(topic, [{ value: "a" }, { value: "b" }]);
    const tail = await openTail(`/v1/topics/${topic}/partitions/0/records?offset=0`);
    expect(tail.res.status).toBe(200);
    expect(tail.res.headers.get("content-type")).toContain("text/event-stream");
    expect(tail.res.headers.get("cache-control")).toContain("no-cache");
    const [hello, first] = await tail.next(2);
    expect(hello!.comment).toContain(topic);
    expect(first).toMatchObject({ id: "2", event: "records" });
    expect(records(first!)).toEqual(["a", "b"]);
    expect(JSON.parse(first!.data!)).toMatchObject({ nextOffset: 2, highWatermark: 2 });
    await produce(topic, [{ value: "c" }]);
    const [live] = await tail.next(1);
    expect(live).toMatchObject({ id: "3", event: "records" });
    expect(records(live!)).toEqual(["c"]);
    await tail.close();
    // EventSource reconnects with the last id it saw: only what came after.
    await produce(topic, [{ value: "d" }]);
    const resumed = await openTail(`/v1/topics/${topic}/partitions/0/records?offset=0`, {
      "last-event-id": "3",
    });
    const [, after] = await resumed.next(2);
    expect(records(after!)).toEqual(["d"]);
    await resumed.close();
  });

  it("ends with an error event when the topic is deleted; refuses bad input before streaming", async () => {
    const topic = await createTopic();
    const tail = await openTail(`/v1/topics/${topic}/partitions/0/records?offset=earliest`);
    await tail.next(1);
    expect((await api("DELETE", `/v1/topics/${topic}`)).status).toBe(204);
    const [ended] = await tail.next(1, 20_000);
    expect(ended).toMatchObject({ event: "error" });
    expect(JSON.parse(ended!.data!).error.code).toBe("UNKNOWN_TOPIC_OR_PARTITION");
    await tail.next(1, 2_000);
    expect(tail.ended()).toBe(true);

    const other = await createTopic();
    const cases: [string, Record<string, string>, number][] = [
      [`/v1/topics/${other}/partitions/0/records?offset=0`, { "last-event-id": "x" }, 400],
      [`/v1/topics/${other}/partitions/0/records?offset=0`, { "last-event-id": "-1" }, 400],
      [`/v1/topics/${other}/partitions/0/records?offset=5`, {}, 416],
      [`/v1/topics/${other}/partitions/3/records?offset=0`, {}, 404],
      [`/v1/topics/${other}/partitions/0/records?offset=0&isolation=x`, {}, 400],
      ["/v1/topics/never-made-sse/partitions/0/records?offset=0", {}, 404],
    ];
    for (const [path, headers, status] of cases) {
      const res = await SELF.fetch(`http://localhost${path}`, {
        headers: { accept: "text/event-stream", ...headers },
      });
      expect(res.status, path).toBe(status);
      expect(((await res.json()) as any).error.code).toEqual(expect.any(String));
    }
  });

  it("read_committed tails skip aborted records and wait for commits", async () => {
    const topic = await createTopic();
    const producer = (await api("POST", "/v1/producers", { transactionalId: `sse-${topic}` })).body;
    const send = (sequence: number, value: string) =>
      api("POST", `/v1/topics/${topic}/records?acks=all`, {
        records: [{ value }],
        producer: { ...producer, sequence },
        transactional: true,
      });
    const end = (verb: string) => api("POST", `/v1/transactions/sse-${topic}/${verb}`, { producer });
    expect((await send(0, "aborted")).status).toBe(200);
    expect((await end("abort")).status).toBe(200);
    const tail = await openTail(`/v1/topics/${topic}/partitions/0/records?offset=0&isolation=read_committed`);
    await tail.next(1);
    expect((await send(1, "kept")).status).toBe(200);
    expect((await end("commit")).status).toBe(200);
    const [event] = await tail.next(1);
    console.log("EVENT", JSON.stringify(event));
    expect(records(event!)).toEqual(["kept"]);
    await tail.close();
  });
});
