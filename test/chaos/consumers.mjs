// Chaos clients that read: stateless fetchers, HTTP group members (joining, leaving,
// going silent, committing), WebSocket partition tails and group sockets, and an
// observer of committed offsets. Each checks what it can while it runs; every record
// read goes to the history so the final log can confirm it.
import WebSocket from "ws";
import { CONTRACT_CODES, call, sleep } from "./history.mjs";
import { Random } from "./random.mjs";

/** Session timeout of the chaos members: short, so silent members expire within the run. */
export const SESSION_TIMEOUT_MS = 3_000;
/** Credits a WebSocket subscription starts with (re-granted as records arrive). */
const WS_CREDITS = 300;

const tpKey = (topic, partition) => `${topic}/${partition}`;

/** Checks one answer's records against the high watermark it came with, and records them. */
function observeRecords(ctx, topic, partition, records, highWatermark, by) {
  for (const r of records) {
    if (highWatermark !== undefined && r.offset >= highWatermark)
      ctx.history.find(
        "aboveHW",
        `${by}: ${topic}/${partition} offset ${r.offset} read with highWatermark ${highWatermark}`,
      );
    ctx.history.observe(topic, partition, r, by);
  }
}

/** A partition of either chaos topic, drawn from `rng`. */
function pickPartition(ctx, rng) {
  const topic = rng.pick([ctx.topics.single, ctx.topics.replicated]);
  return { topic, partition: rng.int(0, topic.partitions - 1) };
}

/** Stateless fetches at random offsets: contiguous from the asked offset, below the answer's high watermark. */
export async function fetcher(ctx, name) {
  const rng = Random.derive(ctx.seed, name);
  while (!ctx.done()) {
    await ctx.waitUp();
    const { topic, partition } = pickPartition(ctx, rng);
    const known = ctx.highWatermarks.get(tpKey(topic.name, partition)) ?? 0;
    const offset = rng.chance(0.2) ? "earliest" : rng.int(0, known);
    const waitMs = rng.chance(0.2) ? rng.int(1, 300) : 0;
    const maxRecords = rng.int(1, 200);
    const res = await call(
      ctx,
      "GET",
      `/v1/topics/${topic.name}/partitions/${partition}/records?offset=${offset}&maxRecords=${maxRecords}&waitMs=${waitMs}`,
      undefined,
      { label: "fetch" },
    );
    if (res.kind === "ok") {
      const { records, nextOffset, highWatermark, logStartOffset } = res.body;
      const from = offset === "earliest" ? logStartOffset : offset;
      const offsets = records.map((r) => r.offset);
      const expected = offsets.map((_, i) => from + i);
      if (JSON.stringify(offsets) !== JSON.stringify(expected) || nextOffset !== from + records.length)
        ctx.history.find(
          "regressions",
          `${name}: fetch of ${topic.name}/${partition} from ${from} answered offsets ${offsets.slice(0, 10)}… nextOffset ${nextOffset}`,
        );
      observeRecords(ctx, topic.name, partition, records, highWatermark, name);
      const key = tpKey(topic.name, partition);
      ctx.highWatermarks.set(key, Math.max(ctx.highWatermarks.get(key) ?? 0, highWatermark));
    }
    await sleep(rng.int(0, 30));
  }
}

/**
 * Positions one consumer saw, per partition: offsets must strictly increase while the
 * generation and the server's life (crashes reset positions to committed offsets) stay.
 */
class Positions {
  constructor(name) {
    this.name = name;
    this.generation = -1;
    this.crashes = -1;
    this.last = new Map();
  }

  /** Starts over when the generation or the server's life changed. */
  at(generation, crashes) {
    if (generation !== this.generation || crashes !== this.crashes) this.last.clear();
    this.generation = generation;
    this.crashes = crashes;
  }

  check(ctx, topic, partition, offset) {
    const key = tpKey(topic, partition);
    const last = this.last.get(key);
    if (last !== undefined && offset <= last)
      ctx.history.find("regressions", `${this.name}: ${key} offset ${offset} delivered after ${last}`);
    this.last.set(key, offset);
  }

  /** The next offsets to commit: one past the last record seen of each partition in `records`. */
  commitOffsets(records) {
    const next = new Map();
    for (const r of records)
      next.set(tpKey(r.topic, r.partition), { topic: r.topic, partition: r.partition, offset: r.offset + 1 });
    return [...next.values()];
  }
}

