import * as z from "zod";
import { type Acl, type AclRule, OPERATIONS, PATTERN_TYPES, PERMISSIONS, RESOURCE_TYPES } from "../core/acl";
import {
  ACL_RESOURCE_NAME_LENGTH_MAX,
  PRINCIPAL_NAME_LENGTH_MAX,
  QUOTA_RATE_MAX,
  SCOPED_TOKEN_ACLS_MAX,
  SCOPED_TOKEN_TTL_S_DEFAULT,
  SCOPED_TOKEN_TTL_S_MAX,
} from "../core/limits";
import type { Quota } from "../core/quota";
import { invalid } from "./input";
import { parseInput, refusal } from "./validate";

/** API.md "Security" request bodies: ACLs, filters, scoped tokens, quotas. */

const PRINCIPAL = /^[a-zA-Z0-9._@-]{1,128}$/;

/** API.md: principal names match [a-zA-Z0-9._@-]{1,128}. */
export const PrincipalName = z
  .string()
  .superRefine((text, context) => {
    if (!PRINCIPAL.test(text) || text === "." || text === "..")
      refusal(
        context,
        `must be 1 to ${PRINCIPAL_NAME_LENGTH_MAX} characters of [a-zA-Z0-9._@-] (not '.' or '..'), got '${text.slice(0, 140)}'`,
      );
  })
  .meta({ pattern: PRINCIPAL.source, description: "Not '.' or '..'" });

export function checkPrincipal(name: unknown, path = "principal"): string {
  return parseInput(PrincipalName, name, path);
}

const AclRuleShape = {
  resourceType: z.enum(RESOURCE_TYPES),
  patternType: z.enum(PATTERN_TYPES),
  resourceName: z.string().min(1).max(ACL_RESOURCE_NAME_LENGTH_MAX),
  operation: z.enum(OPERATIONS),
  permission: z.enum(PERMISSIONS),
};
export const AclRuleInput = z.strictObject(AclRuleShape).meta({ id: "AclRule" });
export const AclInput = z.strictObject({ principal: PrincipalName, ...AclRuleShape }).meta({ id: "Acl" });

/** `POST /v1/acls`: every field of an ACL. */
export function parseAcl(body: unknown): Acl {
  return parseInput(AclInput, body, "body");
}

export const AclFilterInput = AclInput.partial().meta({ id: "AclFilter" });
const FILTER_FIELDS = Object.keys(AclInput.shape).join(", ");

/** An ACL filter (`GET` query or `DELETE` body): the given fields must match; `DELETE` needs one at least. */
export function parseAclFilter(fields: unknown, path: string, needsOne: boolean): Partial<Acl> {
  const filter = parseInput(AclFilterInput, fields, path);
  if (needsOne && Object.keys(filter).length === 0)
    invalid(`${path} must name at least one of ${FILTER_FIELDS} (an empty filter would delete every ACL)`);
  return filter;
}

export type MintRequest = { principal: string | null; acls: AclRule[]; expiresInS: number };

export const MintBody = z
  .strictObject({
    principal: PrincipalName.optional(),
    acls: z.array(AclRuleInput).max(SCOPED_TOKEN_ACLS_MAX),
    expiresInS: z.int().min(1).max(SCOPED_TOKEN_TTL_S_MAX).default(SCOPED_TOKEN_TTL_S_DEFAULT),
  })
  .meta({ id: "MintTokenRequest" });

/** `POST /v1/tokens`: `{ "principal"?, "acls": [...], "expiresInS"? }`. */
export function parseMint(body: unknown): MintRequest {
  const request = parseInput(MintBody, body, "body");
  return { ...request, principal: request.principal ?? null };
}

const rate = z.int().min(1).max(QUOTA_RATE_MAX).nullable().optional();
export const QuotaBody = z
  .strictObject({ produceBytesPerS: rate, fetchBytesPerS: rate, requestsPerS: rate })
  .meta({ id: "Quota", description: "Each figure optional (absent or null: unlimited)" });

/** `PUT /v1/quotas/{principal}`: each figure optional (absent: unlimited), a positive integer. */
export function parseQuota(body: unknown): Quota {
  const request = parseInput(QuotaBody, body, "body");
  const quota: Quota = {};
  for (const [field, value] of Object.entries(request))
    if (value != null) quota[field as keyof Quota] = value;
  return quota;
}
