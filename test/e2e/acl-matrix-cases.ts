import type { client } from "./auth-client";

/**
 * The ACL matrix's cases (test/e2e/security-acl-matrix.test.ts): the principals and
 * their ACLs, and the expected outcome of every cell, written out by hand (the
 * actions are in acl-matrix-actions.ts).
 */

type Rule = [type: string, pattern: string, name: string, op: string, permission?: string];
export const PRINCIPALS: Record<string, Rule[]> = {
  reader: [
    ["topic", "literal", "orders", "read"],
    ["group", "prefixed", "app-", "read"],
  ],
  teamer: [
    ["topic", "prefixed", "team-", "all"],
    ["topic", "literal", "team-secret", "write", "deny"],
    ["group", "literal", "team-g", "read"],
  ],
  creator: [
    ["cluster", "literal", "kafka-cluster", "create"],
    ["cluster", "literal", "kafka-cluster", "describe"],
  ],
  nobody: [],
  wild: [
    ["topic", "literal", "*", "describe"],
    ["topic", "literal", "payments", "describe", "deny"],
  ],
  txn: [
    ["transactionalId", "prefixed", "etl-", "write"],
    ["topic", "literal", "orders", "write"],
  ],
};

/** Per principal, the actions that must succeed; every other action must be refused. */
export const ALLOWED: Record<string, string[]> = {
  reader: [
    "describe orders",
    "fetch orders",
    "join app-j [orders]",
    "describe group app-shared",
    "offsets group app-shared",
    "ws tail orders",
    "ws group app-w [orders]",
  ],
  teamer: [
    "produce team-a",
    "fetch team-a",
    "alter team-a",
    "create team-new",
    "delete team-del",
    "join team-g [team-a]",
    "init producer",
    "ws produce team-a",
  ],
  creator: ["create team-new", "create other-new", "metrics", "list acls", "list quotas", "list principals"],
  nobody: [],
  wild: ["describe orders"],
  txn: ["describe orders", "produce orders", "init producer", "init producer etl-1", "ws produce orders"],
};

/** The topics each principal sees in GET /v1/topics. */
export const LISTED: Record<string, string[]> = {
  reader: ["orders"],
  teamer: ["team-a", "team-secret"],
  creator: [],
  nobody: [],
  wild: ["orders", "team-a", "team-secret"],
  txn: ["orders"],
};

export const REFUSAL: Record<string, string> = {
  topic: "TOPIC_AUTHORIZATION_FAILED",
  group: "GROUP_AUTHORIZATION_FAILED",
  cluster: "CLUSTER_AUTHORIZATION_FAILED",
  transactionalId: "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
};

export type Call = ReturnType<typeof client>;
/** One cell: runs the action as `as`, returns whether it succeeded; on a refusal, asserts nothing changed. */
export type Action = {
  name: string;
  refusal: string;
  run: (as: Call, token: string, who: string) => Promise<boolean>;
};
