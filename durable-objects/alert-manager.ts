import { DurableObject } from "cloudflare:workers";
import {
  type AlertRule,
  type AlertState,
  INACTIVE,
  nextState,
  notification,
  retryDelayMs,
  type Transition,
} from "../core/alerts";
import { mapConcurrent } from "../core/concurrency";
import { fail, ok, type Result } from "../core/errors";
import {
  ALERT_DELIVERIES_KEPT,
  ALERT_EVALUATION_MS,
  ALERT_RULES_MAX,
  FAN_OUT_CONCURRENCY_MAX,
} from "../core/limits";
import { measure } from "./alert-measures";
import { alertRetryBaseMs, type Env } from "./env";
import { runMigrations } from "./sql-migrations";
import { TopicCache } from "./topic-cache";
import { post } from "./webhook";

/**
 * The cluster's alert rules (API.md "Alerts"), one object: the rules and their
 * states, and every transition's webhook delivery, in its SQLite. Its alarm runs
 * every ALERT_EVALUATION_MS while a rule exists: it measures each rule (from the
 * lag groups sample and the ISR leaders hold: alert-measures.ts), moves its state
 * (core/alerts.ts), queues a delivery per firing or resolved transition, and tries
 * the due ones — a rule's deliveries in order, each retried with back-off until
 * delivered or DELIVERY_TRIES_MAX tries failed.
 */

const MIGRATIONS = [
  `CREATE TABLE rules (name TEXT PRIMARY KEY, rule TEXT NOT NULL, state TEXT NOT NULL);
   CREATE TABLE deliveries (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     name TEXT NOT NULL,
     transition TEXT NOT NULL,
     body TEXT NOT NULL,
     created_ms INTEGER NOT NULL,
     tries INTEGER NOT NULL DEFAULT 0,
     outcome TEXT NOT NULL DEFAULT 'pending',
     next_at_ms INTEGER NOT NULL,
     last_attempt_ms INTEGER,
     last_status INTEGER,
     last_error TEXT
   );
   CREATE INDEX deliveries_by_name ON deliveries (name, id);`,
];

type RuleRow = { name: string; rule: string; state: string };
type DeliveryRow = {
  id: number;
  name: string;
  transition: Transition;
  body: string;
  created_ms: number;
  tries: number;
  outcome: "pending" | "delivered" | "failed";
  next_at_ms: number;
  last_attempt_ms: number | null;
  last_status: number | null;
  last_error: string | null;
};

/** A delivery as GET /v1/alerts shows it. */
export type DeliveryView = {
  id: number;
  state: Transition;
  createdAt: string;
  outcome: DeliveryRow["outcome"];
  tries: number;
  lastAttemptAt?: string;
  lastStatus?: number;
  lastError?: string;
  nextAttemptAt?: string;
};

/** A rule as GET /v1/alerts shows it: never its webhook's secret. */
export type AlertView = Omit<AlertRule, "webhook"> & {
  name: string;
  webhook: { url: string; signed: boolean };
  state: AlertState["phase"];
  value: number | null;
  activeSince?: string;
  firingSince?: string;
  deliveries: DeliveryView[];
};

const iso = (ms: number) => new Date(ms).toISOString();

