import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  api,
  commit,
  committedOffsets,
  createTopic,
  eventually,
  fill,
  heartbeat,
  join,
  poll,
  produce,
  uniqueGroup,
} from "./helpers";

type TP = { topic: string; partition: number };
const key = (tp: TP) => `${tp.topic}/${tp.partition}`;

/** Every partition owned by exactly one member. */
function expectExactlyOnce(assignments: TP[][], topic: string, partitions: number) {
  const all = assignments.flat().map(key).sort();
  expect(all).toEqual(Array.from({ length: partitions }, (_, p) => `${topic}/${p}`).sort());
}

describe("membership and assignment", () => {
  it("3 members on a 6-partition topic: each partition owned by exactly one member in every generation", async () => {
    const topic = await createTopic({ partitions: 6 });
    const group = uniqueGroup();
    for (const assignor of ["range"] as const) {
      const a = await join(group, { topics: [topic], assignor });
      expect(a.generation).toBe(1);
      expectExactlyOnce([a.assignments], topic, 6);
      const b = await join(group, { topics: [topic], assignor });
      expect(b.generation).toBe(2);
      const c = await join(group, { topics: [topic], assignor });
      expect(c.generation).toBe(3);
      const views = await Promise.all([a, b, c].map((m) => heartbeat(group, m.memberId)));
      for (const v of views) expect(v.body.generation).toBe(3);
      expectExactlyOnce(
        views.map((v) => v.body.assignments),
        topic,
        6,
      );
      for (const v of views) expect(v.body.assignments).toHaveLength(2);
      expect(views[0]!.body.rebalancing).toBe(true); // a was told generation 1; it is now 3
      expect((await heartbeat(group, a.memberId)).body.rebalancing).toBe(false);
      // A leave rebalances: the other two share the six.
      expect((await api("DELETE", `/v1/groups/${group}/members/${b.memberId}`)).status).toBe(204);
      const after = await Promise.all([a, c].map((m) => heartbeat(group, m.memberId)));
      expect(after[0]!.body.generation).toBe(4);
      expectExactlyOnce(
        after.map((v) => v.body.assignments),
        topic,
        6,
      );
      expect((await heartbeat(group, b.memberId)).body.error.code).toBe("UNKNOWN_MEMBER_ID");
    }
  });

  it("describes the group: state, members, assignments; lists it", async () => {
    const topic = await createTopic({ partitions: 2 });
    const group = uniqueGroup();
    const a = await join(group, { topics: [topic], assignor: "roundrobin" });
    const described = await api("GET", `/v1/groups/${group}`);
    expect(described.status).toBe(200);
    expect(described.body).toMatchObject({ group, state: "Stable", generation: 1, assignor: "roundrobin" });
    expect(described.body.members).toEqual([
      expect.objectContaining({ memberId: a.memberId, topics: [topic], assignments: a.assignments }),
    ]);
    await join(group, { topics: [topic], assignor: "roundrobin" });
    expect((await api("GET", `/v1/groups/${group}`)).body.state).toBe("PreparingRebalance"); // a has not seen generation 2
    await heartbeat(group, a.memberId);
    expect((await api("GET", `/v1/groups/${group}`)).body.state).toBe("Stable");
    const list = await api("GET", "/v1/groups");
    expect(list.body.groups).toContainEqual({ group, state: "Stable", generation: 2, members: 2 });
  });

  it("static membership: rejoining with the same instanceId keeps the assignment without a rebalance and fences the old id", async () => {
    const topic = await createTopic({ partitions: 4 });
    const group = uniqueGroup();
    const a = await join(group, { topics: [topic], instanceId: "worker-a" });
    const b = await join(group, { topics: [topic], instanceId: "worker-b" });
    const before = (await heartbeat(group, a.memberId)).body;
    const again = await join(group, { topics: [topic], instanceId: "worker-a" });
    expect(again.memberId).not.toBe(a.memberId);
    expect(again.generation).toBe(b.generation); // no rebalance
    expect(again.assignments).toEqual(before.assignments);
    const fenced = await heartbeat(group, a.memberId);
    expect(fenced.status).toBe(409);
    expect(fenced.body.error.code).toBe("FENCED_INSTANCE_ID");
    expect(
      (await commit(group, a.memberId, again.generation, [{ ...before.assignments[0], offset: 0 }])).body
        .error.code,
    ).toBe("FENCED_INSTANCE_ID");
  });

  it("sticky keeps partitions with their owners when a member joins", async () => {
    const topic = await createTopic({ partitions: 6 });
    const group = uniqueGroup();
    const a = await join(group, { topics: [topic], assignor: "sticky" });
    const b = await join(group, { topics: [topic], assignor: "sticky" });
    const before = await Promise.all(
      [a, b].map(async (m) => (await heartbeat(group, m.memberId)).body.assignments.map(key)),
    );
    const c = await join(group, { topics: [topic], assignor: "sticky" });
    const after = await Promise.all(
      [a, b].map(async (m) => (await heartbeat(group, m.memberId)).body.assignments.map(key)),
    );
    for (let i = 0; i < 2; i++) for (const p of after[i]!) expect(before[i]).toContain(p); // nobody gained another's partition
    expect(c.assignments).toHaveLength(2);
    const mixed = await api("POST", `/v1/groups/${group}/members`, { topics: [topic], assignor: "range" });
    expect(mixed.status).toBe(400); // the group's assignor is sticky
  });

  it("a topic added to a subscription is picked up", async () => {
    const t1 = await createTopic({ partitions: 2 });
    const t2 = await createTopic({ partitions: 2 });
    const group = uniqueGroup();
    const a = await join(group, { topics: [t1] });
    expect(a.assignments.map(key)).toEqual([`${t1}/0`, `${t1}/1`]);
    const again = await join(group, { topics: [t1, t2], instanceId: undefined });
    const all = [...(await heartbeat(group, a.memberId)).body.assignments, ...again.assignments]
      .map(key)
      .sort();
    expect(all).toEqual([`${t1}/0`, `${t1}/1`, `${t2}/0`, `${t2}/1`].sort());
  });
});

