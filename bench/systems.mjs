// The systems under test, behind one small interface so every workload runs the same way:
//   open(partitions) → a fresh topic/stream set: { produce(worker, batch), fill(n), consume(n), e2e(rate, ms), close() }
// produce() is one request carrying `batch` 100-byte records to one partition (round-robin
// over partitions per request, as edgelog's sticky partitioner and a Kafka producer do), and
// resolves once the system has acknowledged all of them at its durability tier.
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { connect as natsConnect } from "@nats-io/transport-node";
import Redis from "ioredis";
import { Agent } from "undici";
import WebSocket from "ws";
import { httpCall, KEEP_ALIVE_MS } from "./http.mjs";

export const VALUE_BYTES = 100;
const VALUE = "x".repeat(VALUE_BYTES - 2); // as JSON text: 100 bytes
const PAYLOAD = "x".repeat(VALUE_BYTES);
/** Records a consumer asks for at once, on every system. */
export const CONSUME_BATCH = 500;
/** Records in flight in an e2e run are bounded by its rate × duration; this bounds the wait for stragglers. */
const E2E_DRAIN_MS = 10_000;
const TICK_MS = 10;

let streamCounter = 0;
const uniqueName = (prefix) => `${prefix}${Date.now().toString(36)}${(streamCounter++).toString(36)}`;

/** Told of every e2e record as it arrives (bench/tails.mjs): (intended send time, latency), both ms. */
let e2eTrace = null;
export function traceE2e(sink) {
  e2eTrace = sink;
}

/**
 * Open loop: every TICK_MS, `rate × TICK_MS / 1000` records are sent whether or not earlier
 * ones were answered; latency = arrival − intended send time (no coordinated omission).
 */
async function e2eRun(rate, durationMs, sendTick, arrivals) {
  const intended = [];
  const latencies = [];
  arrivals((seq) => {
    const latency = performance.now() - intended[seq];
    latencies.push(latency);
    e2eTrace?.(intended[seq], latency);
  });
  const perTick = Math.max(1, Math.round((rate * TICK_MS) / 1000));
  const ticks = Math.floor(durationMs / TICK_MS);
  const started = performance.now();
  const sends = [];
  for (let tick = 0; tick < ticks; tick++) {
    const at = started + tick * TICK_MS;
    const wait = at - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, Math.ceil(wait)));
    const seqs = [];
    for (let i = 0; i < perTick; i++) {
      intended.push(at);
      seqs.push(intended.length - 1);
    }
    sends.push(sendTick(seqs));
  }
  await Promise.all(sends);
  const deadline = performance.now() + E2E_DRAIN_MS;
  while (latencies.length < intended.length && performance.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20));
  if (latencies.length < intended.length)
    throw new Error(`e2e: ${latencies.length} of ${intended.length} records arrived`);
  return latencies;
}

// ---- edgelog ----

