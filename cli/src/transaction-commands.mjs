// The transaction commands of edgelog: produce stdin in one transaction, describe a
// transaction, fence a transactionalId (API.md "Transactions").
import { createInterface } from "node:readline";
import { lineRecord, UsageError } from "./options.mjs";

/** Records one transactional request carries (API.md: at most 10,000 a request). */
const TRANSACTION_BATCH = 1_000;

/**
 * Adds `transaction describe|fence` to the program; answers `produce --transactional-id`'s
 * action. `client`, `json`, `print` are the CLI's.
 */
export function addTransactionCommands(program, { client, json, print }) {
  const transaction = program
    .command("transaction")
    .description("describe a transaction, fence a transactionalId");
  transaction.command("describe <transactionalId>").action(async (id) => {
    const t = await client().admin.describeTransaction(id);
    if (json()) print(t);
    else
      print(
        `${t.transactionalId}\t${t.state}\tproducer ${t.producer.id.slice(0, 12)}… epoch ${t.producer.epoch}\t` +
          `${t.partitions.map((p) => `${p.topic}/${p.partition}`).join(" ") || "(no partitions)"}`,
      );
  });
  transaction
    .command("fence <transactionalId>")
    .description("start a new epoch: older instances are fenced, an open transaction is aborted")
    .action(async (id) => {
      const { epoch } = await client().admin.fenceTransactionalId(id);
      print(json() ? { transactionalId: id, epoch } : `fenced ${id}: epoch ${epoch}`);
    });

  /** `produce <topic> --transactional-id <id>`: every stdin line in one transaction. */
  return async function produceInTransaction(topic, o) {
    if (o.acks !== "all") throw new UsageError("--transactional-id writes with acks=all");
    if (o.idempotence === false)
      throw new UsageError("--transactional-id is idempotent: drop --no-idempotence");
    const producer = client().producer({ transactionalId: o.transactionalId });
    await producer.init();
    let sent = 0;
    await producer.transaction(async (tx) => {
      let batch = [];
      const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
      for await (const line of lines) {
        batch.push(lineRecord(line, o, sent + batch.length + 1));
        if (batch.length === TRANSACTION_BATCH) {
          await tx.send(topic, batch);
          sent += batch.length;
          batch = [];
        }
      }
      if (batch.length > 0) await tx.send(topic, batch);
      sent += batch.length;
    });
    if (process.stderr.isTTY)
      process.stderr.write(`produced ${sent} records to ${topic} in one transaction\n`);
  };
}
