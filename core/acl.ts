/**
 * Access control lists in Kafka's model (KIP-11, AclAuthorizer): an ACL allows or
 * denies one principal one operation on the resources a pattern names (a literal
 * name, or every name with a prefix). A request is allowed when some ACL allows
 * it and none denies it: deny wins, and no matching allow means denied.
 */

export const RESOURCE_TYPES = ["topic", "group", "cluster", "transactionalId"] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];
export const PATTERN_TYPES = ["literal", "prefixed"] as const;
export type PatternType = (typeof PATTERN_TYPES)[number];
export const OPERATIONS = ["read", "write", "create", "delete", "alter", "describe", "all"] as const;
export type Operation = (typeof OPERATIONS)[number];
export const PERMISSIONS = ["allow", "deny"] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** The one name of the cluster resource (Kafka's `kafka-cluster`). */
export const CLUSTER_RESOURCE = "kafka-cluster";

/** An ACL without its principal: what a scoped token lists. */
export type AclRule = {
  resourceType: ResourceType;
  patternType: PatternType;
  resourceName: string;
  operation: Operation;
  permission: Permission;
};
export type Acl = AclRule & { principal: string };

/**
 * What a credential may do: every set must allow (an API key has one set, its
 * principal's ACLs; a scoped token two, its own list and its minter's ACLs).
 * `null` is unrestricted: the admin principal, or authentication turned off.
 */
export type Rights = { readonly sets: readonly (readonly AclRule[])[] } | null;

/**
 * As in Kafka: an allowed read, write, delete or alter implies describe (a
 * principal that may read a topic may also see it), unless describe is denied.
 */
const IMPLIES_DESCRIBE: readonly Operation[] = ["read", "write", "delete", "alter"];

/** Kafka's wildcard: a literal ACL on `*` names every resource of its type. */
export const WILDCARD_RESOURCE = "*";

function matches(rule: AclRule, type: ResourceType, name: string): boolean {
  if (rule.resourceType !== type) return false;
  // There is one cluster: a cluster ACL names it whatever its resourceName says.
  if (type === "cluster") return true;
  if (rule.patternType === "prefixed") return name.startsWith(rule.resourceName);
  return rule.resourceName === name || rule.resourceName === WILDCARD_RESOURCE;
}

/** Kafka's decision for one set of ACLs: deny wins, then some allow is needed. */
export function aclsAllow(
  rules: readonly AclRule[],
  type: ResourceType,
  name: string,
  op: Operation,
): boolean {
  let allowed = false;
  for (const rule of rules) {
    if (!matches(rule, type, name)) continue;
    const covers = rule.operation === "all" || rule.operation === op;
    if (rule.permission === "deny") {
      if (covers) return false;
      continue;
    }
    if (covers || (op === "describe" && IMPLIES_DESCRIBE.includes(rule.operation))) allowed = true;
  }
  return allowed;
}

/** True when `rights` allow `op` on the resource: every set must allow it. */
export function allows(rights: Rights, type: ResourceType, name: string, op: Operation): boolean {
  if (rights === null) return true;
  return rights.sets.every((rules) => aclsAllow(rules, type, name, op));
}

/**
 * True when `rights` allow `op` on some resource of `type` (an idempotent producer
 * without transactionalId needs write on any topic, as Kafka's IdempotentWrite).
 * Only a deny on every name (prefix "" or literal "*") takes that away.
 */
export function allowsAny(rights: Rights, type: ResourceType, op: Operation): boolean {
  if (rights === null) return true;
  return rights.sets.every((rules) => {
    const covers = (r: AclRule) => r.resourceType === type && (r.operation === op || r.operation === "all");
    const everything = (r: AclRule) =>
      r.patternType === "prefixed" ? r.resourceName === "" : r.resourceName === WILDCARD_RESOURCE;
    if (rules.some((r) => covers(r) && r.permission === "deny" && everything(r))) return false;
    return rules.some((r) => covers(r) && r.permission === "allow");
  });
}

/** The error code Kafka answers when `type` is refused. */
export function refusalCode(
  type: ResourceType,
):
  | "TOPIC_AUTHORIZATION_FAILED"
  | "GROUP_AUTHORIZATION_FAILED"
  | "CLUSTER_AUTHORIZATION_FAILED"
  | "TRANSACTIONAL_ID_AUTHORIZATION_FAILED" {
  if (type === "topic") return "TOPIC_AUTHORIZATION_FAILED";
  if (type === "group") return "GROUP_AUTHORIZATION_FAILED";
  if (type === "cluster") return "CLUSTER_AUTHORIZATION_FAILED";
  return "TRANSACTIONAL_ID_AUTHORIZATION_FAILED";
}