/** edgelog over HTTP; with `token`, every request carries it (a gateway with EDGELOG_AUTH=required). */
export function edgelog(base, acks, token = null) {
  const agent = new Agent({ connections: 32, pipelining: 1, keepAliveTimeout: KEEP_ALIVE_MS });
  const headers = token === null ? {} : { authorization: `Bearer ${token}` };
  const call = (method, path, body) => httpCall(agent, `${base}${path}`, method, body, headers);

  const replicationFactor = acks === "all" ? 3 : 1;
  const bodies = new Map();
  const body = (batch) => {
    if (!bodies.has(batch))
      bodies.set(batch, JSON.stringify({ records: Array.from({ length: batch }, () => ({ value: VALUE })) }));
    return bodies.get(batch);
  };
  return {
    name: `edgelog acks=${acks}`,
    tier: acks === "all" ? "replicated (RF 3, min.insync 2), each copy committed" : "durable (SQLite commit)",
    async open(partitions) {
      const topic = uniqueName("bench-");
      const configs = { "min.insync.replicas": Math.min(2, replicationFactor) };
      await call(
        "POST",
        "/v1/topics",
        JSON.stringify({ name: topic, partitions, replicationFactor, configs }),
      );
      const path = `/v1/topics/${topic}/records?acks=${acks}`;
      return {
        produce: (_worker, batch) => call("POST", path, body(batch)),
        async consume(n) {
          const group = uniqueName("g-");
          const join = JSON.stringify({ topics: [topic], autoOffsetReset: "earliest" });
          const member = JSON.parse(await call("POST", `/v1/groups/${group}/members`, join));
          let got = 0;
          let committing = Promise.resolve();
          for (let polls = 0; got < n && polls < n; polls++) {
            const res = JSON.parse(
              await call(
                "GET",
                `/v1/groups/${group}/members/${member.memberId}/records?maxRecords=${CONSUME_BATCH}&waitMs=1000`,
              ),
            );
            got += res.records.length;
            // Commit what was read (as XACK and a JetStream ack do): the next offset per partition.
            const next = new Map();
            for (const r of res.records) next.set(r.partition, r.offset + 1);
            if (next.size > 0) {
              // Asynchronous commit (Kafka's commitAsync): at most one in flight, the next poll meanwhile.
              const offsets = [...next].map(([partition, offset]) => ({ topic, partition, offset }));
              await committing;
              committing = call(
                "POST",
                `/v1/groups/${group}/offsets`,
                JSON.stringify({ memberId: member.memberId, generation: res.generation, offsets }),
              );
            }
          }
          await committing;
          await call("DELETE", `/v1/groups/${group}/members/${member.memberId}`);
          return got;
        },
        async e2e(rate, durationMs) {
          const ws = new WebSocket(`${base.replace("http", "ws")}/v1/ws`, { headers });
          await new Promise((resolve, reject) => {
            ws.once("open", resolve);
            ws.once("error", reject);
          });
          ws.on("error", () => undefined);
          let onSeq = () => undefined;
          ws.on("message", (data) => {
            const f = JSON.parse(String(data));
            if (f.op === "records") for (const r of f.records) onSeq(r.value.seq);
          });
          const subscribe = {
            op: "subscribe",
            id: 1,
            topic,
            partition: 0,
            offset: "latest",
            credits: 100_000,
          };
          ws.send(JSON.stringify(subscribe));
          await new Promise((resolve) => setTimeout(resolve, 200));
          const tickPath = `/v1/topics/${topic}/records?acks=1`;
          try {
            return await e2eRun(
              rate,
              durationMs,
              (seqs) =>
                call(
                  "POST",
                  tickPath,
                  JSON.stringify({
                    records: seqs.map((seq) => ({ partition: 0, value: { seq, pad: VALUE.slice(20) } })),
                  }),
                ),
              (fn) => {
                onSeq = fn;
              },
            );
          } finally {
            ws.close();
          }
        },
        async close() {
          await call("DELETE", `/v1/topics/${topic}`).catch(() => undefined);
        },
      };
    },
    async shutdown() {
      await agent.close();
    },
  };
}

// ---- Redis Streams ----

export function redisStreams(port, tierName, tier) {
  const clients = [];
  const client = (i) => {
    while (clients.length <= i) clients.push(new Redis({ host: "127.0.0.1", port, lazyConnect: false }));
    return clients[i];
  };
  return {
    name: `Redis Streams ${tierName}`,
    tier,
    async open(partitions) {
      const streams = Array.from({ length: partitions }, (_, p) => uniqueName(`s${p}-`));
      let next = 0;
      return {
        // One pipeline of XADDs to one stream: the client's batch, one round trip.
        async produce(worker, batch) {
          const stream = streams[next++ % partitions];
          const pipeline = client(worker).pipeline();
          for (let i = 0; i < batch; i++) pipeline.xadd(stream, "*", "v", PAYLOAD);
          const results = await pipeline.exec();
          for (const [error] of results) if (error) throw error;
        },
        async consume(n) {
          const reader = client(0);
          for (const s of streams) await reader.xgroup("CREATE", s, "g", "0", "MKSTREAM");
          let got = 0;
          const acks = [];
          for (let reads = 0; got < n && reads < n; reads++) {
            // COUNT applies to each stream: split the read's 500 over them, as the others read 500 in all.
            const count = Math.ceil(CONSUME_BATCH / streams.length);
            const args = ["GROUP", "g", "c", "COUNT", count, "BLOCK", 1000, "STREAMS", ...streams];
            const answer = await reader.xreadgroup(...args, ...streams.map(() => ">"));
            if (!answer) continue;
            for (const [stream, entries] of answer) {
              got += entries.length;
              // Acknowledged without waiting (pipelined ahead of the next read on the same connection).
              if (entries.length > 0) acks.push(reader.xack(stream, "g", ...entries.map(([id]) => id)));
            }
          }
          await Promise.all(acks);
          return got;
        },
        async e2e(rate, durationMs) {
          const reader = new Redis({ host: "127.0.0.1", port });
          let onSeq = () => undefined;
          let running = true;
          let last = "$";
          const loop = (async () => {
            while (running) {
              const answer = await reader.xread("BLOCK", 100, "STREAMS", streams[0], last);
              if (!answer) continue;
              for (const [, entries] of answer)
                for (const [id, fields] of entries) {
                  last = id;
                  onSeq(Number(fields[1].split("|")[0]));
                }
            }
          })();
          await new Promise((resolve) => setTimeout(resolve, 100));
          try {
            return await e2eRun(
              rate,
              durationMs,
              async (seqs) => {
                const pipeline = client(0).pipeline();
                for (const seq of seqs) pipeline.xadd(streams[0], "*", "v", `${seq}|${PAYLOAD.slice(12)}`);
                await pipeline.exec();
              },
              (fn) => {
                onSeq = fn;
              },
            );
          } finally {
            running = false;
            await loop.catch(() => undefined);
            reader.disconnect();
          }
        },
        async close() {
          await client(0).del(...streams);
        },
      };
    },
    async shutdown() {
      for (const c of clients) c.disconnect();
    },
  };
}

