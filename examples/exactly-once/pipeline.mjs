#!/usr/bin/env node
// Exactly-once consume-transform-produce with edgelog's transactions (API.md "Transactions").
//
//   npm start                                    # one terminal: the local gateway
//   node examples/exactly-once/pipeline.mjs      # another: fills `orders`, doubles every amount
//                                                # into `orders-doubled`, checks the result
//
// Each batch read from the input group is turned into output records and written in ONE
// transaction together with the group's next offsets: a crash anywhere (of this process or
// of the server) either commits both or neither. A restarted pipeline calls init(), which
// fences any older instance and aborts (or completes) its transaction, then reads on from the
// committed offsets; read_committed readers never see an aborted batch.
import { Edgelog } from "@edgelog/client";
import WebSocket from "ws";

/** The transformation: pure, so a batch computed twice gives the same records. */
const transform = (value) => ({ ...value, amount: value.amount * 2 });

/**
 * Runs the pipeline until every input record's offset is committed in `group` (or `deadlineMs`),
 * starting over after any failure: a killed server, a fenced or rebalanced instance.
 * @param {{ edgelog: Edgelog, input: string, output: string, group: string, transactionalId: string,
 *   deadlineMs: number, log?: (line: string) => void }} options
 * @returns {Promise<{ restarts: number }>}
 */
export async function runPipeline({
  edgelog,
  input,
  output,
  group,
  transactionalId,
  deadlineMs,
  log = () => {},
}) {
  const done = async () => {
    const inputEnds = (await edgelog.admin.describeTopic(input)).partitionInfo.map((p) => p.highWatermark);
    const committed = new Map(
      (await edgelog.admin.groupOffsets(group).catch(() => [])).map((o) => [o.partition, o.committedOffset]),
    );
    return inputEnds.every((end, p) => (committed.get(p) ?? 0) >= end);
  };
  let restarts = 0;
  while (Date.now() < deadlineMs) {
    const producer = edgelog.producer({ transactionalId, deliveryTimeoutMs: 30_000 });
    let consumer = null;
    try {
      await producer.init(); // fences older instances; their open transaction is aborted first
      consumer = edgelog.consumer({
        group,
        topics: [input],
        autoOffsetReset: "earliest",
        isolation: "read_committed",
        sessionTimeoutMs: 2_000,
        maxRecords: 50,
        waitMs: 200,
      });
      while (Date.now() < deadlineMs) {
        const batch = await consumer.poll();
        if (batch === null) break;
        if (batch.records.length === 0) {
          if (await done()) return { restarts };
          continue;
        }
        await producer.transaction(async (tx) => {
          await tx.send(
            output,
            batch.records.map((r) => ({ key: r.key, value: transform(r.value) })),
          );
          await tx.sendOffsets(consumer.transactionOffsets());
        });
      }
    } catch (error) {
      restarts++;
      log(`pipeline restarts after: ${error.message}`);
    } finally {
      await consumer?.close().catch(() => undefined);
    }
  }
  throw new Error("the pipeline did not finish before its deadline");
}

/** Creates the input and output topics and fills the input with `count` orders `{ id, amount: id }`. */
export async function prepareOrders(edgelog, input, output, count) {
  await edgelog.admin.createTopic(input, { partitions: 2, replicationFactor: 1 });
  await edgelog.admin.createTopic(output, { partitions: 2, replicationFactor: 1 });
  const orders = edgelog.producer();
  await Promise.all(
    Array.from({ length: count }, (_, id) =>
      orders.send({ topic: input, key: `o${id}`, value: { id, amount: id } }),
    ),
  );
  await orders.close();
}

/** Every record of a topic a read_committed reader sees. */
export async function readCommitted(edgelog, topic) {
  const { partitions } = await edgelog.admin.describeTopic(topic);
  const records = [];
  for (let partition = 0; partition < partitions; partition++) {
    let offset = 0;
    for (;;) {
      const page = await edgelog.admin.fetch(topic, partition, {
        offset,
        maxRecords: 5_000,
        isolation: "read_committed",
      });
      records.push(...page.records);
      if (page.nextOffset >= page.lastStableOffset) break;
      offset = page.nextOffset;
    }
  }
  return records;
}

async function main() {
  const url = process.env.EDGELOG_URL ?? "http://127.0.0.1:8787";
  const edgelog = new Edgelog({ url, token: process.env.EDGELOG_TOKEN, WebSocket });
  const run = Date.now().toString(36);
  const [input, output, group] = [`orders-${run}`, `orders-doubled-${run}`, `doubler-${run}`];
  const ORDERS = 500;
  await prepareOrders(edgelog, input, output, ORDERS);
  const { restarts } = await runPipeline({
    edgelog,
    input,
    output,
    group,
    transactionalId: `doubler-${run}`,
    deadlineMs: Date.now() + 120_000,
    log: console.log,
  });
  const out = await readCommitted(edgelog, output);
  const ids = new Set(out.map((r) => r.value.id));
  const wrong = out.filter((r) => r.value.amount !== r.value.id * 2).length;
  console.log(
    `${ORDERS} orders in, ${out.length} out (${ids.size} distinct, ${wrong} wrong), ${restarts} restarts`,
  );
  if (out.length !== ORDERS || ids.size !== ORDERS || wrong > 0) process.exit(1);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
