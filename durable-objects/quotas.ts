import { EdgelogError } from "../core/errors";
import type { Quota } from "../core/quota";
import { type QuotaAnswer, QuotaBucket } from "../core/quota";
import { ADMIN_PRINCIPAL, type Identity, principalView } from "./authorizer";
import type { Env } from "./env";

/**
 * Per-principal quotas (API.md "Security → Quotas"), enforced in the isolate
 * that serves the request. Locally one workerd isolate serves everything, so a
 * quota is exact; on Cloudflare each isolate keeps its own buckets, so a
 * principal spread over N isolates can reach N × its quota (docs/security.md).
 */

type Buckets = {
  quota: string;
  produceBytes: QuotaBucket | null;
  fetchBytes: QuotaBucket | null;
  requests: QuotaBucket | null;
};

const buckets = new Map<string, Buckets>();

/** A quota refusal: 429 THROTTLING_QUOTA_EXCEEDED carrying the seconds to wait (the retry-after header). */
export class QuotaExceeded extends EdgelogError {
  constructor(
    readonly retryAfterS: number,
    what: string,
  ) {
    super("THROTTLING_QUOTA_EXCEEDED", `${what} quota exceeded; retry after ${retryAfterS} s`);
  }
}

/** The buckets of `principal` under `quota` (new ones when the quota changed); null when it has none. */
export function quotaBuckets(principal: string, quota: Quota | null): Buckets | null {
  if (quota === null) {
    buckets.delete(principal);
    return null;
  }
  const text = JSON.stringify(quota);
  let entry = buckets.get(principal);
  if (entry?.quota !== text) {
    const bucket = (rate: number | undefined) => (rate === undefined ? null : new QuotaBucket(rate));
    entry = {
      quota: text,
      produceBytes: bucket(quota.produceBytesPerS),
      fetchBytes: bucket(quota.fetchBytesPerS),
      requests: bucket(quota.requestsPerS),
    };
    buckets.set(principal, entry);
  }
  return entry;
}

/** Throws the 429 of a refusal. */
export function enforce(answer: QuotaAnswer, what: string): void {
  if (!answer.ok) throw new QuotaExceeded(answer.retryAfterS, what);
}

/** The buckets of the principal `identity` acts as; null when unlimited (no quota, admin, or auth off). */
export async function bucketsOf(env: Env, identity: Identity | null): Promise<Buckets | null> {
  if (identity === null || identity.principal === ADMIN_PRINCIPAL) return null;
  return quotaBuckets(identity.principal, (await principalView(env, identity.principal)).quota);
}
