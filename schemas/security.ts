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
import {
  expectInt,
  expectObject,
  expectString,
  invalid,
  type JsonObject,
  rejectUnknownFields,
} from "./input";

/** API.md "Security" request bodies: ACLs, filters, scoped tokens, quotas. */

const PRINCIPAL = /^[a-zA-Z0-9._@-]+$/;

/** API.md: principal names match [a-zA-Z0-9._@-]{1,128}. */
export function checkPrincipal(name: unknown, path = "principal"): string {
  const text = expectString(name, path);
  if (
    text.length === 0 ||
    text.length > PRINCIPAL_NAME_LENGTH_MAX ||
    !PRINCIPAL.test(text) ||
    text === "." ||
    text === ".."
  )
    invalid(
      `${path} must be 1 to ${PRINCIPAL_NAME_LENGTH_MAX} characters of [a-zA-Z0-9._@-] (not '.' or '..'), got '${text.slice(0, 140)}'`,
    );
  return text;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], path: string): T {
  const text = expectString(value, path);
  if (!allowed.includes(text as T))
    invalid(`${path} must be one of ${allowed.join(", ")}, got '${text.slice(0, 100)}'`);
  return text as T;
}

function resourceName(value: unknown, path: string): string {
  const text = expectString(value, path);
  if (text.length === 0 || text.length > ACL_RESOURCE_NAME_LENGTH_MAX)
    invalid(`${path} must be 1 to ${ACL_RESOURCE_NAME_LENGTH_MAX} characters long`);
  return text;
}

const RULE_FIELDS = ["resourceType", "patternType", "resourceName", "operation", "permission"] as const;

function parseRule(object: JsonObject, path: string): AclRule {
  for (const field of RULE_FIELDS) if (object[field] === undefined) invalid(`${path}.${field} is required`);
  return {
    resourceType: oneOf(object.resourceType, RESOURCE_TYPES, `${path}.resourceType`),
    patternType: oneOf(object.patternType, PATTERN_TYPES, `${path}.patternType`),
    resourceName: resourceName(object.resourceName, `${path}.resourceName`),
    operation: oneOf(object.operation, OPERATIONS, `${path}.operation`),
    permission: oneOf(object.permission, PERMISSIONS, `${path}.permission`),
  };
}

/** `POST /v1/acls`: every field of an ACL. */
export function parseAcl(body: unknown): Acl {
  const object = expectObject(body, "body");
  rejectUnknownFields(object, ["principal", ...RULE_FIELDS], "body");
  if (object.principal === undefined) invalid("body.principal is required");
  return { principal: checkPrincipal(object.principal, "body.principal"), ...parseRule(object, "body") };
}

/** An ACL filter (`GET` query or `DELETE` body): the given fields must match; `DELETE` needs one at least. */
export function parseAclFilter(fields: JsonObject, path: string, needsOne: boolean): Partial<Acl> {
  rejectUnknownFields(fields, ["principal", ...RULE_FIELDS], path);
  const filter: Partial<Acl> = {};
  if (fields.principal !== undefined)
    filter.principal = checkPrincipal(fields.principal, `${path}.principal`);
  if (fields.resourceType !== undefined)
    filter.resourceType = oneOf(fields.resourceType, RESOURCE_TYPES, `${path}.resourceType`);
  if (fields.patternType !== undefined)
    filter.patternType = oneOf(fields.patternType, PATTERN_TYPES, `${path}.patternType`);
  if (fields.resourceName !== undefined)
    filter.resourceName = resourceName(fields.resourceName, `${path}.resourceName`);
  if (fields.operation !== undefined)
    filter.operation = oneOf(fields.operation, OPERATIONS, `${path}.operation`);
  if (fields.permission !== undefined)
    filter.permission = oneOf(fields.permission, PERMISSIONS, `${path}.permission`);
  if (needsOne && Object.keys(filter).length === 0)
    invalid(
      `${path} must name at least one of principal, ${RULE_FIELDS.join(", ")} (an empty filter would delete every ACL)`,
    );
  return filter;
}

export type MintRequest = { principal: string | null; acls: AclRule[]; expiresInS: number };

/** `POST /v1/tokens`: `{ "principal"?, "acls": [...], "expiresInS"? }`. */
export function parseMint(body: unknown): MintRequest {
  const object = expectObject(body, "body");
  rejectUnknownFields(object, ["principal", "acls", "expiresInS"], "body");
  const principal =
    object.principal === undefined ? null : checkPrincipal(object.principal, "body.principal");
  if (!Array.isArray(object.acls)) invalid("body.acls must be an array of ACLs (without principal)");
  if (object.acls.length > SCOPED_TOKEN_ACLS_MAX)
    invalid(`body.acls lists ${object.acls.length} ACLs; a token carries at most ${SCOPED_TOKEN_ACLS_MAX}`);
  const acls = object.acls.map((value, i) => {
    const rule = expectObject(value, `body.acls[${i}]`);
    rejectUnknownFields(rule, RULE_FIELDS, `body.acls[${i}]`);
    return parseRule(rule, `body.acls[${i}]`);
  });
  const expiresInS =
    object.expiresInS === undefined
      ? SCOPED_TOKEN_TTL_S_DEFAULT
      : expectInt(object.expiresInS, "body.expiresInS", 1, SCOPED_TOKEN_TTL_S_MAX);
  return { principal, acls, expiresInS };
}

const QUOTA_FIELDS = ["produceBytesPerS", "fetchBytesPerS", "requestsPerS"] as const;

/** `PUT /v1/quotas/{principal}`: each figure optional (absent: unlimited), a positive integer. */
export function parseQuota(body: unknown): Quota {
  const object = expectObject(body, "body");
  rejectUnknownFields(object, QUOTA_FIELDS, "body");
  const quota: Quota = {};
  for (const field of QUOTA_FIELDS) {
    const value = object[field];
    if (value === undefined || value === null) continue;
    quota[field] = expectInt(value, `body.${field}`, 1, QUOTA_RATE_MAX);
  }
  return quota;
}
