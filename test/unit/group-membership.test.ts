import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AssignorName } from "../../core/assignors";
import { GroupMembership } from "../../core/group-membership";

const TOPICS = ["a", "b", "c"];

function spec(n: number, topics: string[], instanceId: string | null = null, sessionTimeoutMs = 1_000) {
  return {
    memberId: `m${n}`,
    instanceId,
    topics,
    sessionTimeoutMs,
    autoOffsetReset: "latest" as const,
    isolation: "read_uncommitted" as const,
    pushTo: null,
    assignor: "range" as AssignorName,
  };
}

function group(nowMs = { t: 0 }) {
  const g = new GroupMembership(0, null, [], [], () => nowMs.t);
  g.setPartitionCount("a", 3);
  g.setPartitionCount("b", 2);
  g.setPartitionCount("c", 1);
  return g;
}

describe("GroupMembership (the group coordinator's state machine)", () => {
  it("every join and leave is a rebalance: a new generation with every partition assigned", () => {
    const g = group();
    const first = g.join("g", spec(1, ["a"]));
    expect(first.ok && first.value.moved).toHaveLength(3);
    expect(g.generation).toBe(1);
    g.join("g", spec(2, ["a"]));
    expect(g.generation).toBe(2);
    expect(g.assignmentsOf("m1").length + g.assignmentsOf("m2").length).toBe(3);
    g.remove(["m1"]);
    expect(g.generation).toBe(3);
    expect(g.assignmentsOf("m2")).toHaveLength(3);
    expect(g.remove(["m2"])).toHaveLength(3);
    expect(g.state()).toBe("Empty");
    expect(g.assignor).toBeNull();
  });

  it("a static member's rejoin fences its old id and keeps its partitions without a rebalance", () => {
    const g = group();
    g.join("g", spec(1, ["a"], "worker-1"));
    g.join("g", spec(2, ["b"], "worker-2"));
    const generation = g.generation;
    const owned = g.assignmentsOf("m1");
    const again = g.join("g", spec(3, ["a"], "worker-1"));
    expect(again.ok && again.value.replaced?.memberId).toBe("m1");
    expect(again.ok && again.value.moved).toBeNull();
    expect(g.generation).toBe(generation);
    expect(g.assignmentsOf("m3")).toEqual(owned);
    const fenced = g.touch("m1", (id) => id === "m1");
    expect(!fenced.ok && fenced.error.code).toBe("FENCED_INSTANCE_ID");
    const unknown = g.touch("m9", () => false);
    expect(!unknown.ok && unknown.error.code).toBe("UNKNOWN_MEMBER_ID");
  });

  it("refuses another assignor while the group has members", () => {
    const g = group();
    g.join("g", spec(1, ["a"]));
    const other = g.join("g", { ...spec(2, ["a"]), assignor: "sticky" });
    expect(!other.ok && other.error.code).toBe("INVALID_REQUEST");
  });

  it("expires members silent for their session timeout, and says when the next may expire", () => {
    const now = { t: 0 };
    const g = group(now);
    g.join("g", spec(1, ["a"], null, 1_000));
    g.join("g", spec(2, ["a"], null, 5_000));
    expect(g.nextExpiryMs()).toBe(1_000);
    now.t = 1_000;
    expect(g.expired()).toEqual(["m1"]);
    g.touch("m2", () => false);
    now.t = 5_500;
    expect(g.expired()).toEqual(["m1"]);
  });

  it("a commit is accepted only from the owner, in the current generation", () => {
    const g = group();
    g.join("g", spec(1, ["a"]));
    g.join("g", spec(2, ["a"]));
    const [tp] = g.assignmentsOf("m1");
    expect(g.mayCommit("m1", g.generation, [tp!]).ok).toBe(true);
    const stale = g.mayCommit("m1", g.generation - 1, [tp!]);
    expect(!stale.ok && stale.error.code).toBe("ILLEGAL_GENERATION");
    const other = g.mayCommit("m2", g.generation, [tp!]);
    expect(!other.ok && other.error.code).toBe("PARTITION_NOT_ASSIGNED");
  });
});

// ---- random histories ----

type Op =
  | { kind: "join"; member: number; topics: string[]; instance: number | null }
  | { kind: "leave"; member: number }
  | { kind: "expire"; ms: number }
  | { kind: "heartbeat"; member: number }
  | { kind: "partitions"; topic: string; count: number }
  | { kind: "deleteTopic"; topic: string }
  | { kind: "commit"; member: number; generationBack: number; topic: string; partition: number };

