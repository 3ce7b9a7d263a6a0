import { DurableObject } from "cloudflare:workers";
import type { Acl, AclRule } from "../core/acl";
import { newApiKey } from "../core/credentials";
import { fail, ok, type Result } from "../core/errors";
import { ACLS_MAX, ACLS_PER_PRINCIPAL_MAX, API_KEYS_PER_PRINCIPAL_MAX, PRINCIPALS_MAX } from "../core/limits";
import type { Quota } from "../core/quota";
import type { Env } from "./env";
import { runMigrations } from "./sql-migrations";

/**
 * The cluster's security metadata (DESIGN.md "Wave 2"): principals' API keys
 * (only the SHA-256 of each secret), ACLs and quotas. One instance ("cluster");
 * gateway isolates cache what it answers about a principal for at most
 * SECURITY_CACHE_MS, which bounds how long a revoked key keeps working.
 */

const MIGRATIONS = [
  `CREATE TABLE api_keys (
     key_id TEXT PRIMARY KEY,
     principal TEXT NOT NULL,
     secret_hash TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX api_keys_principal ON api_keys (principal);
   CREATE TABLE acls (
     principal TEXT NOT NULL,
     resource_type TEXT NOT NULL,
     pattern_type TEXT NOT NULL,
     resource_name TEXT NOT NULL,
     operation TEXT NOT NULL,
     permission TEXT NOT NULL,
     PRIMARY KEY (principal, resource_type, pattern_type, resource_name, operation, permission)
   );
   CREATE TABLE quotas (principal TEXT PRIMARY KEY, quota TEXT NOT NULL);`,
];

/** All a gateway needs to know about one principal: its keys (hashes), ACLs and quota. */
export type PrincipalView = {
  keys: { keyId: string; secretHash: string }[];
  acls: AclRule[];
  quota: Quota | null;
};

/** An ACL filter (API.md `GET`/`DELETE /v1/acls`): the fields given must match exactly. */
export type AclFilter = Partial<Acl>;

type AclRow = {
  principal: string;
  resource_type: string;
  pattern_type: string;
  resource_name: string;
  operation: string;
  permission: string;
};

const ACL_COLUMNS: [keyof Acl, keyof AclRow][] = [
  ["principal", "principal"],
  ["resourceType", "resource_type"],
  ["patternType", "pattern_type"],
  ["resourceName", "resource_name"],
  ["operation", "operation"],
  ["permission", "permission"],
];

function aclOf(row: AclRow): Acl {
  return {
    principal: row.principal,
    resourceType: row.resource_type as Acl["resourceType"],
    patternType: row.pattern_type as Acl["patternType"],
    resourceName: row.resource_name,
    operation: row.operation as Acl["operation"],
    permission: row.permission as Acl["permission"],
  };
}

function ruleOf(acl: Acl): AclRule {
  const { principal: _, ...rule } = acl;
  return rule;
}

/** `WHERE` clause and bindings for a filter. */
function where(filter: AclFilter): [string, string[]] {
  const terms: string[] = [];
  const values: string[] = [];
  for (const [field, column] of ACL_COLUMNS) {
    const value = filter[field];
    if (value === undefined) continue;
    terms.push(`${column} = ?`);
    values.push(value);
  }
  return [terms.length === 0 ? "" : `WHERE ${terms.join(" AND ")}`, values];
}

