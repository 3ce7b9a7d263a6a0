import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AclRule,
  aclsAllow,
  allows,
  allowsAny,
  OPERATIONS,
  type Operation,
  PATTERN_TYPES,
  PERMISSIONS,
  type ResourceType,
} from "../../core/acl";
import { testSeed } from "../seed";

const seed = testSeed("acl.test.ts");

const rule = (
  permission: "allow" | "deny",
  operation: Operation,
  resourceName: string,
  patternType: "literal" | "prefixed" = "literal",
  resourceType: ResourceType = "topic",
): AclRule => ({ resourceType, patternType, resourceName, operation, permission });

describe("ACL decisions (Kafka's model)", () => {
  it("default deny: no ACL, or none matching, refuses", () => {
    expect(aclsAllow([], "topic", "orders", "read")).toBe(false);
    expect(aclsAllow([rule("allow", "read", "other")], "topic", "orders", "read")).toBe(false);
    expect(aclsAllow([rule("allow", "write", "orders")], "topic", "orders", "read")).toBe(false);
    expect(aclsAllow([rule("allow", "read", "orders", "literal", "group")], "topic", "orders", "read")).toBe(
      false,
    );
  });

  it("literal names one resource; prefixed every name starting with it; literal * every name", () => {
    const rules = [rule("allow", "read", "orders"), rule("allow", "write", "team-", "prefixed")];
    expect(aclsAllow(rules, "topic", "orders", "read")).toBe(true);
    expect(aclsAllow(rules, "topic", "orders-eu", "read")).toBe(false);
    expect(aclsAllow(rules, "topic", "team-a", "write")).toBe(true);
    expect(aclsAllow(rules, "topic", "team-", "write")).toBe(true);
    expect(aclsAllow(rules, "topic", "tea", "write")).toBe(false);
    expect(aclsAllow([rule("allow", "read", "*")], "topic", "anything", "read")).toBe(true);
    expect(aclsAllow([rule("allow", "read", "*", "prefixed")], "topic", "anything", "read")).toBe(false);
  });

  it("deny wins over allow, whatever the order and the pattern", () => {
    const allowAll = rule("allow", "all", "", "prefixed");
    const denySecret = rule("deny", "write", "team-secret");
    expect(aclsAllow([allowAll, denySecret], "topic", "team-secret", "write")).toBe(false);
    expect(aclsAllow([denySecret, allowAll], "topic", "team-secret", "write")).toBe(false);
    expect(aclsAllow([allowAll, denySecret], "topic", "team-secret", "read")).toBe(true);
    expect(
      aclsAllow(
        [rule("allow", "read", "orders"), rule("deny", "all", "ord", "prefixed")],
        "topic",
        "orders",
        "read",
      ),
    ).toBe(false);
  });

  it("all covers every operation; read, write, delete and alter imply describe unless describe is denied", () => {
    for (const op of OPERATIONS) expect(aclsAllow([rule("allow", "all", "t")], "topic", "t", op)).toBe(true);
    for (const op of ["read", "write", "delete", "alter"] as const)
      expect(aclsAllow([rule("allow", op, "t")], "topic", "t", "describe")).toBe(true);
    expect(aclsAllow([rule("allow", "create", "t")], "topic", "t", "describe")).toBe(false);
    expect(
      aclsAllow([rule("allow", "read", "t"), rule("deny", "describe", "t")], "topic", "t", "describe"),
    ).toBe(false);
    // describe does not imply the others
    expect(aclsAllow([rule("allow", "describe", "t")], "topic", "t", "read")).toBe(false);
  });

  it("a cluster ACL names the one cluster whatever its resourceName", () => {
    const rules = [rule("allow", "alter", "kafka-cluster", "literal", "cluster")];
    expect(aclsAllow(rules, "cluster", "kafka-cluster", "alter")).toBe(true);
    expect(
      aclsAllow(
        [rule("allow", "alter", "whatever", "literal", "cluster")],
        "cluster",
        "kafka-cluster",
        "alter",
      ),
    ).toBe(true);
  });

  it("rights with several sets allow only what every set allows (a scoped token ∩ its minter)", () => {
    const token = [rule("allow", "all", "orders")];
    const minter = [rule("allow", "read", "", "prefixed")];
    const rights = { sets: [token, minter] };
    expect(allows(rights, "topic", "orders", "read")).toBe(true);
    expect(allows(rights, "topic", "orders", "write")).toBe(false); // the minter cannot write
    expect(allows(rights, "topic", "payments", "read")).toBe(false); // the token does not list it
    expect(allows(null, "topic", "anything", "delete")).toBe(true);
    expect(allows({ sets: [] }, "topic", "x", "read")).toBe(true); // no set restricts: only null and [] mean that
  });

  it("allowsAny: some allow for the operation on the type, unless a deny covers every name", () => {
    expect(allowsAny({ sets: [[rule("allow", "write", "a")]] }, "topic", "write")).toBe(true);
    expect(allowsAny({ sets: [[rule("allow", "read", "a")]] }, "topic", "write")).toBe(false);
    expect(
      allowsAny(
        { sets: [[rule("allow", "write", "a"), rule("deny", "all", "", "prefixed")]] },
        "topic",
        "write",
      ),
    ).toBe(false);
    expect(allowsAny({ sets: [[rule("allow", "write", "a")], []] }, "topic", "write")).toBe(false);
  });

  // Properties over random rule sets: the decision is monotone the way Kafka's is.
  const arbRule = fc.record({
    resourceType: fc.constantFrom<ResourceType>("topic", "group"),
    patternType: fc.constantFrom(...PATTERN_TYPES),
    resourceName: fc.constantFrom("", "a", "ab", "abc", "b", "*"),
    operation: fc.constantFrom(...OPERATIONS),
    permission: fc.constantFrom(...PERMISSIONS),
  });
  const arbQuery = fc.record({
    type: fc.constantFrom<ResourceType>("topic", "group"),
    name: fc.constantFrom("a", "ab", "abc", "b", "bc", "*"),
    op: fc.constantFrom(...OPERATIONS.filter((o) => o !== "all")),
  });

  it("adding an allow never refuses; adding a deny never allows; a matching deny always refuses", () => {
    fc.assert(
      fc.property(fc.array(arbRule, { maxLength: 12 }), arbRule, arbQuery, (rules, extra, q) => {
        const before = aclsAllow(rules, q.type, q.name, q.op);
        const after = aclsAllow([...rules, extra], q.type, q.name, q.op);
        if (extra.permission === "allow" && before) expect(after).toBe(true);
        if (extra.permission === "deny" && !before) expect(after).toBe(false);
        const denyIt = rule("deny", q.op, q.name, "literal", q.type);
        expect(aclsAllow([...rules, denyIt], q.type, q.name, q.op)).toBe(false);
        // The order of the rules never matters.
        expect(aclsAllow([...rules].reverse(), q.type, q.name, q.op)).toBe(before);
      }),
      { seed, numRuns: 2_000 },
    );
  });
});
