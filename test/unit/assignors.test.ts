import { describe, expect, it } from "vitest";
import { ASSIGNORS, type Assignment, type AssignmentMember, assign } from "../../core/assignors";
import { parsePartitionKey, partitionKey } from "../../core/partition-key";

describe("partition keys", () => {
  it("read back what they were made of, whatever the topic name", () => {
    for (const [topic, partition] of [
      ["orders", 0],
      ["a.b-c_d", 1023],
      ["x", 7],
    ] as const)
      expect(parsePartitionKey(partitionKey(topic, partition))).toEqual({ topic, partition });
  });
});

function owners(assignment: Assignment): Map<string, string> {
  const map = new Map<string, string>();
  for (const [memberId, owned] of assignment)
    for (const tp of owned) {
      expect(map.has(partitionKey(tp.topic, tp.partition))).toBe(false); // exactly one owner
      map.set(partitionKey(tp.topic, tp.partition), memberId);
    }
  return map;
}

function randomCase(seed: number) {
  let s = seed;
  const rand = () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
  const topics = Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, i) => `t${i}`);
  const partitions = new Map(topics.map((t) => [t, 1 + Math.floor(rand() * 12)]));
  const members: AssignmentMember[] = Array.from({ length: 1 + Math.floor(rand() * 6) }, (_, i) => ({
    memberId: `m${i}`,
    topics: rand() < 0.5 ? topics : topics.filter(() => rand() < 0.7),
  }));
  return { partitions, members, rand };
}

describe.each(ASSIGNORS)("%s assignor", (assignor) => {
  it("assigns each partition of a subscribed topic to exactly one subscribed member (random cases)", () => {
    for (let seed = 1; seed < 300; seed++) {
      const { partitions, members } = randomCase(seed);
      const result = assign(assignor, members, partitions);
      const map = owners(result);
      for (const [topic, count] of partitions) {
        const subscribed = members.some((m) => m.topics.includes(topic));
        for (let p = 0; p < count; p++) {
          const owner = map.get(partitionKey(topic, p));
          if (!subscribed) expect(owner).toBeUndefined();
          else expect(members.find((m) => m.memberId === owner)!.topics).toContain(topic);
        }
      }
      expect([...result.keys()].sort()).toEqual(members.map((m) => m.memberId).sort());
    }
  });

  it("balances members with equal subscriptions to within one partition", () => {
    const partitions = new Map([
      ["a", 6],
      ["b", 5],
    ]);
    for (let n = 1; n <= 7; n++) {
      const members = Array.from({ length: n }, (_, i) => ({ memberId: `m${i}`, topics: ["a", "b"] }));
      const counts = [...assign(assignor, members, partitions).values()].map((o) => o.length);
      if (assignor !== "range") expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      expect(counts.reduce((x, y) => x + y, 0)).toBe(11);
    }
  });

  it("is deterministic", () => {
    const { partitions, members } = randomCase(42);
    expect(assign(assignor, members, partitions)).toEqual(
      assign(assignor, [...members].reverse(), partitions),
    );
  });
});

describe("range and roundrobin match Kafka's layouts", () => {
  const members = [
    { memberId: "c0", topics: ["t"] },
    { memberId: "c1", topics: ["t"] },
  ];
  it("range gives contiguous ranges, the first member one extra", () => {
    const result = assign("range", members, new Map([["t", 5]]));
    expect(result.get("c0")!.map((tp) => tp.partition)).toEqual([0, 1, 2]);
    expect(result.get("c1")!.map((tp) => tp.partition)).toEqual([3, 4]);
  });
  it("roundrobin deals partitions in turn", () => {
    const result = assign("roundrobin", members, new Map([["t", 5]]));
    expect(result.get("c0")!.map((tp) => tp.partition)).toEqual([0, 2, 4]);
    expect(result.get("c1")!.map((tp) => tp.partition)).toEqual([1, 3]);
  });
});

describe("sticky moves as few partitions as possible", () => {
  const partitions = new Map([["t", 12]]);
  const members = (n: number) => Array.from({ length: n }, (_, i) => ({ memberId: `m${i}`, topics: ["t"] }));

  it("a member joining takes only its fair share from the others", () => {
    const before = owners(assign("sticky", members(3), partitions));
    const after = owners(assign("sticky", members(4), partitions, before));
    const moved = [...after].filter(([key, owner]) => before.get(key) !== owner).length;
    expect(moved).toBe(3); // 12 / 4: exactly the new member's share
  });

  it("a member leaving moves only its own partitions", () => {
    const before = owners(assign("sticky", members(4), partitions));
    const after = owners(assign("sticky", members(3), partitions, before));
    const moved = [...after].filter(([key, owner]) => before.get(key) !== owner);
    expect(moved.length).toBe(3);
    for (const [key] of moved) expect(before.get(key)).toBe("m3");
  });

  it("moves fewer partitions than range on random membership changes", () => {
    let stickyMoves = 0;
    let rangeMoves = 0;
    for (let seed = 1; seed < 100; seed++) {
      const { partitions: parts, rand } = randomCase(seed);
      const topics = [...parts.keys()];
      const a = Array.from({ length: 2 + Math.floor(rand() * 4) }, (_, i) => ({ memberId: `m${i}`, topics }));
      const b = rand() < 0.5 ? a.slice(1) : [...a, { memberId: "m9", topics }];
      const s0 = owners(assign("sticky", a, parts));
      const s1 = owners(assign("sticky", b, parts, s0));
      const r0 = owners(assign("range", a, parts));
      const r1 = owners(assign("range", b, parts));
      stickyMoves += [...s1].filter(
        ([k, o]) => s0.get(k) !== undefined && s0.get(k) !== o && b.some((m) => m.memberId === s0.get(k)),
      ).length;
      rangeMoves += [...r1].filter(
        ([k, o]) => r0.get(k) !== undefined && r0.get(k) !== o && b.some((m) => m.memberId === r0.get(k)),
      ).length;
    }
    expect(stickyMoves).toBeLessThan(rangeMoves);
  });
});
