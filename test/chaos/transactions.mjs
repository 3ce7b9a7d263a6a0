// Chaos clients for transactions (issue 16): transactional producers that write a few
// requests in a transaction and commit or abort it through crashes, faults and cut
// connections; and the check of the final log read with isolation=read_committed:
// every committed transaction's records exactly once, no aborted one's, and a transaction
// whose outcome the client never learned all or nothing.
import { call, sleep } from "./history.mjs";
import { CUT_CHANCE } from "./producers.mjs";
import { Random } from "./random.mjs";

/** Requests one transaction writes, and records a request carries at most. */
const REQUESTS_MAX = 3;
const RECORDS_MAX = 4;
/** Tries of one request (a produce with one sequence, a commit or abort) before giving up on the transaction. */
const TRIES_MAX = 30;
/** Share of transactions the client aborts on purpose. */
const ABORT_CHANCE = 0.25;

const retriable = (res) =>
  res.kind === "unknown" ||
  (res.kind === "error" &&
    (res.status >= 500 || res.status === 429 || res.code === "CONCURRENT_TRANSACTIONS"));

/** Sends one request until it is answered for good (same body: same sequence); the last answer. */
async function untilAnswered(ctx, rng, method, path, body, label) {
  let res = { kind: "unknown" };
  for (let attempt = 0; attempt < TRIES_MAX && !ctx.done(); attempt++) {
    await ctx.waitUp();
    res = await call(ctx, method, path, body, { cut: rng.chance(CUT_CHANCE), label });
    if (!retriable(res)) return res;
    await sleep(Math.min(1_000, 20 * 2 ** attempt) * (0.5 + rng.next()));
  }
  return res;
}

/**
 * A transactional producer (transactionalId `chaos-<name>`) on the transactions topic:
 * each transaction's values are `<name>:t<n>:<request>:<k>`, its outcome (committed,
 * aborted, or unknown) kept in `ctx.history.transactions`.
 */
export async function transactionalProducer(ctx, name) {
  const rng = Random.derive(ctx.seed, name);
  const topic = ctx.topics.transactions;
  const transactionalId = `chaos-${name}`;
  let producer = null;
  let sequence = 0;
  for (let n = 0; !ctx.done(); n++) {
    await ctx.waitUp();
    if (producer === null) {
      const init = await call(ctx, "POST", "/v1/producers", { transactionalId });
      if (init.kind !== "ok") {
        await sleep(100);
        continue;
      }
      producer = { id: init.body.id, epoch: init.body.epoch };
      sequence = 0;
    }
    const txn = { name: `${name}:t${n}`, values: [], outcome: "unknown" };
    ctx.history.transactions.push(txn);
    let written = true;
    for (let r = 0; r < rng.int(1, REQUESTS_MAX) && written; r++) {
      const records = Array.from({ length: rng.int(1, RECORDS_MAX) }, (_, k) => ({
        key: `k${rng.int(0, 9)}`,
        value: `${txn.name}:${r}:${k}`,
      }));
      for (const rec of records) {
        ctx.history.sent.add(rec.value);
        txn.values.push(rec.value);
      }
      const res = await untilAnswered(
        ctx,
        rng,
        "POST",
        `/v1/topics/${topic.name}/records?acks=all`,
        { records, producer: { ...producer, sequence }, transactional: true },
        "produce transactional",
      );
      if (res.kind === "ok") sequence += 1;
      else written = false;
    }
    const verb = written && !rng.chance(ABORT_CHANCE) ? "commit" : "abort";
    const ended = await untilAnswered(
      ctx,
      rng,
      "POST",
      `/v1/transactions/${transactionalId}/${verb}`,
      // One past the last sequence sent (a failed request's too): a late copy of this end (a cut
      // connection) cannot end the next transaction.
      { producer: { ...producer, sequence: written ? sequence : sequence + 1 } },
      verb,
    );
    if (ended.kind === "ok") {
      const expected = verb === "commit" ? "CompleteCommit" : "CompleteAbort";
      if (ended.body?.state !== expected)
        ctx.history.find("unexpected", `${txn.name}: ${verb} answered ${JSON.stringify(ended.body)}`);
      txn.outcome = verb === "commit" ? "committed" : "aborted";
    }
    // The end's outcome unknown, or fenced: a new epoch aborts whatever is open. And after a request
    // whose outcome was never learnt, as Kafka's producer does: its sequence may have been applied,
    // so it cannot start the next transaction (the producer object refuses that).
    if (ended.kind !== "ok" || !written) producer = null;
    await sleep(rng.int(0, 30));
  }
}

/** Every record of the transactions topic a read_committed reader sees, after fencing every transactionalId. */
export async function readCommittedLog(ctx, names) {
  // A new epoch aborts a transaction a client left open when the run ended.
  for (const name of names) await call(ctx, "POST", "/v1/producers", { transactionalId: `chaos-${name}` });
  const topic = ctx.topics.transactions;
  const described = await call(ctx, "GET", `/v1/topics/${topic.name}`);
  const values = [];
  for (const info of described.body?.partitionInfo ?? []) {
    if (info.lastStableOffset !== info.highWatermark)
      ctx.history.find(
        "inconsistent",
        `${topic.name}/${info.partition}: LSO ${info.lastStableOffset} ≠ HW ${info.highWatermark} once every producer was fenced`,
      );
    let offset = Math.max(0, info.logStartOffset);
    while (offset < info.lastStableOffset) {
      const res = await call(
        ctx,
        "GET",
        `/v1/topics/${topic.name}/partitions/${info.partition}/records?offset=${offset}&maxRecords=10000&isolation=read_committed`,
      );
      if (res.kind !== "ok")
        throw new Error(`read_committed read of ${topic.name}/${info.partition}: ${JSON.stringify(res)}`);
      values.push(...res.body.records.map((r) => r.value));
      if (res.body.nextOffset <= offset) break;
      offset = res.body.nextOffset;
    }
  }
  return values;
}

/** Committed transactions exactly once, aborted ones never, unknown outcomes all or nothing. */
export function checkTransactions(history, committedValues) {
  const seen = new Map();
  for (const v of committedValues) seen.set(v, (seen.get(v) ?? 0) + 1);
  for (const [v, n] of seen) if (n > 1) history.find("duplicated", `${v} read ${n} times by read_committed`);
  for (const txn of history.transactions) {
    const present = txn.values.filter((v) => seen.has(v)).length;
    if (txn.outcome === "committed" && present !== txn.values.length)
      history.find(
        "lost",
        `${txn.name} committed, but ${txn.values.length - present} of its ${txn.values.length} records are not visible`,
      );
    if (txn.outcome === "aborted" && present > 0)
      history.find("inconsistent", `${txn.name} aborted, but ${present} of its records are visible`);
    if (txn.outcome === "unknown" && present !== 0 && present !== txn.values.length)
      history.find(
        "inconsistent",
        `${txn.name} (outcome unknown): ${present} of ${txn.values.length} records visible, not all or none`,
      );
  }
}
