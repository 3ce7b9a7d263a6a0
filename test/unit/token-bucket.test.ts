import { describe, expect, it } from "vitest";
import { TokenBucket } from "../../core/token-bucket";

describe("TokenBucket (clock injected)", () => {
  it("lets a burst through, refuses the next, refills at the rate, never above the burst", () => {
    let now = 1_000;
    const bucket = new TokenBucket(10, 3, () => now);
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true]);
    expect(bucket.take()).toBe(false);
    expect(bucket.overdrawnBy).toBe(1);
    expect(bucket.retryAfterS).toBe(1);
    now += 200; // 2 tokens back: the debt of 1 is paid, 1 left
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
    now += 60_000; // a long quiet spell saves up no more than the burst
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
  });

  it("refused takes dig a debt that the retry-after covers", () => {
    let now = 0;
    const bucket = new TokenBucket(2, 2, () => now);
    for (let i = 0; i < 2; i++) expect(bucket.take()).toBe(true);
    for (let i = 0; i < 6; i++) expect(bucket.take()).toBe(false);
    expect(bucket.overdrawnBy).toBe(6);
    const wait = bucket.retryAfterS;
    expect(wait).toBe(4); // 7 tokens at 2 a second
    now += wait * 1000;
    expect(bucket.take()).toBe(true);
  });
});