describe("subscription and partition changes", () => {
  it("a static member rejoining with one more topic gets its partitions", async () => {
    const t1 = await createTopic({ partitions: 1 });
    const t2 = await createTopic({ partitions: 2 });
    const group = uniqueGroup();
    const first = await join(group, { topics: [t1], instanceId: "w1" });
    expect(first.assignments.map(key)).toEqual([`${t1}/0`]);
    const again = await join(group, { topics: [t1, t2], instanceId: "w1" });
    expect(again.generation).toBe(first.generation + 1); // a changed subscription is a rebalance
    expect(again.assignments.map(key)).toEqual([`${t1}/0`, `${t2}/0`, `${t2}/1`]);
  });

  it("a subscribed topic that comes back with more partitions is picked up by the group's alarm", async () => {
    const topic = await createTopic({ partitions: 2 });
    const group = uniqueGroup();
    const m = await join(group, { topics: [topic] });
    expect(m.assignments).toHaveLength(2);
    expect((await api("DELETE", `/v1/topics/${topic}`)).status).toBe(204);
    expect((await heartbeat(group, m.memberId)).body.assignments).toEqual([]);
    await createTopic({ name: topic, partitions: 4 });
    const coordinator = env.CONSUMER_GROUP.get(env.CONSUMER_GROUP.idFromName(group));
    await runDurableObjectAlarm(coordinator);
    const after = await eventually(
      () => heartbeat(group, m.memberId),
      (r) => r.body.assignments.length === 4,
    );
    expect(after.body.assignments.map(key)).toEqual([0, 1, 2, 3].map((p) => `${topic}/${p}`));
  });
});