const topicArb = fc.constantFrom(...TOPICS);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("join" as const),
      member: fc.nat(30),
      topics: fc.uniqueArray(topicArb, { minLength: 1, maxLength: 3 }),
      instance: fc.option(fc.nat(3), { nil: null }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("leave" as const), member: fc.nat(30) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("expire" as const), ms: fc.integer({ min: 0, max: 3_000 }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("heartbeat" as const), member: fc.nat(30) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("partitions" as const),
      topic: topicArb,
      count: fc.integer({ min: 1, max: 6 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("deleteTopic" as const), topic: topicArb }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("commit" as const),
      member: fc.nat(30),
      generationBack: fc.nat(2),
      topic: topicArb,
      partition: fc.nat(5),
    }),
  },
);

describe("GroupMembership under random histories", () => {
  it("one owner per partition per generation, every subscribed partition owned, commits only from owners", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<AssignorName>("range", "roundrobin", "sticky"),
        fc.array(op, { maxLength: 80 }),
        (assignor, ops) => {
          const now = { t: 0 };
          const g = new GroupMembership(0, null, [], [], () => now.t);
          for (const t of TOPICS) g.setPartitionCount(t, 2);
          const ids: string[] = [];
          /** generation → partition → owner, as first seen: an owner never changes within a generation. */
          const owners = new Map<number, Map<string, string>>();
          const check = () => {
            const seen = owners.get(g.generation) ?? new Map<string, string>();
            owners.set(g.generation, seen);
            const owned = new Set<string>();
            for (const m of g.members.values())
              for (const tp of g.assignmentsOf(m.memberId)) {
                const key = `${tp.topic}/${tp.partition}`;
                expect(owned.has(key)).toBe(false); // one owner
                owned.add(key);
                expect(m.topics).toContain(tp.topic); // only subscribed topics
                expect(tp.partition).toBeLessThan(g.partitionCounts.get(tp.topic)!);
                expect(seen.get(key) ?? m.memberId).toBe(m.memberId); // stable within a generation
                seen.set(key, m.memberId);
              }
            for (const topic of g.subscribedTopics()) {
              const count = g.partitionCounts.get(topic) ?? 0;
              for (let p = 0; p < count; p++) expect(owned.has(`${topic}/${p}`)).toBe(true);
            }
          };
          for (const o of ops) {
            const before = g.generation;
            switch (o.kind) {
              case "join": {
                const joined = g.join("g", {
                  memberId: `m${ids.length}`,
                  instanceId: o.instance === null ? null : `i${o.instance}`,
                  topics: o.topics,
                  sessionTimeoutMs: 1_000,
                  autoOffsetReset: "latest",
                  isolation: "read_uncommitted",
                  pushTo: null,
                  assignor,
                });
                if (joined.ok) {
                  ids.push(joined.value.member.memberId);
                  // A static member's takeover without a rebalance: the fenced id's partitions are the new id's.
                  const { replaced, moved, member } = joined.value;
                  if (replaced && moved === null)
                    for (const [key, owner] of owners.get(g.generation) ?? [])
                      if (owner === replaced.memberId) owners.get(g.generation)!.set(key, member.memberId);
                  expect(g.generation).toBe(joined.value.moved === null ? before : before + 1);
                }
                break;
              }
              case "leave": {
                const id = ids[o.member % Math.max(1, ids.length)];
                if (id !== undefined && g.touch(id, () => false).ok) {
                  g.remove([id]);
                  expect(g.generation).toBe(before + 1);
                }
                break;
              }
              case "expire": {
                now.t += o.ms;
                const expired = g.expired();
                if (expired.length > 0) g.remove(expired);
                break;
              }
              case "heartbeat": {
                const id = ids[o.member % Math.max(1, ids.length)];
                const m = id === undefined ? null : g.touch(id, () => false);
                if (m?.ok) g.heartbeat(m.value);
                break;
              }
              case "partitions":
                if (g.setPartitionCount(o.topic, o.count)) g.rebalance();
                break;
              case "deleteTopic":
                if (g.forgetTopic(o.topic)) g.rebalance();
                break;
              case "commit": {
                const id = ids[o.member % Math.max(1, ids.length)];
                if (id === undefined) break;
                const generation = g.generation - o.generationBack;
                const tp = { topic: o.topic, partition: o.partition };
                const accepted = g.mayCommit(id, generation, [tp]).ok;
                expect(accepted).toBe(
                  generation === g.generation && g.ownerOf(tp.topic, tp.partition) === id,
                );
                break;
              }
            }
            expect(g.generation).toBeGreaterThanOrEqual(before);
            check();
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