/** An HTTP group member: joins, polls, commits after processing, sometimes leaves or goes silent. */
export async function groupMember(ctx, name, group) {
  const rng = Random.derive(ctx.seed, name);
  const topics = [ctx.topics.single.name, ctx.topics.replicated.name];
  const positions = new Positions(name);
  /** @type {{ id: string, generation: number } | null} */
  let member = null;
  while (!ctx.done()) {
    await ctx.waitUp();
    if (!member) {
      const joined = await call(ctx, "POST", `/v1/groups/${group}/members`, {
        topics,
        sessionTimeoutMs: SESSION_TIMEOUT_MS,
        autoOffsetReset: "earliest",
      });
      if (joined.kind === "ok") {
        member = { id: joined.body.memberId, generation: joined.body.generation };
        ctx.history.own(group, member.generation, member.id, joined.body.assignments);
      } else await sleep(100);
      continue;
    }
    const base = `/v1/groups/${group}/members/${member.id}`;
    const roll = rng.next();
    let res;
    if (roll < 0.03) {
      res = await call(ctx, "DELETE", base);
      member = null;
      continue;
    }
    if (roll < 0.05) {
      await sleep(SESSION_TIMEOUT_MS + rng.int(500, 2_000)); // silent: the group expires the member
      continue;
    }
    if (roll < 0.2) {
      res = await call(ctx, "POST", `${base}/heartbeat`);
      if (res.kind === "ok") {
        member.generation = res.body.generation;
        ctx.history.own(group, res.body.generation, member.id, res.body.assignments);
      }
    } else {
      res = await call(
        ctx,
        "GET",
        `${base}/records?maxRecords=${rng.int(1, 100)}&waitMs=${rng.int(0, 200)}`,
        undefined,
        {
          label: "group poll",
        },
      );
      if (res.kind === "ok") {
        const { generation, records } = res.body;
        member.generation = generation;
        positions.at(generation, ctx.history.crashes);
        for (const r of records) {
          positions.check(ctx, r.topic, r.partition, r.offset);
          ctx.history.own(group, generation, member.id, [r]);
          ctx.history.observe(r.topic, r.partition, r, name);
        }
        if (records.length > 0 && rng.chance(0.8)) {
          const offsets = positions.commitOffsets(records);
          ctx.history.attemptCommit(group, offsets);
          const committed = await call(
            ctx,
            "POST",
            `/v1/groups/${group}/offsets`,
            { memberId: member.id, generation, offsets },
            { cut: rng.chance(0.02) },
          );
          if (committed.kind === "ok")
            for (const o of offsets) {
              const owner = ctx.history.owners.get(`${group}/${generation}/${o.topic}/${o.partition}`);
              if (owner !== undefined && owner !== member.id)
                ctx.history.find(
                  "regressions",
                  `${name}: commit of ${o.topic}/${o.partition} accepted from ${member.id}, owner ${owner}`,
                );
            }
          res = committed;
        }
      }
    }
    if (
      res.kind === "error" &&
      ["UNKNOWN_MEMBER_ID", "FENCED_INSTANCE_ID", "GROUP_ID_NOT_FOUND"].includes(res.code)
    )
      member = null;
    await sleep(rng.int(0, 30));
  }
  if (member) await call(ctx, "DELETE", `/v1/groups/${group}/members/${member.id}`);
}

/**
 * One WebSocket for a chaos client that sends `subscribe` once open and hands every
 * frame to `onFrame`; closed at a random time (or by a crash). Resolves when it closed.
 */
