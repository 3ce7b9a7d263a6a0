import { hex } from "../core/credentials";
import { WEBHOOK_TIMEOUT_MS } from "../core/limits";

/** `sha256=<hex HMAC-SHA256 of the body with the secret>` (API.md "Alerts"), as GitHub signs its webhooks. */
export async function signature(secret: string, body: string): Promise<string> {
  const utf8 = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    utf8.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return `sha256=${hex(await crypto.subtle.sign("HMAC", key, utf8.encode(body)))}`;
}

export type DeliveryOutcome = { delivered: boolean; status: number | null; error: string | null };

/**
 * POSTs one notification: delivered on any 2xx; a non-2xx status, a timeout
 * (WEBHOOK_TIMEOUT_MS) or a network error is a failed try, retried later.
 */
export async function post(
  webhook: { url: string; secret?: string },
  body: string,
  meta: { delivery: number; attempt: number },
): Promise<DeliveryOutcome> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "edgelog-alerts",
    "x-edgelog-delivery": String(meta.delivery),
    "x-edgelog-attempt": String(meta.attempt),
  };
  if (webhook.secret !== undefined) headers["x-edgelog-signature"] = await signature(webhook.secret, body);
  try {
    const res = await fetch(webhook.url, {
      method: "POST",
      headers,
      body,
      redirect: "manual", // a redirect is not a delivery (and never re-sent elsewhere with the signature)
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
    await res.body?.cancel();
    const delivered = res.status >= 200 && res.status < 300;
    return { delivered, status: res.status, error: delivered ? null : `HTTP ${res.status}` };
  } catch (error) {
    return { delivered: false, status: null, error: String(error).slice(0, 200) };
  }
}
