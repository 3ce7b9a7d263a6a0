// Chaos clients that write: plain producers (acks 0, 1, all) and idempotent producers
// that retry a request with the same sequence until it is answered, and bump their
// epoch now and then. Every value is unique, so the final log shows any duplicate.
import { call, sleep } from "./history.mjs";
import { Random } from "./random.mjs";

/** Records a produce request carries at most in the chaos run. */
const RECORDS_MAX = 5;
/** Tries of one idempotent request before the producer gives up on it and bumps its epoch. */
const IDEMPOTENT_TRIES_MAX = 30;
/** Keys drawn from: few, so records of one key land on one partition again and again. */
const KEYS = 20;
/** Chance that a request is cut by the client right after it is sent. */
export const CUT_CHANCE = 0.03;

/** Records for one request, keyed or sent to an explicit partition; values are `prefix:k`. */
function makeRecords(rng, topic, prefix) {
  return Array.from({ length: rng.int(1, RECORDS_MAX) }, (_, k) => {
    const value = `${prefix}:${k}`;
    return rng.chance(0.5)
      ? { key: `key-${rng.int(0, KEYS - 1)}`, value }
      : { partition: rng.int(0, topic.partitions - 1), value };
  });
}

/** Results carrying an offset are acknowledged, also inside a partly failed answer. */
function ackResults(ctx, topic, records, body, how) {
  const results = body?.results;
  if (!Array.isArray(results)) return [];
  if (results.length !== records.length)
    ctx.history.find(
      "unexpected",
      `${how}: ${records.length} records answered with ${results.length} results`,
    );
  const acked = [];
  for (const [k, result] of results.entries()) {
    if (typeof result?.offset !== "number") continue;
    const record = records[k];
    if (record.partition !== undefined && record.partition !== result.partition)
      ctx.history.find(
        "inconsistent",
        `${how}: record for partition ${record.partition} stored in ${result.partition}`,
      );
    const entry = {
      topic: topic.name,
      partition: result.partition,
      offset: result.offset,
      value: record.value,
      how,
    };
    ctx.history.acked.push(entry);
    acked.push(entry);
  }
  return acked;
}

/** A plain producer: never retries (a retry of an unknown outcome could legitimately duplicate). */
export async function plainProducer(ctx, name, acks) {
  const rng = Random.derive(ctx.seed, name);
  const topic = acks === "all" ? ctx.topics.replicated : ctx.topics.single;
  for (let n = 0; !ctx.done(); n++) {
    await ctx.waitUp();
    const records = makeRecords(rng, topic, `${name}:${n}`);
    for (const r of records) ctx.history.sent.add(r.value);
    const res = await call(
      ctx,
      "POST",
      `/v1/topics/${topic.name}/records?acks=${acks}`,
      { records },
      { cut: rng.chance(CUT_CHANCE), label: `produce acks=${acks}` },
    );
    if (acks !== "0" && res.kind !== "unknown")
      ackResults(ctx, topic, records, res.body, `${name} acks=${acks}`);
    await sleep(rng.int(0, 20));
  }
}

/** An idempotent producer (transactionalId `chaos-<name>`), acks=all on the replicated topic. */
export async function idempotentProducer(ctx, name) {
  const rng = Random.derive(ctx.seed, name);
  const topic = ctx.topics.replicated;
  /** @type {{ id: string, epoch: number } | null} */
  let producer = null;
  let sequence = 0;
  while (!ctx.done()) {
    await ctx.waitUp();
    if (!producer || rng.chance(0.02)) {
      // Initialise, or bump the epoch mid-run: the old epoch is fenced from now on.
      const init = await call(ctx, "POST", "/v1/producers", { transactionalId: `chaos-${name}` });
      if (init.kind !== "ok") {
        await sleep(100);
        continue;
      }
      producer = { id: init.body.id, epoch: init.body.epoch };
      sequence = 0;
    }
    const how = `${name} epoch ${producer.epoch} sequence ${sequence}`;
    const records = makeRecords(rng, topic, `${name}:e${producer.epoch}:s${sequence}`);
    for (const r of records) ctx.history.sent.add(r.value);
    const body = { records, producer: { ...producer, sequence } };
    /** value → where a partial answer put it: a repeat must answer the same place. */
    const placed = new Map();
    let settled = false;
    for (let attempt = 0; attempt < IDEMPOTENT_TRIES_MAX && !ctx.done(); attempt++) {
      await ctx.waitUp();
      const res = await call(ctx, "POST", `/v1/topics/${topic.name}/records?acks=all`, body, {
        cut: rng.chance(CUT_CHANCE),
        label: "produce idempotent",
      });
      if (res.kind !== "unknown")
        for (const a of ackResults(ctx, topic, records, res.body, how)) {
          const where = `${a.partition}/${a.offset}`;
          const before = placed.get(a.value);
          if (before !== undefined && before !== where)
            ctx.history.find("duplicated", `${how}: ${a.value} answered at ${before}, then at ${where}`);
          placed.set(a.value, where);
        }
      if (res.kind === "ok") {
        sequence += 1;
        settled = true;
        break;
      }
      if (res.kind === "error" && ["PRODUCER_FENCED", "UNKNOWN_PRODUCER_ID"].includes(res.code)) break;
      if (
        res.kind === "error" &&
        ["OUT_OF_ORDER_SEQUENCE_NUMBER", "DUPLICATE_SEQUENCE_NUMBER"].includes(res.code)
      ) {
        ctx.history.find("regressions", `${how}: a repeat of the next sequence answered ${res.code}`);
        break;
      }
      if (res.kind === "error" && res.status < 500 && res.status !== 429) {
        ctx.history.find("unexpected", `${how}: a valid request answered ${res.status} ${res.code}`);
        break;
      }
      await sleep(Math.min(1_000, 20 * 2 ** attempt) * (0.5 + rng.next()));
    }
    if (!settled) producer = null; // outcome unknown or fenced: start a new epoch
  }
}
