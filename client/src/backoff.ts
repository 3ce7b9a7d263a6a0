/**
 * Exponential back-off with full jitter (as Kafka's retry.backoff.ms /
 * retry.backoff.max.ms, and AWS's "full jitter"): attempt n waits a random time in
 * [0, min(max, base × 2^n)], at least `floorMs` (a server's retry-after).
 */
export type Backoff = { baseMs: number; maxMs: number; random?: () => number };

export const BACKOFF_DEFAULT: Backoff = { baseMs: 100, maxMs: 1_000 };

export function backoffMs(backoff: Backoff, attempt: number, floorMs = 0): number {
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(attempt, 30));
  const random = backoff.random ?? Math.random;
  return Math.max(floorMs, Math.floor(random() * ceiling));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
