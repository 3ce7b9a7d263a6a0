import type { Identity } from "../durable-objects/authorizer";
import type { Env } from "../durable-objects/env";
import { bucketsOf, enforce } from "../durable-objects/quotas";
import type { Auth } from "./gateway-env";

/**
 * The quota checks of the HTTP routes (API.md "Security → Quotas"): requests/s
 * on every authenticated request, produce bytes/s before an append (a refusal
 * appends nothing), fetch bytes/s refused while in debt and charged after a read.
 * Without an identity (an open gateway) they return at once, with nothing to await:
 * the produce and fetch paths stay as they were.
 */

const NO_CHARGE = (_bytes: number) => undefined;

export async function chargeRequest(env: Env, identity: Identity): Promise<void> {
  const requests = (await bucketsOf(env, identity))?.requests;
  if (requests) enforce(requests.take(1), "requests/s");
}

export function chargeProduce(env: Env, auth: Auth, bytes: number): Promise<void> | null {
  if (auth.identity === null) return null;
  return bucketsOf(env, auth.identity).then((buckets) => {
    if (buckets?.produceBytes) enforce(buckets.produceBytes.take(bytes), "produce bytes/s");
  });
}

/** Refuses a fetch while the principal's fetch bytes are in debt; returns how to charge what it read. */
export function startFetch(
  env: Env,
  auth: Auth,
): ((bytes: number) => void) | Promise<(bytes: number) => void> {
  if (auth.identity === null) return NO_CHARGE;
  return bucketsOf(env, auth.identity).then((buckets) => {
    const fetch = buckets?.fetchBytes;
    if (!fetch) return NO_CHARGE;
    enforce(fetch.check(), "fetch bytes/s");
    return (bytes: number) => fetch.charge(bytes);
  });
}
