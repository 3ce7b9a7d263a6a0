#!/usr/bin/env node
// edgelog on the command line, kcat-like, built on @edgelog/client. `edgelog --help`.
// Exit 0 on success, 1 on a server error (its code and message on stderr), 2 on a usage error.
import { createInterface } from "node:readline";
import { Edgelog, EdgelogError } from "@edgelog/client";
import cliProgress from "cli-progress";
import { Command, CommanderError, Option } from "commander";
import WebSocket from "ws";
import { formatRecord } from "../src/format.mjs";

const EXIT_SERVER = 1;
const EXIT_USAGE = 2;
/** Records a group member asks for at once. */
const GROUP_BATCH = 500;
/** How often the progress line redraws on a TTY. */
const PROGRESS_MS = 500;

class UsageError extends Error {}

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

function integer(name, min = 0) {
  return (text) => {
    if (!/^\d+$/.test(text) || Number(text) < min)
      throw new UsageError(`${name} must be an integer ≥ ${min}, got '${text}'`);
    return Number(text);
  };
}
/** k=v pairs given once or more: an object. */
function pairs(name) {
  return (text, previous = {}) => {
    const at = text.indexOf("=");
    if (at <= 0) throw new UsageError(`${name} takes key=value, got '${text}'`);
    return { ...previous, [text.slice(0, at)]: text.slice(at + 1) };
  };
}
/** A config value as JSON when it is one (numbers, null), else the text. */
const configValue = (text) => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};
const configs = (given) =>
  Object.fromEntries(Object.entries(given ?? {}).map(([k, v]) => [k, configValue(v)]));

/** A progress line on stderr when it is a terminal: records so far and the rate. */
function progress(label) {
  if (!process.stderr.isTTY) return { tick: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { format: `${label} {value} records · {rate} rec/s`, stream: process.stderr, fps: 1000 / PROGRESS_MS },
    cliProgress.Presets.legacy,
  );
  const started = Date.now();
  let count = 0;
  bar.start(0, 0, { rate: 0 });
  return {
    tick: (n = 1) => {
      count += n;
      bar.update(count, { rate: Math.round(count / Math.max(0.001, (Date.now() - started) / 1000)) });
    },
    stop: () => bar.stop(),
  };
}

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
  .action(async (topicName, o) => {
    const producer = client().producer({ acks: o.acks, idempotent: o.acks === "0" ? false : o.idempotence });
    const bar = progress(`produce ${topicName}:`);
    let sent = 0;
    let failed = 0;
    let firstError = null;
    const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) {
      let key;
      let value = line;
      if (o.keyDelimiter !== undefined) {
        const at = line.indexOf(o.keyDelimiter);
        if (at >= 0) {
          key = line.slice(0, at);
          value = line.slice(at + o.keyDelimiter.length);
        }
      }
      if (o.parseJson) {
        try {
          value = JSON.parse(value);
        } catch {
          throw new UsageError(`line ${sent + failed + 1} is not JSON (--parse-json)`);
        }
      }
      const record = { topic: topicName, key, value, headers: o.header, partition: o.partition };
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
          });
          for (const record of answer.records) out({ ...record, topic: topicName, partition: p });
          got += answer.records.length;
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

// ---- security ----

const principal = program.command("principal").description("principals and their API keys");
principal.command("list").action(async () => {
  const principals = await client().admin.listPrincipals();
  if (json()) print(principals);
  else
    for (const p of principals)
      print(`${p.principal}\t${p.keys.map((k) => k.keyId).join(" ") || "(no keys)"}`);
});
principal.command("create-key <principal>").action(async (name) => {
  const key = await client().admin.createApiKey(name);
  print(json() ? key : `${key.token}\n(key ${key.keyId} of ${key.principal}: the token is shown once)`);
});
principal.command("delete-key <principal> <keyId>").action(async (name, keyId) => {
  await client().admin.deleteApiKey(name, keyId);
  print(`deleted key ${keyId} of ${name}`);
});

const aclFields = (cmd) =>
  cmd
    .option("--principal <principal>")
    .addOption(new Option("--resource-type <type>").choices(["topic", "group", "cluster", "transactionalId"]))
    .addOption(new Option("--pattern-type <type>").choices(["literal", "prefixed"]))
    .option("--resource-name <name>")
    .addOption(
      new Option("--operation <op>").choices([
        "read",
        "write",
        "create",
        "delete",
        "alter",
        "describe",
        "all",
      ]),
    )
    .addOption(new Option("--permission <permission>").choices(["allow", "deny"]));
const aclOf = (o) =>
  Object.fromEntries(
    Object.entries({
      principal: o.principal,
      resourceType: o.resourceType,
      patternType: o.patternType,
      resourceName: o.resourceName,
      operation: o.operation,
      permission: o.permission,
    }).filter(([, v]) => v !== undefined),
  );
const acl = program.command("acl").description("ACLs (Kafka's model)");
aclFields(acl.command("list")).action(async (o) => {
  const acls = await client().admin.listAcls(aclOf(o));
  if (json()) print(acls);
  else
    for (const a of acls)
      print(
        `${a.principal}\t${a.permission} ${a.operation}\t${a.resourceType} ${a.patternType} ${a.resourceName}`,
      );
});
aclFields(acl.command("add")).action(async (o) => {
  const given = aclOf({ patternType: "literal", permission: "allow", ...o });
  for (const field of ["principal", "resourceType", "resourceName", "operation"])
    if (given[field] === undefined)
      throw new UsageError(`acl add needs --${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
  print(
    json()
      ? await client().admin.createAcl(given)
      : `added ${JSON.stringify(await client().admin.createAcl(given))}`,
  );
});
aclFields(acl.command("delete")).action(async (o) => {
  const deleted = await client().admin.deleteAcls(aclOf(o));
  print(json() ? { deleted } : `deleted ${deleted} ACLs`);
});

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
