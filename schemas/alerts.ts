import * as z from "zod";
import type { AlertRule } from "../core/alerts";
import {
  ALERT_FOR_MS_DEFAULT,
  ALERT_FOR_MS_MAX,
  ALERT_NAME_LENGTH_MAX,
  OFFSET_MAX,
  WEBHOOK_SECRET_LENGTH_MAX,
  WEBHOOK_URL_LENGTH_MAX,
} from "../core/limits";
import { GroupId } from "./groups";
import { typeName } from "./input";
import { legalName } from "./names";
import { TopicName } from "./topic";
import { parseInput, refusal } from "./validate";

/** An alert's name: the topic-name rule (a URL path segment, a label in every notification). */
export const AlertName = legalName("alert name", ALERT_NAME_LENGTH_MAX);

export function checkAlertName(name: string): string {
  return parseInput(AlertName, name, "");
}

/** The longest maxLagMs: a year, far beyond any retention that would keep such a record. */
const LAG_MS_MAX = 365 * 24 * 60 * 60 * 1000;

/**
 * `webhook: { url, secret? }`: an absolute http(s) URL without credentials in it
 * (they would be shown by GET /v1/alerts; the secret signs instead).
 */
export const WebhookInput = z
  .strictObject({
    url: z
      .string()
      .max(WEBHOOK_URL_LENGTH_MAX)
      .superRefine((url, context) => {
        let parsed: URL;
        try {
          parsed = new URL(url);
        } catch {
          return refusal(context, `is not an absolute URL: '${url.slice(0, 100)}'`);
        }
        if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
          refusal(context, `must be http or https, got '${parsed.protocol}'`);
        else if (parsed.username !== "" || parsed.password !== "")
          refusal(context, "must not carry credentials; use body.webhook.secret to sign deliveries");
      })
      .meta({
        format: "uri",
        description: "http(s) only; a deployed gateway cannot reach private addresses",
      }),
    secret: z.string().min(1).max(WEBHOOK_SECRET_LENGTH_MAX).optional(),
  })
  .meta({ id: "Webhook" });

const forMs = z.int().min(0).max(ALERT_FOR_MS_MAX).default(ALERT_FOR_MS_DEFAULT);

export const ConsumerLagRule = z
  .strictObject({
    kind: z.literal("consumerLag"),
    group: GroupId,
    topic: TopicName.optional(),
    maxLag: z.int().min(0).max(OFFSET_MAX).optional().meta({ description: "Records behind" }),
    maxLagMs: z
      .int()
      .min(0)
      .max(LAG_MS_MAX)
      .optional()
      .meta({ description: "now − timestamp of the first uncommitted record" }),
    forMs,
    webhook: WebhookInput,
  })
  .superRefine((rule, context) => {
    if (rule.maxLag === undefined && rule.maxLagMs === undefined)
      refusal(context, ": a consumerLag rule needs body.maxLag (records) or body.maxLagMs (time), or both");
  });

export const UnderReplicatedRule = z.strictObject({
  kind: z.literal("underReplicated"),
  topic: TopicName.optional(),
  forMs,
  webhook: WebhookInput,
});

export const AlertRuleBody = z
  .discriminatedUnion("kind", [ConsumerLagRule, UnderReplicatedRule], {
    error: (issue) =>
      typeof issue.input === "object" && issue.input !== null && !Array.isArray(issue.input)
        ? '.kind must be "consumerLag" or "underReplicated"'
        : `must be a JSON object, got ${typeName(issue.input)}`,
  })
  .meta({ id: "AlertRule" });

/** PUT /v1/alerts/{name}'s body (API.md "Alerts"). */
export function parseAlertRule(body: unknown): AlertRule {
  return parseInput(AlertRuleBody, body, "body");
}
