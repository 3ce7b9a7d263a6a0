#!/usr/bin/env node
// The chaos run (issue 11): a seeded, randomized history against a real local server
// (what `npm start` runs, with the test-only faults compiled in), with SIGKILLs of the
// whole server, replica and leader faults and cut connections; then the checker reads
// the complete log and reports what Jepsen's Kafka checker would.
//
//   npm run chaos -- --seed 42 --minutes 3
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { LocalServer, tempStateDir } from "../../scripts/local-server.mjs";
import { checkFinalLog, readFinalLog } from "./checker.mjs";
import { fetcher, groupMember, groupSocket, offsetsObserver, tail } from "./consumers.mjs";
import { call, History, sleep } from "./history.mjs";
import { idempotentProducer, plainProducer } from "./producers.mjs";
import { newSeed, Random } from "./random.mjs";
import { checkTransactions, readCommittedLog, transactionalProducer } from "./transactions.mjs";

/** Time between two crashes of the whole server: 10 or more in a 3-minute run. */
const CRASH_EVERY_MS = { min: 6_000, max: 12_000 };
/** Time between two injected faults while the server is up. */
const FAULT_EVERY_MS = { min: 1_000, max: 3_000 };
/** How long a fault stays before it is lifted (a crash lifts every fault too). */
const FAULT_LASTS_MS = { min: 500, max: 4_000 };
/** Time the clients get to finish their last request once the run is over. */
const DRAIN_TIMEOUT_MS = 60_000;
const FAULTS = ["fail", "hang", "failAfterCommit", "slow", "reset"];
/** Share of fault actions that isolate a leader from its followers and then fail it. */
const ISOLATE_LEADER_CHANCE = 0.25;
/** How long the followers lag before the leader fails (shorter than the ISR's 2 s lag time). */
const ISOLATION_MS = { min: 200, max: 1_500 };
/** The transactional clients (their transactionalIds are `chaos-<name>`). */
const TRANSACTIONAL = ["txn-a", "txn-b"];

/**
 * Runs one chaos history and checks it.
 * @param {{ seed: number, durationMs: number, crashes?: boolean }} options
 * @returns {Promise<History>}
 */
export async function runChaos({ seed, durationMs, crashes = true }) {
  const history = new History(seed);
  const server = new LocalServer(tempStateDir(), { EDGELOG_FAULTS: "1" });
  await server.start();
  let up = Promise.resolve();
  const stopAt = Date.now() + durationMs;
  const ctx = {
    seed,
    history,
    url: () => server.url,
    done: () => Date.now() >= stopAt,
    waitUp: () => up,
    topics: {
      /** acks=0 and acks=1: one replica, so an acknowledged record can only be lost by the storage. */
      single: { name: "chaos-single", partitions: 2, replicationFactor: 1 },
      /** acks=all and idempotent: three replicas, two in sync needed, short ISR timers for quick changes. */
      replicated: { name: "chaos-replicated", partitions: 3, replicationFactor: 3 },
      /** Transactional producers: markers leave gaps in its log (checked with read_committed). */
      transactions: { name: "chaos-transactions", partitions: 2, replicationFactor: 3 },
    },
    highWatermarks: new Map(),
    tailPositions: new Map(),
  };
  try {
    for (const topic of Object.values(ctx.topics)) {
      const created = await call(ctx, "POST", "/v1/topics", {
        ...topic,
        configs:
          topic.replicationFactor > 1
            ? { "min.insync.replicas": 2, "replica.lag.time.max.ms": 2_000, "replica.ack.timeout.ms": 2_000 }
            : {},
      });
      if (created.kind !== "ok")
        throw new Error(`could not create ${topic.name}: ${JSON.stringify(created)}`);
    }
    const groups = ["chaos-http", "chaos-ws"];
    const clients = [
      plainProducer(ctx, "p-acks0", "0"),
      plainProducer(ctx, "p-acks1-a", "1"),
      plainProducer(ctx, "p-acks1-b", "1"),
      plainProducer(ctx, "p-all-a", "all"),
      plainProducer(ctx, "p-all-b", "all"),
      idempotentProducer(ctx, "idem-a"),
      idempotentProducer(ctx, "idem-b"),
      ...TRANSACTIONAL.map((name) => transactionalProducer(ctx, name)),
      fetcher(ctx, "fetch-a"),
      fetcher(ctx, "fetch-b"),
      groupMember(ctx, "member-a", groups[0]),
      groupMember(ctx, "member-b", groups[0]),
      groupSocket(ctx, "gsock-a", groups[0]),
      groupSocket(ctx, "gsock-b", groups[1]),
      groupSocket(ctx, "gsock-c", groups[1]),
      tail(ctx, "tail-a"),
      tail(ctx, "tail-b"),
      offsetsObserver(ctx, groups),
    ];
    const nemesis = runNemesis(ctx, server, crashes, (next) => {
      up = next;
    });
    await Promise.all([nemesis, bounded(Promise.all(clients), stopAt - Date.now() + DRAIN_TIMEOUT_MS)]);

    // The last crash lifts every fault; then the checker reads the whole log.
    await crash(server, history);
    await server.start();
    const logs = await readFinalLog(ctx);
    checkFinalLog(history, logs, new Set([ctx.topics.transactions.name]));
    checkTransactions(history, await readCommittedLog(ctx, TRANSACTIONAL));
    if (history.failed) {
      console.error(`chaos seed=${seed} nemesis:\n  ${history.events.join("\n  ")}`);
      const file = join(tmpdir(), `chaos-${seed}-server.log`);
      writeFileSync(file, history.serverLog.join("\n"));
      console.error(`chaos seed=${seed} the server's output: ${file}`);
    }
  } finally {
    await server.stop("SIGKILL");
  }
  return history;
}

