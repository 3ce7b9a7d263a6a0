/**
 * Alert rules (API.md "Alerts"), pure: a rule's state moves as Prometheus's
 * alerting rules do (inactive → pending while its condition holds → firing once it
 * held for `forMs` → resolved when it clears), and each firing or resolved
 * transition becomes a webhook delivery retried with exponential back-off and
 * jitter. The clock and the randomness are injected.
 */

export const ALERT_KINDS = ["consumerLag", "underReplicated"] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export type Webhook = { url: string; secret?: string };

export type AlertRule =
  | {
      kind: "consumerLag";
      group: string;
      topic?: string;
      /** Records behind: the group's lag summed over its partitions (of `topic` when given). */
      maxLag?: number;
      /** Time behind: now − timestamp of the oldest record not yet committed. */
      maxLagMs?: number;
      forMs: number;
      webhook: Webhook;
    }
  | { kind: "underReplicated"; topic?: string; forMs: number; webhook: Webhook };

export type AlertPhase = "inactive" | "pending" | "firing";

export type AlertState = {
  phase: AlertPhase;
  /** When the condition began to hold (pending and firing), ms. */
  activeSinceMs: number | null;
  /** When it began firing, ms. */
  firingSinceMs: number | null;
  /** The last measured value (records, ms or partitions), null before the first measure. */
  value: number | null;
};

export const INACTIVE: AlertState = {
  phase: "inactive",
  activeSinceMs: null,
  firingSinceMs: null,
  value: null,
};

/** A measure of a rule's condition: whether it holds and the value that says so; null when unknown. */
export type Measure = { holds: boolean; value: number } | null;

export type Transition = "firing" | "resolved";

/**
 * The next state after a measure at `nowMs`. An unknown measure (the group or a
 * leader did not answer) changes nothing: a rule neither fires nor resolves on
 * missing data.
 */
export function nextState(
  state: AlertState,
  measure: Measure,
  forMs: number,
  nowMs: number,
): { state: AlertState; transition: Transition | null } {
  if (measure === null) return { state, transition: null };
  const { holds, value } = measure;
  if (!holds) {
    const transition = state.phase === "firing" ? "resolved" : null;
    return { state: { ...INACTIVE, value }, transition };
  }
  const activeSinceMs = state.activeSinceMs ?? nowMs;
  if (state.phase === "firing") return { state: { ...state, value }, transition: null };
  if (nowMs - activeSinceMs >= forMs)
    return { state: { phase: "firing", activeSinceMs, firingSinceMs: nowMs, value }, transition: "firing" };
  return { state: { phase: "pending", activeSinceMs, firingSinceMs: null, value }, transition: null };
}

/** The webhook's JSON body of a transition (API.md). */
export type AlertNotification = {
  alert: string;
  state: Transition;
  kind: AlertKind;
  labels: Record<string, string>;
  value: number;
  startsAt: string;
  endsAt?: string;
};

export function labelsOf(rule: AlertRule): Record<string, string> {
  const labels: Record<string, string> = {};
  if (rule.kind === "consumerLag") labels.group = rule.group;
  if (rule.topic !== undefined) labels.topic = rule.topic;
  return labels;
}

export function notification(
  name: string,
  rule: AlertRule,
  before: AlertState,
  after: AlertState,
  transition: Transition,
  nowMs: number,
): AlertNotification {
  const firingSince = transition === "firing" ? after.firingSinceMs! : before.firingSinceMs!;
  return {
    alert: name,
    state: transition,
    kind: rule.kind,
    labels: labelsOf(rule),
    value: after.value ?? 0,
    startsAt: new Date(firingSince).toISOString(),
    ...(transition === "resolved" ? { endsAt: new Date(nowMs).toISOString() } : {}),
  };
}

/** Tries of one delivery at most (API.md: at most 10). */
export const DELIVERY_TRIES_MAX = 10;
/** The first retry's delay; each next doubles (with jitter: 50–100% of it). */
export const DELIVERY_RETRY_BASE_MS = 30_000;
/**
 * The longest single delay. With the base above the nine retries' nominal delays
 * sum to 4.3 h and, at the jitter's least, to 2.1 h: a delivery is tried over at
 * least an hour (API.md), so a webhook down for a deploy or a night's hour still gets it.
 */
export const DELIVERY_RETRY_MAX_MS = 2 * 3_600_000;

/**
 * When to try again after `tries` failed tries (null: give up). `random` in [0, 1)
 * spreads retries of many deliveries apart (jitter).
 */
export function retryDelayMs(tries: number, random: number, baseMs = DELIVERY_RETRY_BASE_MS): number | null {
  if (tries >= DELIVERY_TRIES_MAX) return null;
  const nominal = Math.min(baseMs * 2 ** (tries - 1), DELIVERY_RETRY_MAX_MS);
  return Math.round(nominal * (0.5 + random / 2));
}
