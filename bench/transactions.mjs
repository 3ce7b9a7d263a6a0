// Transactions (issue 16): transactional produce against plain acks=all on the same topic
// settings, and read_committed fetch against read_uncommitted on one log, in the same run.
import { call, closedLoop, createTopic, produceBody, RUNS, summarise, WARMUP_MS } from "./workloads.mjs";

const post = (path, body) => call("POST", path, JSON.stringify(body));

/** Batches of 100 records a transaction writes before its commit (the workload). */
const BATCHES_PER_TRANSACTION = 10;
const BATCH = 100;
/** Transactions of the read_committed log; one in ABORT_EVERY is aborted (its records skipped). */
const LOG_TRANSACTIONS = 60;
const ABORT_EVERY = 10;
const FETCH_MAX_RECORDS = 5_000;

/**
 * Closed loop of whole transactions, one transactionalId per worker: BATCHES_PER_TRANSACTION
 * produce requests of BATCH records (acks=all), then the commit; the figure counts committed records.
 */
export async function benchTransactional(inFlight) {
  const topic = await createTopic(1, 3);
  const body = JSON.parse(produceBody(BATCH)).records;
  const run = Math.random().toString(36).slice(2, 8);
  const producers = [];
  for (let i = 0; i < inFlight; i++) {
    const transactionalId = `bench-${run}-${i}`;
    producers.push({
      transactionalId,
      ...JSON.parse(await post("/v1/producers", { transactionalId })),
      sequence: 0,
    });
  }
  const free = [...producers];
  const transaction = async () => {
    const p = free.pop();
    try {
      for (let b = 0; b < BATCHES_PER_TRANSACTION; b++) {
        const producer = { id: p.id, epoch: p.epoch, sequence: p.sequence++ };
        await post(`/v1/topics/${topic}/records?acks=all`, { records: body, producer, transactional: true });
      }
      await post(`/v1/transactions/${p.transactionalId}/commit`, { producer: { id: p.id, epoch: p.epoch } });
    } finally {
      free.push(p);
    }
    return BATCHES_PER_TRANSACTION * BATCH;
  };
  await closedLoop(inFlight, transaction, WARMUP_MS);
  const runs = [];
  for (let r = 0; r < RUNS; r++) runs.push(await closedLoop(inFlight, transaction));
  return summarise(`txn ${BATCHES_PER_TRANSACTION}×b${BATCH} × ${inFlight}`, runs, 100);
}

/** A log of LOG_TRANSACTIONS transactions of 1,000 records (one in ABORT_EVERY aborted); answers its topic and end. */
export async function transactionalLog() {
  const topic = await createTopic(1);
  const transactionalId = `bench-log-${Math.random().toString(36).slice(2, 8)}`;
  const p = JSON.parse(await post("/v1/producers", { transactionalId }));
  const records = JSON.parse(produceBody(1_000)).records;
  for (let t = 0; t < LOG_TRANSACTIONS; t++) {
    await post(`/v1/topics/${topic}/records?acks=1`, {
      records,
      producer: { id: p.id, epoch: p.epoch, sequence: t },
      transactional: true,
    });
    const verb = t % ABORT_EVERY === ABORT_EVERY - 1 ? "abort" : "commit";
    await post(`/v1/transactions/${transactionalId}/${verb}`, { producer: { id: p.id, epoch: p.epoch } });
  }
  return { topic, end: LOG_TRANSACTIONS * (records.length + 1) };
}

/** Fetches of that log from the start, round and round, in one isolation level. */
export async function benchIsolation({ topic, end }, isolation, inFlight) {
  let next = 0;
  const fetch = async () => {
    const offset = next;
    const answer = JSON.parse(
      await call(
        "GET",
        `/v1/topics/${topic}/partitions/0/records?offset=${offset}&maxRecords=${FETCH_MAX_RECORDS}&isolation=${isolation}`,
      ),
    );
    next = answer.nextOffset >= end ? 0 : answer.nextOffset;
    // Progress through the log: a read_committed reader skips the aborted tenth (as Kafka's filters it).
    return answer.nextOffset - offset;
  };
  await closedLoop(inFlight, fetch, WARMUP_MS);
  const runs = [];
  for (let r = 0; r < RUNS; r++) runs.push(await closedLoop(inFlight, fetch));
  return summarise(`fetch ${isolation} (offsets/s) × ${inFlight}`, runs, 100);
}
