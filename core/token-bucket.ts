/**
 * A token bucket with an injected clock (so tests decide what time it is, not the
 * machine's speed): `ratePerS` tokens a second, at most `burst` saved up. A take
 * that finds no token still counts, as debt: a client that keeps sending while
 * refused digs deeper, and `overdrawnBy` tells how deep.
 */
export class TokenBucket {
  private tokens: number;
  private atMs: number;

  constructor(
    private readonly ratePerS: number,
    readonly burst: number,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.atMs = nowMs();
  }

  /** Takes one token; false when none is left (the take is still counted as debt). */
  take(): boolean {
    const now = this.nowMs();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.atMs) * this.ratePerS) / 1000);
    this.atMs = now;
    this.tokens -= 1;
    return this.tokens >= 0;
  }

  /** Tokens owed beyond an empty bucket (0 when not in debt). */
  get overdrawnBy(): number {
    return Math.max(0, -this.tokens);
  }

  /** Whole seconds until a token is available again (at least 1): the `retry-after` of a refusal. */
  get retryAfterS(): number {
    return Math.max(1, Math.ceil((1 - this.tokens) / this.ratePerS));
  }
}
