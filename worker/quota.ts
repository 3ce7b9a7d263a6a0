import type { Identity } from "../durable-objects/authorizer";
import type { Env } from "../durable-objects/env";
import { bucketsOf, enforce } from "../durable-objects/quotas";
import type { Auth } from "./gateway-env";

/**
 * The quota checks of the HTTP routes (API.md "Security → Quotas"): requests/s
 * on every authenticated request, produce bytes/s before an append (a refusal
 * appends nothing), fetch bytes/s refused while in debt and charged after a read.
 */

export async function chargeRequest(env: Env, identity: Identity): Promise<void> {
  const requests = (await bucketsOf(env, identity))?.requests;
  if (requests) enforce(requests.take(1), "requests/s");
}

export async function chargeProduce(env: Env, auth: Auth, bytes: number): Promise<void> {
  const produce = (await bucketsOf(env, auth.identity))?.produceBytes;
  if (produce) enforce(produce.take(bytes), "produce bytes/s");
}

/** Refuses a fetch while the principal's fetch bytes are in debt; returns how to charge what it read. */
export async function startFetch(env: Env, auth: Auth): Promise<(bytes: number) => void> {
  const fetch = (await bucketsOf(env, auth.identity))?.fetchBytes;
  if (!fetch) return () => undefined;
  enforce(fetch.check(), "fetch bytes/s");
  return (bytes) => fetch.charge(bytes);
}