export class SecurityStore extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    runMigrations(this.sql, MIGRATIONS);
  }

  private count(query: string, ...bindings: string[]): number {
    return this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM (${query})`, ...bindings).one().n;
  }

  private knows(principal: string): boolean {
    return (
      this.count(
        `SELECT principal FROM api_keys WHERE principal = ?1
         UNION SELECT principal FROM acls WHERE principal = ?1
         UNION SELECT principal FROM quotas WHERE principal = ?1`,
        principal,
      ) > 0
    );
  }

  /** Refuses a principal the cluster does not know yet when it knows PRINCIPALS_MAX already. */
  private roomFor(principal: string): Result<null> {
    if (this.knows(principal)) return ok(null);
    const known = this.count(
      "SELECT principal FROM api_keys UNION SELECT principal FROM acls UNION SELECT principal FROM quotas",
    );
    if (known >= PRINCIPALS_MAX)
      return fail(
        "INVALID_REQUEST",
        `the cluster knows ${PRINCIPALS_MAX} principals already; remove some first`,
      );
    return ok(null);
  }

  async createKey(principal: string): Promise<Result<{ principal: string; keyId: string; token: string }>> {
    const room = this.roomFor(principal);
    if (!room.ok) return room;
    if (this.count("SELECT 1 FROM api_keys WHERE principal = ?", principal) >= API_KEYS_PER_PRINCIPAL_MAX)
      return fail(
        "INVALID_REQUEST",
        `principal '${principal}' has ${API_KEYS_PER_PRINCIPAL_MAX} keys already; delete one first`,
      );
    const key = await newApiKey(principal);
    this.sql.exec(
      "INSERT INTO api_keys (key_id, principal, secret_hash, created_at) VALUES (?, ?, ?, ?)",
      key.keyId,
      principal,
      key.secretHash,
      Date.now(),
    );
    return ok({ principal, keyId: key.keyId, token: key.token });
  }

  async deleteKey(principal: string, keyId: string): Promise<Result<null>> {
    const deleted = this.sql.exec(
      "DELETE FROM api_keys WHERE principal = ? AND key_id = ?",
      principal,
      keyId,
    );
    if (deleted.rowsWritten === 0)
      return fail("API_KEY_NOT_FOUND", `principal '${principal}' has no key '${keyId}'`);
    return ok(null);
  }

  /** Principals with keys, ACLs or quotas, sorted, each with its keys (ids and creation times only). */
  async listPrincipals(): Promise<{ principal: string; keys: { keyId: string; createdAt: number }[] }[]> {
    const principals = new Map<string, { keyId: string; createdAt: number }[]>();
    for (const row of this.sql.exec<{ principal: string }>(
      "SELECT principal FROM acls UNION SELECT principal FROM quotas",
    ))
      principals.set(row.principal, []);
    for (const row of this.sql.exec<{ principal: string; key_id: string; created_at: number }>(
      "SELECT principal, key_id, created_at FROM api_keys ORDER BY created_at, key_id",
    )) {
      const keys = principals.get(row.principal) ?? [];
      keys.push({ keyId: row.key_id, createdAt: row.created_at });
      principals.set(row.principal, keys);
    }
    return [...principals]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([principal, keys]) => ({ principal, keys }));
  }

  /** What a gateway caches about one principal. */
  async principalView(principal: string): Promise<PrincipalView> {
    const keys = this.sql
      .exec<{ key_id: string; secret_hash: string }>(
        "SELECT key_id, secret_hash FROM api_keys WHERE principal = ?",
        principal,
      )
      .toArray()
      .map((r) => ({ keyId: r.key_id, secretHash: r.secret_hash }));
    const acls = this.sql
      .exec<AclRow>("SELECT * FROM acls WHERE principal = ?", principal)
      .toArray()
      .map((row) => ruleOf(aclOf(row)));
    const quota = this.sql
      .exec<{ quota: string }>("SELECT quota FROM quotas WHERE principal = ?", principal)
      .toArray()[0];
    return { keys, acls, quota: quota ? JSON.parse(quota.quota) : null };
  }

  /** Adds an ACL; adding one that exists already changes nothing (as Kafka's CreateAcls). */
  async createAcl(acl: Acl): Promise<Result<Acl>> {
    const [clause, values] = where(acl);
    if (this.count(`SELECT 1 FROM acls ${clause}`, ...values) > 0) return ok(acl);
    const room = this.roomFor(acl.principal);
    if (!room.ok) return room;
    if (this.count("SELECT 1 FROM acls WHERE principal = ?", acl.principal) >= ACLS_PER_PRINCIPAL_MAX)
      return fail(
        "INVALID_REQUEST",
        `principal '${acl.principal}' has ${ACLS_PER_PRINCIPAL_MAX} ACLs already; use prefixed ones or remove some`,
      );
    if (this.count("SELECT 1 FROM acls") >= ACLS_MAX)
      return fail("INVALID_REQUEST", `the cluster has ${ACLS_MAX} ACLs already; remove some first`);
    this.sql.exec(
      `INSERT INTO acls (${ACL_COLUMNS.map(([, c]) => c).join(", ")}) VALUES (?, ?, ?, ?, ?, ?)`,
      ...ACL_COLUMNS.map(([field]) => acl[field]),
    );
    return ok(acl);
  }

  async listAcls(filter: AclFilter): Promise<Acl[]> {
    const [clause, values] = where(filter);
    return this.sql
      .exec<AclRow>(
        `SELECT * FROM acls ${clause} ORDER BY principal, resource_type, resource_name, pattern_type, operation, permission`,
        ...values,
      )
      .toArray()
      .map(aclOf);
  }

  async deleteAcls(filter: AclFilter): Promise<number> {
    const [clause, values] = where(filter);
    return this.sql.exec(`DELETE FROM acls ${clause}`, ...values).rowsWritten;
  }

  async putQuota(principal: string, quota: Quota): Promise<Result<Quota & { principal: string }>> {
    const room = this.roomFor(principal);
    if (!room.ok) return room;
    this.sql.exec(
      "INSERT OR REPLACE INTO quotas (principal, quota) VALUES (?, ?)",
      principal,
      JSON.stringify(quota),
    );
    return ok({ principal, ...quota });
  }

  async deleteQuota(principal: string): Promise<boolean> {
    return this.sql.exec("DELETE FROM quotas WHERE principal = ?", principal).rowsWritten > 0;
  }

  async listQuotas(): Promise<(Quota & { principal: string })[]> {
    return this.sql
      .exec<{ principal: string; quota: string }>("SELECT principal, quota FROM quotas ORDER BY principal")
      .toArray()
      .map((r) => ({ principal: r.principal, ...JSON.parse(r.quota) }));
  }
}
