/**
 * A principal's quota on one resource (produce bytes, fetch bytes, requests), as
 * a token bucket holding one second's worth with an injected clock. Produce asks
 * before it appends (a refusal appends nothing); a request bigger than a second's
 * worth passes when the bucket is full and leaves it in debt, so a quota below
 * the request size slows a producer down instead of blocking it forever. Fetch
 * is charged after it read (its size is known only then) and refused while the
 * bucket is in debt, as Kafka throttles fetches after the fact.
 */
/** A principal's quota (API.md); an absent figure is unlimited. */
export type Quota = { produceBytesPerS?: number; fetchBytesPerS?: number; requestsPerS?: number };

export type QuotaAnswer = { ok: true } | { ok: false; retryAfterS: number };

export class QuotaBucket {
  private tokens: number;
  private atMs: number;

  constructor(
    readonly ratePerS: number,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.tokens = ratePerS;
    this.atMs = nowMs();
  }

  private refill(): void {
    const now = this.nowMs();
    this.tokens = Math.min(this.ratePerS, this.tokens + ((now - this.atMs) * this.ratePerS) / 1000);
    this.atMs = now;
  }

  private refusal(needed: number): QuotaAnswer {
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((needed - this.tokens) / this.ratePerS)) };
  }

  /** Takes `amount` if the bucket holds it (or is full); else refuses and takes nothing. */
  take(amount: number): QuotaAnswer {
    this.refill();
    const needed = Math.min(amount, this.ratePerS);
    if (this.tokens < needed) return this.refusal(needed);
    this.tokens -= amount;
    return { ok: true };
  }

  /** Refuses while the bucket is in debt (a fetch asks this before it reads). */
  check(): QuotaAnswer {
    this.refill();
    return this.tokens >= 0 ? { ok: true } : this.refusal(0);
  }

  /** Charges what was used (a fetch's bytes, once read); may leave the bucket in debt. */
  charge(amount: number): void {
    this.refill();
    this.tokens -= amount;
  }
}
