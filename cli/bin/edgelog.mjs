#!/usr/bin/env node
// edgelog on the command line, kcat-like, built on @edgelog/client. `edgelog --help`.
// Exit 0 on success, 1 on a server error (its code and message on stderr), 2 on a usage error.
import { createInterface } from "node:readline";
import { Edgelog, EdgelogError } from "@edgelog/client";
import { Command, CommanderError, Option } from "commander";
import WebSocket from "ws";
import { formatRecord } from "../src/format.mjs";
import { configs, integer, lineRecord, pairs, progress, UsageError } from "../src/options.mjs";
import { addSecurityCommands } from "../src/security-commands.mjs";
import { addTransactionCommands } from "../src/transaction-commands.mjs";

const EXIT_SERVER = 1;
const EXIT_USAGE = 2;
/** Records a group member asks for at once. */
const GROUP_BATCH = 500;

const program = new Command("edgelog")
  .description("edgelog on the command line: topics, produce from stdin, consume to stdout, groups, ACLs")
  .option("--url <url>", "the gateway (or EDGELOG_URL)", process.env.EDGELOG_URL ?? "http://127.0.0.1:8787")
  .option(
    "--token <token>",
    "a credential, when the gateway requires one (or EDGELOG_TOKEN)",
    process.env.EDGELOG_TOKEN,
  )
  .option("--json", "print read commands' answers as JSON")
  .exitOverride()
  .showHelpAfterError("(edgelog --help for usage)")
  .configureOutput({ outputError: (text, write) => write(text) });

const client = () => {
  const { url, token } = program.opts();
  return new Edgelog({ url, token, WebSocket });
};
const json = () => program.opts().json === true;
const print = (value) =>
  process.stdout.write(`${typeof value === "string" ? value : JSON.stringify(value, null, 2)}\n`);

// ---- topics ----

const topic = program.command("topic").description("create, list, describe, alter, delete topics");
topic
  .command("create <name>")
  .option("-p, --partitions <n>", "partitions", integer("--partitions", 1))
  .option("-r, --replication-factor <n>", "replicas of each partition", integer("--replication-factor", 1))
  .option("-c, --config <key=value>", "a topic config (repeatable)", pairs("--config"))
  .action(async (name, o) => {
    const created = await client().admin.createTopic(name, {
      partitions: o.partitions,
      replicationFactor: o.replicationFactor,
      configs: o.config ? configs(o.config) : undefined,
    });
    print(
      json()
        ? created
        : `created topic ${created.name} (${created.partitions} partitions, replication factor ${created.replicationFactor})`,
    );
  });
topic.command("list").action(async () => {
  const topics = await client().admin.listTopics();
  if (json()) print(topics);
  else
    for (const t of topics)
      print(`${t.name}\t${t.partitions} partitions\treplication factor ${t.replicationFactor}`);
});
topic.command("describe <name>").action(async (name) => {
  const t = await client().admin.describeTopic(name);
  if (json()) return print(t);
  print(`${t.name}\t${t.partitions} partitions\treplication factor ${t.replicationFactor}`);
  print(
    `configs\t${Object.entries(t.configs)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")}`,
  );
  for (const p of t.partitionInfo)
    print(
      `partition ${p.partition}\tepoch ${p.leaderEpoch}\tisr ${p.isr.join(",")}\tlogStart ${p.logStartOffset}\tHW ${p.highWatermark}\tLEO ${p.logEndOffset}`,
    );
});
topic
  .command("alter <name>")
  .requiredOption(
    "-c, --config <key=value>",
    "a config to set, `key=null` for its default (repeatable)",
    pairs("--config"),
  )
  .action(async (name, o) => {
    const t = await client().admin.alterTopic(name, configs(o.config));
    print(json() ? t : `altered topic ${t.name}`);
  });
topic.command("delete <name>").action(async (name) => {
  await client().admin.deleteTopic(name);
  print(`deleted topic ${name}`);
});

