import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { STREAM_NAME_BYTES_MAX } from "../../core/limits";
import { streamOffset } from "../../core/stream-offsets";
import { durableStream } from "../../durable-objects/stubs";
import { api, restartObject, uniqueTopic } from "./helpers";

/**
 * The Durable Streams routes (/v1/stream/*) inside workerd, for what the protocol's
 * conformance suite (e2e) does not cover: a restart keeps everything, the alarm ends
 * an expired stream without a request, concurrent producers and writers, and bad input.
 */

const put = (name: string, headers: Record<string, string> = {}, body?: string) =>
  api("PUT", `/v1/stream/${name}`, body, { "content-type": "text/plain", ...headers });
const post = (name: string, body: string, headers: Record<string, string> = {}) =>
  api("POST", `/v1/stream/${name}`, body, { "content-type": "text/plain", ...headers });
const read = (name: string, query = "") => api("GET", `/v1/stream/${name}${query}`, undefined, {});
const producer = (epoch: number, seq: number) => ({
  "producer-id": "p",
  "producer-epoch": String(epoch),
  "producer-seq": String(seq),
});

describe("Durable Streams inside workerd", () => {
  it("a restarted stream object keeps its data, closure, producers and Stream-Seq", async () => {
    const name = uniqueTopic("ds");
    expect((await put(name)).status).toBe(201);
    expect((await post(name, "a", { ...producer(0, 0), "stream-seq": "b" })).status).toBe(200);
    expect((await post(name, "b", producer(0, 1))).status).toBe(200);
    await restartObject(() => durableStream(env, name) as unknown as DurableObjectStub);
    // The repeat is still a duplicate; the writer sequence still only grows.
    const repeat = await post(name, "b", producer(0, 1));
    expect(repeat.status).toBe(204);
    expect(repeat.headers.get("producer-seq")).toBe("1");
    expect((await post(name, "c", { "stream-seq": "a" })).status).toBe(409);
    expect((await post(name, "", { "stream-closed": "true" })).status).toBe(204);
    await restartObject(() => durableStream(env, name) as unknown as DurableObjectStub);
    const got = await read(name);
    expect(got.text).toBe("ab");
    expect(got.headers.get("stream-closed")).toBe("true");
    expect(got.headers.get("stream-next-offset")).toBe(streamOffset(2));
  });

  it("the alarm erases an expired stream by itself, with no request to notice", async () => {
    const name = uniqueTopic("ds");
    const expiresAt = new Date(Date.now() + 300).toISOString();
    expect((await put(name, { "stream-expires-at": expiresAt }, "data")).status).toBe(201);
    const stub = durableStream(env, name) as unknown as DurableObjectStub;
    const count = () =>
      runInDurableObject(stub, (_instance, state: DurableObjectState) => ({
        meta: state.storage.sql.exec("SELECT count(*) AS n FROM stream_meta").one().n,
        messages: state.storage.sql.exec("SELECT count(*) AS n FROM stream_messages").one().n,
      }));
    expect(await count()).toEqual({ meta: 1, messages: 1 });
    // Miniflare fires the alarm by itself at the expiry; run it here too in case it has not yet.
    await new Promise((resolve) => setTimeout(resolve, 400));
    await runDurableObjectAlarm(stub);
    const rows = await count();
    expect(rows).toEqual({ meta: 0, messages: 0 });
    expect((await read(name)).status).toBe(404);
  });

  it("concurrent appends from many writers: every byte once, offsets dense and increasing", async () => {
    const name = uniqueTopic("ds");
    await put(name);
    const writers = 8;
    const each = 25;
    const answers = await Promise.all(
      Array.from({ length: writers }, (_, w) =>
        (async () => {
          const offsets: string[] = [];
          for (let i = 0; i < each; i++) {
            const res = await post(name, String.fromCharCode(97 + w), {
              "producer-id": `w${w}`,
              "producer-epoch": "0",
              "producer-seq": String(i),
            });
            expect(res.status).toBe(200);
            offsets.push(res.headers.get("stream-next-offset")!);
          }
          return offsets;
        })(),
      ),
    );
    const all = answers.flat().sort();
    expect(new Set(all).size).toBe(writers * each);
    expect(all.at(-1)).toBe(streamOffset(writers * each));
    const text = (await read(name)).text;
    for (let w = 0; w < writers; w++) expect(text.split(String.fromCharCode(97 + w)).length - 1).toBe(each);
  });

  it("bad names, parameters and bodies get a 4xx and change nothing", async () => {
    const name = uniqueTopic("ds");
    await put(name, {}, "x");
    // (Dot segments never arrive: URLs resolve them before sending.)
    for (const bad of ["a%20b", "a//b", "a:b", "a*b", "x".repeat(STREAM_NAME_BYTES_MAX + 1)])
      expect((await put(bad)).status).toBe(400);
    for (const query of ["?offset=abc", "?offset=-1&offset=now", "?live=sse", "?offset=-1&live=poll"])
      expect((await read(name, query)).status).toBe(400);
    expect((await read(name, `?offset=${streamOffset(999)}`)).status).toBe(400);
    const fork = await put(`${name}-f`, { "stream-forked-from": `/v1/topics/${name}` });
    expect(fork.status).toBe(400);
    expect((await post(name, "y", { "content-type": "not a type" })).status).toBe(400);
    expect((await post(name, "y", { "producer-id": "p" })).status).toBe(400);
    const big = await api("POST", `/v1/stream/${name}`, "z".repeat(1024 * 1024 + 1), {
      "content-type": "text/plain",
    });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe("MESSAGE_TOO_LARGE");
    const after = await read(name);
    expect(after.text).toBe("x");
    expect(after.headers.get("x-content-type-options")).toBe("nosniff");
  });
});