/** SIGKILL of the whole server (no shutdown), keeping what it printed for the report. */
async function crash(server, history) {
  history.serverLog.push(
    server.output,
    `---- SIGKILL at ${((Date.now() - history.startedAt) / 1000).toFixed(1)}s ----`,
  );
  await server.stop("SIGKILL");
}

/** Resolves when `promise` does or after `ms`, whichever is first. */
function bounded(promise, ms) {
  return Promise.race([promise, sleep(Math.max(0, ms))]);
}

/** Crashes the server and injects faults on a seeded schedule until the run is over. */
async function runNemesis(ctx, server, crashes, setUp) {
  const rng = Random.derive(ctx.seed, "nemesis");
  const { history } = ctx;
  let nextCrash = Date.now() + rng.int(CRASH_EVERY_MS.min, CRASH_EVERY_MS.max);
  while (!ctx.done()) {
    await sleep(rng.int(FAULT_EVERY_MS.min, FAULT_EVERY_MS.max));
    if (ctx.done()) break;
    if (crashes && Date.now() >= nextCrash) {
      history.crashes += 1;
      history.event("SIGKILL and restart");
      // No shutdown: wrangler and workerd die mid-request; clients wait for the restart.
      const restart = crash(server, history).then(() => server.start());
      setUp(restart);
      await restart;
      nextCrash = Date.now() + rng.int(CRASH_EVERY_MS.min, CRASH_EVERY_MS.max);
      continue;
    }
    if (rng.chance(ISOLATE_LEADER_CHANCE)) {
      await isolateLeader(ctx, rng);
      continue;
    }
    const topic = rng.chance(0.8) ? ctx.topics.replicated : ctx.topics.single;
    const target = {
      topic: topic.name,
      partition: rng.int(0, topic.partitions - 1),
      replica: rng.int(0, topic.replicationFactor - 1),
    };
    const fault = rng.pick(FAULTS);
    const injected = await call(ctx, "POST", "/v1/_faults", { ...target, fault });
    if (injected.kind !== "ok") continue;
    history.faults += 1;
    history.event(`${fault} ${target.topic}/${target.partition} replica ${target.replica}`);
    if (fault !== "reset") {
      const lasts = rng.int(FAULT_LASTS_MS.min, FAULT_LASTS_MS.max);
      const crashesBefore = history.crashes;
      setTimeout(() => {
        if (history.crashes !== crashesBefore) return;
        history.event(`none ${target.topic}/${target.partition} replica ${target.replica}`);
        void call(ctx, "POST", "/v1/_faults", { ...target, fault: "none" });
      }, lasts);
    }
  }
}

/**
 * A forced failover at the worst moment: followers of a replicated partition lag
 * (slow, still in the ISR) while producers write, then the leader fails — alone, or
 * with the one follower that kept up. Only what min.insync.replicas copies
 * acknowledged may survive this: an acks=all answered before the copies, or an
 * election of the lagging follower, would lose records here.
 */
async function isolateLeader(ctx, rng) {
  const topic = ctx.topics.replicated;
  const partition = rng.int(0, topic.partitions - 1);
  const described = await call(ctx, "GET", `/v1/topics/${topic.name}`);
  const leader = described.body?.partitionInfo?.[partition]?.leader;
  if (described.kind !== "ok" || typeof leader !== "number" || leader < 0) return;
  const replica = (r, fault) => {
    ctx.history.event(`${fault} ${topic.name}/${partition} replica ${r} (leader ${leader})`);
    return call(ctx, "POST", "/v1/_faults", { topic: topic.name, partition, replica: r, fault });
  };
  const followers = [0, 1, 2].filter((r) => r !== leader);
  if (rng.chance(0.5)) followers.reverse();
  const [first, second] = followers;
  // Both followers lag; or one lags while the other keeps up — and then fails with the leader,
  // leaving only the lagging one to answer an election.
  const bothLag = rng.chance(0.5);
  await replica(second, "slow");
  if (bothLag) await replica(first, "slow");
  await sleep(rng.int(ISOLATION_MS.min, ISOLATION_MS.max));
  if (!bothLag) await replica(first, "fail");
  await replica(leader, "fail");
  ctx.history.faults += 3;
  const crashesBefore = ctx.history.crashes;
  setTimeout(
    () => {
      if (ctx.history.crashes !== crashesBefore) return;
      for (const r of [...followers, leader]) void replica(r, "none");
    },
    rng.int(FAULT_LASTS_MS.min, FAULT_LASTS_MS.max),
  );
}

async function main() {
  const { values } = parseArgs({
    options: { seed: { type: "string" }, minutes: { type: "string", default: "3" } },
  });
  const seed = values.seed === undefined ? newSeed() : Number(values.seed);
  const minutes = Number(values.minutes);
  if (!Number.isInteger(seed) || seed < 0 || !(minutes > 0 && minutes <= 60)) {
    console.error("usage: npm run chaos -- [--seed N (integer ≥ 0)] [--minutes M (0 < M ≤ 60, default 3)]");
    process.exit(2);
  }
  console.log(`chaos seed=${seed} minutes=${minutes}`);
  const history = await runChaos({ seed, durationMs: minutes * 60_000 });
  console.log(history.summary());
  process.exit(history.failed ? 1 : 0);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
