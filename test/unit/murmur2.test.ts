import { describe, expect, it } from "vitest";
import { murmur2, toPositive } from "../../core/murmur2";
import { partitionForKey, StickyPartitioner } from "../../core/partitioner";

const utf8 = new TextEncoder();

describe("murmur2", () => {
  // Apache Kafka's UtilsTest.testMurmur2 vectors: the Java client's exact values.
  it.each([
    ["21", -973932308],
    ["foobar", -790332482],
    ["a-little-bit-long-string", -985981536],
    ["a-little-bit-longer-string", -1486304829],
    ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
    ["abc", 479470107],
    ["", 275646681],
  ])("murmur2(%j) = %i as in the Java client", (input, expected) => {
    expect(murmur2(utf8.encode(input))).toBe(expected);
  });

  it("covers every tail length (0 to 3 trailing bytes) with a signed 32-bit result", () => {
    for (let length = 0; length < 64; length++) {
      const bytes = Uint8Array.from({ length }, (_, i) => (i * 37 + 250) & 0xff);
      const h = murmur2(bytes);
      expect(Number.isInteger(h)).toBe(true);
      expect(h).toBeGreaterThanOrEqual(-(2 ** 31));
      expect(h).toBeLessThan(2 ** 31);
    }
  });

  it("toPositive clears the sign bit like Kafka (not Math.abs)", () => {
    expect(toPositive(-(2 ** 31))).toBe(0);
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-790332482)).toBe(1357151166);
  });
});

describe("partitioner", () => {
  it("maps keys as Kafka's default partitioner does", () => {
    expect(partitionForKey("foobar", 50)).toBe(16);
    expect(partitionForKey("foobar", 12)).toBe(1357151166 % 12);
    expect(partitionForKey("21", 7)).toBe(toPositive(-973932308) % 7);
  });

  it("hashes the key's UTF-8 bytes, not UTF-16 units", () => {
    const key = "clé-🎉";
    expect(partitionForKey(key, 1000)).toBe(toPositive(murmur2(utf8.encode(key))) % 1000);
  });

  it("is deterministic and always within range, spreading keys over partitions", () => {
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 8000; i++) {
      const p = partitionForKey(`user-${i}`, 8);
      expect(p).toBe(partitionForKey(`user-${i}`, 8));
      counts[p]++;
    }
    for (const count of counts) expect(count).toBeGreaterThan(800); // ~1000 each
  });

  it("sticky partitioning keeps one partition a request and moves on to the next", () => {
    const sticky = new StickyPartitioner();
    const seen = Array.from({ length: 6 }, () => sticky.partitionFor("t", 3));
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBe((seen[i - 1]! + 1) % 3);
    expect(new Set(seen).size).toBe(3);
    // A topic whose partition count shrank (re-created) stays in range.
    expect(sticky.partitionFor("t", 1)).toBe(0);
  });
});