export class AlertManager extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly topics = new TopicCache();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    runMigrations(this.sql, MIGRATIONS);
  }

  /** Creates or replaces a rule; a replaced rule starts inactive again (its condition may have changed). */
  async put(name: string, rule: AlertRule): Promise<Result<AlertView>> {
    const exists = this.sql.exec("SELECT 1 FROM rules WHERE name = ?", name).toArray().length > 0;
    const count = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM rules").one().n;
    if (!exists && count >= ALERT_RULES_MAX)
      return fail(
        "INVALID_REQUEST",
        `the cluster has ${ALERT_RULES_MAX} alert rules already; delete some first`,
      );
    this.sql.exec(
      "INSERT OR REPLACE INTO rules (name, rule, state) VALUES (?, ?, ?)",
      name,
      JSON.stringify(rule),
      JSON.stringify(INACTIVE),
    );
    const due = Date.now();
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > due) await this.ctx.storage.setAlarm(due);
    return ok(this.view({ name, rule: JSON.stringify(rule), state: JSON.stringify(INACTIVE) }));
  }

  list(): AlertView[] {
    return this.sql
      .exec<RuleRow>("SELECT * FROM rules ORDER BY name")
      .toArray()
      .map((r) => this.view(r));
  }

  get(name: string): Result<AlertView> {
    const row = this.sql.exec<RuleRow>("SELECT * FROM rules WHERE name = ?", name).toArray()[0];
    return row ? ok(this.view(row)) : notFound(name);
  }

  /** Deletes a rule and its deliveries (a pending one is never sent). */
  remove(name: string): Result<null> {
    if (this.sql.exec("SELECT 1 FROM rules WHERE name = ?", name).toArray().length === 0)
      return notFound(name);
    this.sql.exec("DELETE FROM rules WHERE name = ?", name);
    this.sql.exec("DELETE FROM deliveries WHERE name = ?", name);
    return ok(null);
  }

  override async alarm(): Promise<void> {
    const rules = this.sql.exec<RuleRow>("SELECT * FROM rules").toArray();
    if (rules.length === 0) return;
    await mapConcurrent(rules, FAN_OUT_CONCURRENCY_MAX, (row) => this.evaluate(row));
    await this.deliverDue();
    await this.ctx.storage.setAlarm(Date.now() + ALERT_EVALUATION_MS);
  }

  /** Measures one rule and moves its state; a transition queues its notification. */
  private async evaluate(row: RuleRow): Promise<void> {
    const rule = JSON.parse(row.rule) as AlertRule;
    const before = JSON.parse(row.state) as AlertState;
    const now = Date.now();
    const measured = await measure(this.env, this.topics, rule, now).catch(() => null);
    const { state, transition } = nextState(before, measured, rule.forMs, now);
    // The rule may have been replaced or deleted while it was measured: then this result is stale.
    const changed = this.sql.exec(
      "UPDATE rules SET state = ? WHERE name = ? AND rule = ? AND state = ?",
      JSON.stringify(state),
      row.name,
      row.rule,
      row.state,
    ).rowsWritten;
    if (changed === 0 || transition === null) return;
    const body = JSON.stringify(notification(row.name, rule, before, state, transition, now));
    this.sql.exec(
      "INSERT INTO deliveries (name, transition, body, created_ms, next_at_ms) VALUES (?, ?, ?, ?, ?)",
      row.name,
      transition,
      body,
      now,
      now,
    );
  }

  /** Tries each rule's oldest pending delivery if it is due (a rule's notifications arrive in order). */
  private async deliverDue(): Promise<void> {
    const now = Date.now();
    const due = this.sql
      .exec<DeliveryRow & { rule: string }>(
        `SELECT d.*, r.rule FROM deliveries d JOIN rules r ON r.name = d.name
         WHERE d.id IN (SELECT min(id) FROM deliveries WHERE outcome = 'pending' GROUP BY name) AND d.next_at_ms <= ?`,
        now,
      )
      .toArray();
    await mapConcurrent(due, FAN_OUT_CONCURRENCY_MAX, async (d) => {
      const rule = JSON.parse(d.rule) as AlertRule;
      const tries = d.tries + 1;
      const sent = await post(rule.webhook, d.body, { delivery: d.id, attempt: tries });
      const at = Date.now();
      const retryIn = sent.delivered ? null : retryDelayMs(tries, Math.random(), alertRetryBaseMs(this.env));
      const outcome = sent.delivered ? "delivered" : retryIn === null ? "failed" : "pending";
      this.sql.exec(
        `UPDATE deliveries SET tries = ?, outcome = ?, next_at_ms = ?, last_attempt_ms = ?, last_status = ?, last_error = ?
         WHERE id = ?`,
        tries,
        outcome,
        retryIn === null ? at : at + retryIn,
        at,
        sent.status,
        sent.error,
        d.id,
      );
      // The newest ALERT_DELIVERIES_KEPT are kept per rule for GET /v1/alerts.
      this.sql.exec(
        `DELETE FROM deliveries WHERE name = ? AND outcome != 'pending' AND id NOT IN
           (SELECT id FROM deliveries WHERE name = ? ORDER BY id DESC LIMIT ?)`,
        d.name,
        d.name,
        ALERT_DELIVERIES_KEPT,
      );
    });
  }

  private view(row: RuleRow): AlertView {
    const { webhook, ...rule } = JSON.parse(row.rule) as AlertRule;
    const state = JSON.parse(row.state) as AlertState;
    const deliveries = this.sql
      .exec<DeliveryRow>(
        "SELECT * FROM deliveries WHERE name = ? ORDER BY id DESC LIMIT ?",
        row.name,
        ALERT_DELIVERIES_KEPT,
      )
      .toArray()
      .map(
        (d): DeliveryView => ({
          id: d.id,
          state: d.transition,
          createdAt: iso(d.created_ms),
          outcome: d.outcome,
          tries: d.tries,
          ...(d.last_attempt_ms === null ? {} : { lastAttemptAt: iso(d.last_attempt_ms) }),
          ...(d.last_status === null ? {} : { lastStatus: d.last_status }),
          ...(d.last_error === null ? {} : { lastError: d.last_error }),
          ...(d.outcome === "pending" ? { nextAttemptAt: iso(d.next_at_ms) } : {}),
        }),
      );
    return {
      name: row.name,
      ...rule,
      webhook: { url: webhook.url, signed: webhook.secret !== undefined },
      state: state.phase,
      value: state.value,
      ...(state.activeSinceMs === null ? {} : { activeSince: iso(state.activeSinceMs) }),
      ...(state.firingSinceMs === null ? {} : { firingSince: iso(state.firingSinceMs) }),
      deliveries,
    };
  }
}

function notFound(name: string): Result<never> {
  return fail("ALERT_NOT_FOUND", `alert '${name}' does not exist`);
}
