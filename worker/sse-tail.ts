import type { Context } from "hono";
import { EdgelogError, errorInfo } from "../core/errors";
import type { FetchPosition } from "../core/fetch-position";
import { SSE_HEARTBEAT_MS } from "../core/limits";
import type { Isolation } from "../core/partition-transactions";
import type { TopicMetadata } from "../durable-objects/contract";
import { QuotaExceeded } from "../durable-objects/quotas";
import type { ReadFormat, ReadLimits } from "../schemas/query";
import { inFormat } from "./cloudevents-format";
import { fetchFromLeader } from "./fetch-records";
import type { GatewayEnv } from "./gateway-env";
import { startFetch } from "./quota";
import { sseChannel } from "./sse-channel";

/**
 * A live tail over Server-Sent Events (API.md "Streams for the web"): the fetch
 * route with `accept: text/event-stream`. Stored records first, then each batch
 * as it passes the high watermark, as `event: records` whose `data:` is the fetch
 * answer and whose `id:` its nextOffset (EventSource resumes from it with
 * Last-Event-ID). Nothing is polled: each read is a long-poll the leader answers
 * the moment records arrive (or after SSE_HEARTBEAT_MS, and then a heartbeat
 * comment goes out). One batch at most waits in the stream: the next read starts
 * once the client took the last (backpressure), so a slow reader costs one batch.
 * A deleted topic ends the stream with `event: error` (the error envelope).
 */

type Tail = {
  topic: TopicMetadata;
  partition: number;
  position: FetchPosition;
  limits: Omit<ReadLimits, "waitMs">;
  isolation: Isolation;
  format: ReadFormat;
};

/** The fetch answer's fixed tail (durable-objects/leader-fetch.ts): where the next read starts. */
const NEXT_OFFSET = /"nextOffset":(\d+),"highWatermark":\d+,"lastStableOffset":\d+,"logStartOffset":-?\d+\}$/;

export async function sseTail(c: Context<GatewayEnv>, tail: Tail): Promise<Response> {
  // The first read answers errors (unknown topic, offset out of range) as plain HTTP, before the stream starts.
  const first = await read(c, tail, 0);
  const { readable, send, close } = sseChannel();
  const stream = async () => {
    let answer = first;
    let lastSentMs = Date.now();
    try {
      // Tells EventSource how soon to reconnect after the stream ends.
      await send(`retry: 1000\n: edgelog tail of ${tail.topic.name}/${tail.partition}\n\n`);
      for (;;) {
        const next = NEXT_OFFSET.exec(answer);
        if (!next) throw new Error("a fetch answer without its offsets");
        const offset = Number(next[1]);
        if (!answer.startsWith('{"records":[]')) {
          await send(`id: ${offset}\nevent: records\ndata: ${inFormat(answer, tail.format)}\n\n`);
          lastSentMs = Date.now();
        } else if (Date.now() - lastSentMs >= SSE_HEARTBEAT_MS) {
          // (an empty answer before that: the leader woke for records a read_committed tail may not see yet)
          await send(": heartbeat\n\n");
          lastSentMs = Date.now();
        }
        // An empty answer may still move on: past aborted records, a compacted or deleted range.
        tail = { ...tail, position: { kind: "offset", offset } };
        answer = await read(c, tail, SSE_HEARTBEAT_MS);
      }
    } catch (error) {
      const info =
        error instanceof EdgelogError ? error.info : errorInfo("UNKNOWN_SERVER_ERROR", "the tail stopped");
      // The client may be gone already (a failed write): then there is no one to tell.
      await send(`event: error\ndata: ${JSON.stringify({ error: info })}\n\n`).catch(() => undefined);
      await close();
    }
  };
  void stream();
  return new Response(readable, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-store",
      "x-accel-buffering": "no",
    },
  });
}

/** One long-poll read of the leader from the tail's position: the fetch answer's text (no records: none came within `waitMs`). */
async function read(c: Context<GatewayEnv>, tail: Tail, waitMs: number): Promise<string> {
  let charge: (bytes: number) => void;
  try {
    const started = startFetch(c.env, c.get("auth"));
    charge = typeof started === "function" ? started : await started;
  } catch (error) {
    // Over the fetch quota: wait it out, then read (the stream is not closed for it).
    if (!(error instanceof QuotaExceeded)) throw error;
    await new Promise((resolve) => setTimeout(resolve, error.retryAfterS * 1000));
    return read(c, tail, 0);
  }
  const { topic, partition, position, limits, isolation } = tail;
  const body = await fetchFromLeader(c.env, topic, partition, { position, ...limits, waitMs, isolation });
  charge(body.length);
  return body;
}