describe("poll and commit", () => {
  it("reads from committed offsets (else autoOffsetReset), advances the position, fairly across partitions", async () => {
    const topic = await createTopic({ partitions: 3 });
    await fill(topic, 3, 10);
    const group = uniqueGroup();
    const m = await join(group, { topics: [topic], autoOffsetReset: "earliest" });
    const first = await poll(group, m.memberId, "maxRecords=6");
    expect(first.status).toBe(200);
    expect(first.body.generation).toBe(1);
    expect(first.body.records).toHaveLength(6);
    // Spread over the partitions: two each, in offset order per partition.
    for (let p = 0; p < 3; p++)
      expect(first.body.records.filter((r: any) => r.partition === p).map((r: any) => r.offset)).toEqual([
        0, 1,
      ]);
    expect(first.body.records[0]).toMatchObject({ topic, key: null, headers: {} });
    const seen = first.body.records.map((r: any) => r.value);
    for (let i = 0; i < 20; i++) {
      const next = await poll(group, m.memberId, "maxRecords=6");
      if (next.body.records.length === 0) break;
      seen.push(...next.body.records.map((r: any) => r.value));
    }
    expect(seen.sort()).toEqual(
      Array.from({ length: 30 }, (_, i) => `v-${Math.floor(i / 10)}-${i % 10}`).sort(),
    );
  });

  it("a latest member sees only records produced after it joined", async () => {
    const topic = await createTopic({ partitions: 1 });
    await fill(topic, 1, 5, "old");
    const group = uniqueGroup();
    const m = await join(group, { topics: [topic] }); // autoOffsetReset defaults to latest
    expect((await poll(group, m.memberId)).body.records).toEqual([]);
    await fill(topic, 1, 2, "new");
    expect((await poll(group, m.memberId)).body.records.map((r: any) => r.value)).toEqual([
      "new-0-0",
      "new-0-1",
    ]);
  });

  it("long-polls: a waiting poll is woken by an append", async () => {
    const topic = await createTopic({ partitions: 2 });
    const group = uniqueGroup();
    const m = await join(group, { topics: [topic], autoOffsetReset: "earliest" });
    // waitMs is the maximum, longer than this test may run: only a wake-up answers in time.
    const waiting = poll(group, m.memberId, "waitMs=30000");
    await new Promise((resolve) => setTimeout(resolve, 150));
    await produce(topic, [{ value: "wake", partition: 1 }]);
    const res = await waiting;
    expect(res.body.records.map((r: any) => r.value)).toEqual(["wake"]);
  }, 25_000);

  it("commits persist and a new member resumes from them; lag follows produce and commit", async () => {
    const topic = await createTopic({ partitions: 2 });
    await fill(topic, 2, 5);
    const group = uniqueGroup();
    const a = await join(group, { topics: [topic], autoOffsetReset: "earliest" });
    await poll(group, a.memberId);
    const ok = await commit(group, a.memberId, a.generation, [
      { topic, partition: 0, offset: 3 },
      { topic, partition: 1, offset: 5 },
    ]);
    expect(ok.status).toBe(200);
    expect(ok.body.offsets).toEqual([
      { topic, partition: 0, committedOffset: 3 },
      { topic, partition: 1, committedOffset: 5 },
    ]);
    let offsets = await api("GET", `/v1/groups/${group}/offsets`);
    expect(offsets.body.offsets).toEqual([
      { topic, partition: 0, committedOffset: 3, highWatermark: 5, lag: 2 },
      { topic, partition: 1, committedOffset: 5, highWatermark: 5, lag: 0 },
    ]);
    await fill(topic, 2, 4, "more");
    offsets = await api("GET", `/v1/groups/${group}/offsets`);
    // High watermarks are at most 5 s old; committing refreshes what the group knows.
    expect(offsets.body.offsets.map((o: any) => o.committedOffset)).toEqual([3, 5]);
    const described = await api("GET", `/v1/groups/${group}`);
    expect(described.body.lag.total).toBe(offsets.body.offsets.reduce((n: number, o: any) => n + o.lag, 0));
    // A leaving member's partitions go to a new member, which starts at the committed offsets.
    expect((await api("DELETE", `/v1/groups/${group}/members/${a.memberId}`)).status).toBe(204);
    const b = await join(group, { topics: [topic], autoOffsetReset: "earliest" });
    const records = (await poll(group, b.memberId)).body.records;
    expect(records.filter((r: any) => r.partition === 0).map((r: any) => r.offset)).toEqual([
      3, 4, 5, 6, 7, 8,
    ]);
    expect(records.filter((r: any) => r.partition === 1).map((r: any) => r.offset)).toEqual([5, 6, 7, 8]);
  });
});

describe("fencing: refused commits change nothing", () => {
  it("stale generation, unknown member, partition not owned, offset above the high watermark", async () => {
    const topic = await createTopic({ partitions: 2 });
    await fill(topic, 2, 3);
    const group = uniqueGroup();
    const a = await join(group, { topics: [topic], autoOffsetReset: "earliest" });
    expect((await commit(group, a.memberId, a.generation, [{ topic, partition: 0, offset: 1 }])).status).toBe(
      200,
    );
    const b = await join(group, { topics: [topic] }); // generation 2: one partition each
    const mine = (await heartbeat(group, a.memberId)).body.assignments[0].partition as number;
    const theirs = 1 - mine;
    expect(
      (await commit(group, a.memberId, b.generation, [{ topic, partition: mine, offset: 1 }])).status,
    ).toBe(200);
    const before = await committedOffsets(group);
    const cases: [unknown[], string, number, string][] = [
      [[{ topic, partition: mine, offset: 2 }], a.memberId, a.generation, "ILLEGAL_GENERATION"],
      [[{ topic, partition: theirs, offset: 2 }], a.memberId, b.generation, "PARTITION_NOT_ASSIGNED"],
      [
        [
          { topic, partition: mine, offset: 2 },
          { topic, partition: theirs, offset: 2 },
        ],
        a.memberId,
        b.generation,
        "PARTITION_NOT_ASSIGNED",
      ],
      [[{ topic, partition: mine, offset: 2 }], "member-nobody", b.generation, "UNKNOWN_MEMBER_ID"],
      [[{ topic, partition: mine, offset: 4 }], a.memberId, b.generation, "OFFSET_OUT_OF_RANGE"],
    ];
    for (const [offsets, memberId, generation, code] of cases) {
      const res = await commit(group, memberId, generation, offsets);
      expect(res.body.error.code).toBe(code);
      expect([404, 409, 416]).toContain(res.status);
      expect(await committedOffsets(group)).toEqual(before);
    }
    expect(
      (await commit(group, a.memberId, b.generation, [{ topic, partition: mine, offset: 3 }])).status,
    ).toBe(200);
    expect((await committedOffsets(group))[`${topic}/${mine}`]).toBe(3);
  });
});