function openSocket(ctx, rng, subscribe, onFrame) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${ctx.url().replace("http", "ws")}/v1/ws`);
    const lifetime = setTimeout(() => ws.close(1000), rng.int(2_000, 15_000));
    const stop = setInterval(() => {
      if (ctx.done()) ws.close(1000);
    }, 200);
    ws.on("open", () => ws.send(JSON.stringify(subscribe)));
    ws.on("message", (data) => {
      let frame;
      try {
        frame = JSON.parse(data.toString());
      } catch {
        ctx.history.find(
          "unexpected",
          `a WebSocket frame that is not JSON: ${data.toString().slice(0, 100)}`,
        );
        return;
      }
      if (frame.op === "error" && CONTRACT_CODES[frame.error?.code] === undefined)
        ctx.history.find("unexpected", `WebSocket error frame ${JSON.stringify(frame).slice(0, 200)}`);
      onFrame(ws, frame);
    });
    ws.on("error", () => undefined); // the close that follows settles it
    ws.on("close", () => {
      clearTimeout(lifetime);
      clearInterval(stop);
      resolve(undefined);
    });
  });
}

/** A WebSocket tail of one partition: every record pushed in offset order, without a gap. */
export async function tail(ctx, name) {
  const rng = Random.derive(ctx.seed, name);
  while (!ctx.done()) {
    await ctx.waitUp();
    const { topic, partition } = pickPartition(ctx, rng);
    const resume = ctx.tailPositions.get(`${name}/${tpKey(topic.name, partition)}`);
    let expected = resume;
    ctx.history.ops += 1;
    await openSocket(
      ctx,
      rng,
      {
        op: "subscribe",
        id: 1,
        topic: topic.name,
        partition,
        offset: resume ?? "earliest",
        credits: WS_CREDITS,
      },
      (ws, frame) => {
        if (frame.op === "subscribed") {
          if (resume !== undefined && frame.nextOffset !== resume)
            ctx.history.find(
              "regressions",
              `${name}: tail asked for offset ${resume}, subscribed at ${frame.nextOffset}`,
            );
          expected = frame.nextOffset;
        } else if (frame.op === "records") {
          for (const r of frame.records) {
            if (r.offset !== expected)
              ctx.history.find(
                "regressions",
                `${name}: tail of ${tpKey(topic.name, partition)} pushed ${r.offset}, expected ${expected}`,
              );
            expected = r.offset + 1;
            ctx.history.observe(topic.name, partition, r, name);
          }
          ctx.tailPositions.set(`${name}/${tpKey(topic.name, partition)}`, expected);
          ws.send(JSON.stringify({ op: "credit", subscription: 1, credits: frame.records.length }));
        } else if (frame.op === "error") ws.close(1000);
      },
    );
    await sleep(rng.int(50, 300));
  }
}

/** A group member over WebSocket: assignments and records pushed, commits sent as frames. */
export async function groupSocket(ctx, name, group) {
  const rng = Random.derive(ctx.seed, name);
  const topics = [ctx.topics.single.name, ctx.topics.replicated.name];
  while (!ctx.done()) {
    await ctx.waitUp();
    const positions = new Positions(name);
    let commitId = 0;
    ctx.history.ops += 1;
    await openSocket(
      ctx,
      rng,
      { op: "subscribe", id: "g", group, topics, autoOffsetReset: "earliest", credits: WS_CREDITS },
      (ws, frame) => {
        if (frame.op === "assigned") {
          positions.at(frame.generation, ctx.history.crashes);
          ctx.history.own(group, frame.generation, frame.memberId, frame.assignments);
        } else if (frame.op === "records") {
          for (const r of frame.records) {
            positions.check(ctx, r.topic, r.partition, r.offset);
            ctx.history.observe(r.topic, r.partition, r, name);
          }
          ws.send(JSON.stringify({ op: "credit", subscription: "g", credits: frame.records.length }));
          if (rng.chance(0.5)) {
            const offsets = positions.commitOffsets(frame.records);
            ctx.history.attemptCommit(group, offsets);
            ws.send(JSON.stringify({ op: "commit", id: ++commitId, offsets }));
          }
        }
      },
    );
    await sleep(rng.int(50, 300));
  }
}

/** Reads the groups' committed offsets: each only moves forward, to a value some member committed. */
export async function offsetsObserver(ctx, groups) {
  const last = new Map();
  let crashes = ctx.history.crashes;
  while (!ctx.done()) {
    await ctx.waitUp();
    for (const group of groups) {
      const res = await call(ctx, "GET", `/v1/groups/${group}/offsets`);
      if (res.kind !== "ok") continue;
      for (const o of res.body.offsets) {
        const key = `${group}/${o.topic}/${o.partition}`;
        const before = last.get(key);
        if (before !== undefined && o.committedOffset < before)
          ctx.history.find(
            "regressions",
            `committed offset of ${key} moved back from ${before} to ${o.committedOffset}${crashes !== ctx.history.crashes ? " (across a crash)" : ""}`,
          );
        if (!ctx.history.commitAttempts.get(key)?.has(o.committedOffset))
          ctx.history.find(
            "regressions",
            `committed offset ${o.committedOffset} of ${key} was never committed by a member`,
          );
        last.set(key, o.committedOffset);
      }
    }
    crashes = ctx.history.crashes;
    await sleep(250);
  }
}