// ---- produce ----

program
  .command("produce <topic>")
  .description("one record per stdin line")
  .option("-K, --key-delimiter <delimiter>", "split each line at the first delimiter into key and value")
  .option("-p, --partition <n>", "send every record to this partition", integer("--partition"))
  .addOption(new Option("--acks <acks>", "acknowledgement").choices(["0", "1", "all"]).default("all"))
  .option("-H, --header <key=value>", "a header on every record (repeatable)", pairs("--header"))
  .option("--parse-json", "send each value as the JSON it holds (else as a string)")
  .option("--no-idempotence", "a plain producer (retries may then duplicate)")
  .option(
    "--transactional-id <id>",
    "every line in one transaction, committed at the end of input (aborted on error)",
  )
  .action(async (topicName, o) => {
    if (o.transactionalId !== undefined) return produceInTransaction(topicName, o);
    const producer = client().producer({ acks: o.acks, idempotent: o.acks === "0" ? false : o.idempotence });
    const bar = progress(`produce ${topicName}:`);
    let sent = 0;
    let failed = 0;
    let firstError = null;
    const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) {
      const record = { topic: topicName, ...lineRecord(line, o, sent + failed + 1) };
      producer.send(record).then(
        () => bar.tick(),
        (error) => {
          failed++;
          firstError ??= error;
        },
      );
      sent++;
    }
    await producer.close();
    bar.stop();
    if (firstError) {
      process.stderr.write(`${failed} of ${sent} records failed\n`);
      throw firstError;
    }
    if (process.stderr.isTTY) process.stderr.write(`produced ${sent} records to ${topicName}\n`);
  });

// ---- consume ----

function offsetOption(text) {
  if (text === "earliest" || text === "latest" || text === "beginning" || text === "end")
    return { beginning: "earliest", end: "latest" }[text] ?? text;
  return integer("--offset")(text);
}

