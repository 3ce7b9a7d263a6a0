import { ALERT_KINDS, type AlertRule, type Webhook } from "../core/alerts";
import {
  ALERT_FOR_MS_DEFAULT,
  ALERT_FOR_MS_MAX,
  ALERT_NAME_LENGTH_MAX,
  OFFSET_MAX,
  WEBHOOK_SECRET_LENGTH_MAX,
  WEBHOOK_URL_LENGTH_MAX,
} from "../core/limits";
import { nameProblem, topicNameProblem } from "../core/topic-name";
import { checkGroupId } from "./groups";
import { expectInt, expectObject, expectString, invalid, rejectUnknownFields, typeName } from "./input";

/** An alert's name: the topic-name rule (a URL path segment, a label in every notification). */
export function checkAlertName(name: string): string {
  const problem = nameProblem("alert name", name, ALERT_NAME_LENGTH_MAX);
  if (problem) invalid(problem);
  return name;
}

const LAG_FIELDS = ["kind", "group", "topic", "maxLag", "maxLagMs", "forMs", "webhook"] as const;
const REPLICATION_FIELDS = ["kind", "topic", "forMs", "webhook"] as const;
/** The longest maxLagMs: a year, far beyond any retention that would keep such a record. */
const LAG_MS_MAX = 365 * 24 * 60 * 60 * 1000;

/** PUT /v1/alerts/{name}'s body (API.md "Alerts"). */
export function parseAlertRule(body: unknown): AlertRule {
  const input = expectObject(body, "body");
  const kind = input.kind;
  if (typeof kind !== "string" || !(ALERT_KINDS as readonly string[]).includes(kind))
    invalid(`body.kind must be one of ${ALERT_KINDS.join(", ")}, got ${JSON.stringify(kind) ?? "nothing"}`);
  rejectUnknownFields(input, kind === "consumerLag" ? LAG_FIELDS : REPLICATION_FIELDS, "body");
  const forMs =
    input.forMs === undefined
      ? ALERT_FOR_MS_DEFAULT
      : expectInt(input.forMs, "body.forMs", 0, ALERT_FOR_MS_MAX);
  const webhook = parseWebhook(input.webhook);
  let topic: string | undefined;
  if (input.topic !== undefined) {
    topic = expectString(input.topic, "body.topic");
    const problem = topicNameProblem(topic);
    if (problem) invalid(`body.topic: ${problem}`);
  }
  const scope = topic === undefined ? {} : { topic };
  if (kind === "underReplicated") return { kind, ...scope, forMs, webhook };
  if (typeof input.group !== "string") invalid(`body.group must be a group id, got ${typeName(input.group)}`);
  const group = checkGroupId(input.group);
  const maxLag =
    input.maxLag === undefined ? undefined : expectInt(input.maxLag, "body.maxLag", 0, OFFSET_MAX);
  const maxLagMs =
    input.maxLagMs === undefined ? undefined : expectInt(input.maxLagMs, "body.maxLagMs", 0, LAG_MS_MAX);
  if (maxLag === undefined && maxLagMs === undefined)
    invalid("a consumerLag rule needs body.maxLag (records) or body.maxLagMs (time), or both");
  return {
    kind: "consumerLag",
    group,
    ...scope,
    ...(maxLag === undefined ? {} : { maxLag }),
    ...(maxLagMs === undefined ? {} : { maxLagMs }),
    forMs,
    webhook,
  };
}

/**
 * `webhook: { url, secret? }`: an absolute http(s) URL without credentials in it
 * (they would be shown by GET /v1/alerts; the secret signs instead).
 */
function parseWebhook(input: unknown): Webhook {
  const webhook = expectObject(input, "body.webhook");
  rejectUnknownFields(webhook, ["url", "secret"], "body.webhook");
  const url = expectString(webhook.url, "body.webhook.url");
  if (url.length > WEBHOOK_URL_LENGTH_MAX)
    invalid(
      `body.webhook.url is ${url.length} characters long; at most ${WEBHOOK_URL_LENGTH_MAX} are allowed`,
    );
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    invalid(`body.webhook.url is not an absolute URL: '${url.slice(0, 100)}'`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
    invalid(`body.webhook.url must be http or https, got '${parsed.protocol}'`);
  if (parsed.username !== "" || parsed.password !== "")
    invalid("body.webhook.url must not carry credentials; use body.webhook.secret to sign deliveries");
  if (webhook.secret === undefined) return { url };
  const secret = expectString(webhook.secret, "body.webhook.secret");
  if (secret.length === 0 || secret.length > WEBHOOK_SECRET_LENGTH_MAX)
    invalid(`body.webhook.secret must be 1 to ${WEBHOOK_SECRET_LENGTH_MAX} characters long`);
  return { url, secret };
}