// ---- NATS JetStream ----

export async function natsJetStream(port) {
  const nc = await natsConnect({ servers: `127.0.0.1:${port}` });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const payload = new TextEncoder().encode(PAYLOAD);
  return {
    name: "NATS JetStream",
    tier: "lazy fsync (file storage; this version cannot fsync every message)",
    async open(partitions) {
      const stream = uniqueName("B");
      await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], storage: StorageType.File });
      const subjects = Array.from({ length: partitions }, (_, p) => `${stream}.${p}`);
      let next = 0;
      return {
        // Async publishes with acks: the client's batch in flight at once, done when all are acked.
        async produce(_worker, batch) {
          const subject = subjects[next++ % partitions];
          const acks = [];
          for (let i = 0; i < batch; i++) acks.push(js.publish(subject, payload));
          await Promise.all(acks);
        },
        async consume(n) {
          await jsm.consumers.add(stream, { durable_name: "c", ack_policy: AckPolicy.All });
          const consumer = await js.consumers.get(stream, "c");
          let got = 0;
          let last = null;
          for (let fetches = 0; got < n && fetches < n; fetches++) {
            const messages = await consumer.fetch({ max_messages: CONSUME_BATCH, expires: 1000 });
            let lastMessage = null;
            for await (const m of messages) {
              got++;
              lastMessage = m;
            }
            // AckPolicy.All: acknowledging the last message of a fetch acknowledges all before it;
            // sent without waiting, as the others; the last one is confirmed before the clock stops.
            if (lastMessage) last = lastMessage;
            lastMessage?.ack();
          }
          if (last) await last.ackAck();
          return got;
        },
        async e2e(rate, durationMs) {
          await jsm.consumers.add(stream, {
            name: "e2e",
            ack_policy: AckPolicy.None,
            deliver_policy: DeliverPolicy.New,
            filter_subject: subjects[0],
          });
          const consumer = await js.consumers.get(stream, "e2e");
          const messages = await consumer.consume({ max_messages: 1000 });
          let onSeq = () => undefined;
          const decoder = new TextDecoder();
          const loop = (async () => {
            for await (const m of messages) onSeq(Number(decoder.decode(m.data).split("|")[0]));
          })();
          await new Promise((resolve) => setTimeout(resolve, 100));
          const encoder = new TextEncoder();
          try {
            return await e2eRun(
              rate,
              durationMs,
              (seqs) =>
                Promise.all(
                  seqs.map((seq) => js.publish(subjects[0], encoder.encode(`${seq}|${PAYLOAD.slice(12)}`))),
                ),
              (fn) => {
                onSeq = fn;
              },
            );
          } finally {
            await messages.close();
            await loop.catch(() => undefined);
          }
        },
        async close() {
          await jsm.streams.delete(stream).catch(() => undefined);
        },
      };
    },
    async shutdown() {
      await nc.close();
    },
  };
}