program
  .command("consume <topic>")
  .description("records to stdout, one a line")
  .option("--from-beginning", "start at the first record (default: the end)")
  .option("-o, --offset <offset>", "start at this offset, or earliest / latest", offsetOption)
  .option("-p, --partition <n>", "only this partition", integer("--partition"))
  .option(
    "-g, --group <group>",
    "consume as a member of this group (commits after printing; resumes where it stopped)",
  )
  .option("-c, --count <n>", "stop after n records", integer("--count", 1))
  .option("-f, --follow", "wait for new records instead of stopping at the end")
  .addOption(
    new Option("--isolation <level>", "read_committed: only committed transactions' records")
      .choices(["read_uncommitted", "read_committed"])
      .default("read_uncommitted"),
  )
  .option(
    "--format <format>",
    "value | json | a template (%t topic, %p partition, %o offset, %k key, %s value, %T timestamp, %h headers)",
    "value",
  )
  .action(async (topicName, o) => {
    if (o.group && (o.offset !== undefined || o.partition !== undefined))
      throw new UsageError(
        "--group reads where the group stopped: --offset and --partition are for reads without a group",
      );
    const edgelog = client();
    const bar = progress(`consume ${topicName}:`);
    let printed = 0;
    const limit = o.count ?? Number.POSITIVE_INFINITY;
    const out = (record) => {
      process.stdout.write(`${formatRecord(record, json() ? "json" : o.format)}\n`);
      printed++;
      bar.tick();
    };
    try {
      if (o.group) {
        const consumer = edgelog.consumer({
          group: o.group,
          topics: [topicName],
          autoOffsetReset: o.fromBeginning ? "earliest" : "latest",
          waitMs: 1_000,
          isolation: o.isolation,
        });
        try {
          while (printed < limit) {
            // Never more than --count asks: what is handed out is printed, then committed.
            const batch = await consumer.poll({ maxRecords: Math.min(GROUP_BATCH, limit - printed) });
            if (batch === null || (batch.records.length === 0 && !o.follow)) break;
            for (const record of batch.records) out(record);
            await consumer.commit();
          }
        } finally {
          await consumer.close();
        }
        return;
      }
      const described = await edgelog.admin.describeTopic(topicName);
      const partitions =
        o.partition !== undefined ? [o.partition] : described.partitionInfo.map((p) => p.partition);
      const start = o.offset ?? (o.fromBeginning ? "earliest" : "latest");
      const next = new Map(partitions.map((p) => [p, start]));
      while (printed < limit) {
        let got = 0;
        for (const p of partitions) {
          if (printed >= limit) break;
          const answer = await edgelog.admin.fetch(topicName, p, {
            offset: next.get(p),
            maxRecords: Math.min(1_000, limit - printed),
            waitMs: o.follow && partitions.length === 1 ? 1_000 : 0,
            isolation: o.isolation,
          });
          for (const record of answer.records) out({ ...record, topic: topicName, partition: p });
          // Progress, not records: a read_committed read may skip an aborted range and return none.
          if (answer.records.length > 0 || answer.nextOffset !== next.get(p)) got++;
          next.set(p, answer.nextOffset);
        }
        if (got === 0) {
          if (!o.follow) break;
          if (partitions.length > 1) await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    } finally {
      bar.stop();
    }
  });

// ---- groups ----

const group = program.command("group").description("list, describe, reset, delete consumer groups");
group.command("list").action(async () => {
  const groups = await client().admin.listGroups();
  if (json()) print(groups);
  else
    for (const g of groups) print(`${g.group}\t${g.state}\tgeneration ${g.generation}\t${g.members} members`);
});
group.command("describe <group>").action(async (name) => {
  const edgelog = client();
  const [described, offsets] = await Promise.all([
    edgelog.admin.describeGroup(name),
    edgelog.admin.groupOffsets(name),
  ]);
  if (json()) return print({ ...described, offsets });
  print(`${name}\t${described.state}\tgeneration ${described.generation}`);
  for (const m of described.members ?? [])
    print(`member ${m.memberId}\t${(m.assignments ?? []).map((a) => `${a.topic}/${a.partition}`).join(" ")}`);
  for (const off of offsets)
    print(
      `${off.topic}/${off.partition}\tcommitted ${off.committedOffset}\tHW ${off.highWatermark}\tlag ${off.lag}`,
    );
});
group
  .command("reset <group>")
  .requiredOption("-t, --topic <topic>", "the topic whose offsets to reset")
  .requiredOption("--to <position>", "earliest, latest, an offset, or @timestamp (ms)")
  .action(async (name, o) => {
    const to =
      o.to === "earliest" || o.to === "latest"
        ? o.to
        : o.to.startsWith("@")
          ? { timestamp: integer("--to @timestamp")(o.to.slice(1)) }
          : { offset: integer("--to")(o.to) };
    const answer = await client().admin.resetOffsets(name, o.topic, to);
    print(json() ? answer : `reset ${name} on ${o.topic} to ${o.to}`);
  });
group.command("delete <group>").action(async (name) => {
  await client().admin.deleteGroup(name);
  print(`deleted group ${name}`);
});

// ---- security and transactions ----

addSecurityCommands(program, { client, json, print });
const produceInTransaction = addTransactionCommands(program, { client, json, print });

// ---- run ----

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
  } else if (error instanceof UsageError) {
    process.stderr.write(`error: ${error.message}\n(edgelog --help for usage)\n`);
    process.exitCode = EXIT_USAGE;
  } else if (error instanceof EdgelogError) {
    process.stderr.write(`${error.code}: ${error.message.replace(`${error.code}: `, "")}\n`);
    process.exitCode = EXIT_SERVER;
  } else {
    process.stderr.write(`${error?.stack ?? error}\n`);
    process.exitCode = EXIT_SERVER;
  }
}