describe("session expiry and at-least-once delivery", () => {
  it("a member that stops heartbeating loses its partitions within sessionTimeoutMs + slack; nothing committed is delivered again", async () => {
    const topic = await createTopic({ partitions: 4 });
    await fill(topic, 4, 20);
    const group = uniqueGroup();
    const sessionTimeoutMs = 1000;
    const live = await join(group, {
      topics: [topic],
      sessionTimeoutMs: 30_000,
      autoOffsetReset: "earliest",
    });
    const dying = await join(group, { topics: [topic], sessionTimeoutMs, autoOffsetReset: "earliest" });
    const delivered: { value: string; by: string }[] = [];
    const committedBefore = new Map<string, number>();
    // The dying member reads a little and commits part of it, then goes silent.
    const dyingOwned = (await heartbeat(group, dying.memberId)).body;
    const got = (await poll(group, dying.memberId, "maxRecords=20")).body.records;
    delivered.push(...got.map((r: any) => ({ value: r.value, by: "dying" })));
    const firstOwned = dyingOwned.assignments[0];
    const committedUpTo = 5;
    expect(
      (await commit(group, dying.memberId, dyingOwned.generation, [{ ...firstOwned, offset: committedUpTo }]))
        .status,
    ).toBe(200);
    committedBefore.set(key(firstOwned), committedUpTo);
    const silentAt = Date.now();

    // The live member keeps polling (that keeps it alive) and committing what it got.
    let takenOverAt = 0;
    for (let i = 0; i < 200 && Date.now() - silentAt < 15_000; i++) {
      const res = await poll(group, live.memberId, "maxRecords=50&waitMs=200");
      expect(res.status).toBe(200);
      const hb = (await heartbeat(group, live.memberId)).body;
      if (hb.assignments.length === 4 && takenOverAt === 0) takenOverAt = Date.now();
      for (const r of res.body.records) delivered.push({ value: r.value, by: "live" });
      const ends = new Map<string, number>();
      for (const r of res.body.records) ends.set(`${r.topic}/${r.partition}`, r.offset + 1);
      const owned = new Set(hb.assignments.map(key));
      const mine = [...ends].filter(([k]) => owned.has(k));
      if (mine.length > 0 && res.body.generation === hb.generation) {
        const offsets = mine.map(([k, offset]) => ({ topic, partition: Number(k.split("/")[1]), offset }));
        await commit(group, live.memberId, hb.generation, offsets);
      }
      if (
        takenOverAt &&
        delivered.filter((d) => d.by === "live").length >= 80 - 0 &&
        res.body.records.length === 0
      )
        break;
    }
    expect(takenOverAt).toBeGreaterThan(0);
    expect(takenOverAt - silentAt).toBeLessThan(sessionTimeoutMs + 6_000); // session + alarm slack
    // At-least-once: every record delivered to some member.
    const values = new Set(delivered.map((d) => d.value));
    for (let p = 0; p < 4; p++) for (let i = 0; i < 20; i++) expect(values.has(`v-${p}-${i}`)).toBe(true);
    // Nothing committed by the dead member was delivered again.
    const [k, upTo] = [...committedBefore][0]!;
    const partition = Number(k.split("/")[1]);
    for (let i = 0; i < upTo; i++)
      expect(delivered.filter((d) => d.value === `v-${partition}-${i}` && d.by === "live")).toHaveLength(0);
    expect((await heartbeat(group, dying.memberId)).body.error.code).toBe("UNKNOWN_MEMBER_ID");
  }, 30_000);
});
