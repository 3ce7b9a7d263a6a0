import { type Context, Hono } from "hono";
import { CLUSTER_RESOURCE } from "../../core/acl";
import { signScopedToken } from "../../core/credentials";
import { EdgelogError, unwrap } from "../../core/errors";
import {
  ADMIN_PRINCIPAL,
  authMode,
  authorize,
  forgetPrincipal,
  scopedTokenKey,
} from "../../durable-objects/authorizer";
import { securityStore } from "../../durable-objects/stubs";
import { parseEmpty } from "../../schemas/groups";
import { invalid } from "../../schemas/input";
import { NoQuery, readQuery } from "../../schemas/query";
import {
  AclFilterInput,
  checkPrincipal,
  parseAcl,
  parseAclFilter,
  parseMint,
  parseQuota,
} from "../../schemas/security";
import { readJsonBody } from "../body";
import { maxRequestBytes } from "../config";
import type { GatewayEnv } from "../gateway-env";

/**
 * Principals and API keys, ACLs, scoped tokens and quotas (API.md "Security").
 * Changing any of them needs `alter` on the cluster, listing them `describe`
 * (Kafka's CreateAcls / DescribeAcls rule).
 */
export const securityRoutes = new Hono<GatewayEnv>();

function cluster(c: Context<GatewayEnv>, op: "alter" | "describe"): void {
  authorize(c.get("auth").rights, "cluster", CLUSTER_RESOURCE, op);
}

const body = (c: Context<GatewayEnv>) => readJsonBody(c.req.raw, maxRequestBytes(c.env));

// ---- principals and API keys ----

securityRoutes.post("/principals/:principal/keys", async (c) => {
  readQuery(c.req.url, NoQuery);
  const principal = checkPrincipal(c.req.param("principal"));
  cluster(c, "alter");
  parseEmpty(await body(c));
  if (principal === ADMIN_PRINCIPAL)
    invalid(`'${ADMIN_PRINCIPAL}' is the principal of EDGELOG_ADMIN_TOKEN; it has no API keys`);
  const key = unwrap(await securityStore(c.env).createKey(principal));
  forgetPrincipal(principal);
  return c.json(key, 201);
});

securityRoutes.get("/principals", async (c) => {
  readQuery(c.req.url, NoQuery);
  cluster(c, "describe");
  return c.json({ principals: await securityStore(c.env).listPrincipals() });
});

securityRoutes.delete("/principals/:principal/keys/:keyId", async (c) => {
  readQuery(c.req.url, NoQuery);
  const principal = checkPrincipal(c.req.param("principal"));
  cluster(c, "alter");
  unwrap(await securityStore(c.env).deleteKey(principal, c.req.param("keyId")));
  forgetPrincipal(principal); // this isolate at once; the others within SECURITY_CACHE_MS
  return c.body(null, 204);
});

// ---- ACLs ----

securityRoutes.post("/acls", async (c) => {
  readQuery(c.req.url, NoQuery);
  cluster(c, "alter");
  const acl = parseAcl(await body(c));
  const created = unwrap(await securityStore(c.env).createAcl(acl));
  forgetPrincipal(acl.principal);
  return c.json(created, 201);
});

securityRoutes.get("/acls", async (c) => {
  const filter = readQuery(c.req.url, AclFilterInput);
  cluster(c, "describe");
  return c.json({ acls: await securityStore(c.env).listAcls(filter) });
});

securityRoutes.delete("/acls", async (c) => {
  readQuery(c.req.url, NoQuery);
  cluster(c, "alter");
  const raw = await body(c);
  if (raw === undefined) invalid("DELETE /v1/acls needs a filter body naming at least one field");
  const filter = parseAclFilter(raw, "body", true);
  const deleted = await securityStore(c.env).deleteAcls(filter);
  if (filter.principal) forgetPrincipal(filter.principal);
  return c.json({ deleted });
});

// ---- scoped tokens ----

securityRoutes.post("/tokens", async (c) => {
  readQuery(c.req.url, NoQuery);
  const request = parseMint(await body(c));
  const identity = c.get("auth").identity;
  const key = scopedTokenKey(c.env);
  if (authMode(c.env) === "none" || identity === null || key === null)
    invalid("EDGELOG_AUTH is none: credentials are not checked, so there are no tokens to mint");
  if (identity.scope !== null)
    throw new EdgelogError(
      "CLUSTER_AUTHORIZATION_FAILED",
      "a scoped token cannot mint tokens; use an API key",
    );
  const principal = request.principal ?? identity.principal;
  if (principal !== identity.principal) cluster(c, "alter");
  const now = Date.now();
  const expiresAt = now + request.expiresInS * 1000;
  const token = await signScopedToken(
    {
      principal,
      minter: identity.principal,
      minterKeyId: identity.keyId,
      acls: request.acls,
      issuedAtMs: now,
      expiresAtMs: expiresAt,
    },
    await key,
  );
  return c.json({ token, expiresAt }, 201);
});

// ---- quotas ----

securityRoutes.put("/quotas/:principal", async (c) => {
  readQuery(c.req.url, NoQuery);
  const principal = checkPrincipal(c.req.param("principal"));
  cluster(c, "alter");
  const quota = parseQuota(await body(c));
  const saved = unwrap(await securityStore(c.env).putQuota(principal, quota));
  forgetPrincipal(principal);
  return c.json(saved);
});

securityRoutes.get("/quotas", async (c) => {
  readQuery(c.req.url, NoQuery);
  cluster(c, "describe");
  return c.json({ quotas: await securityStore(c.env).listQuotas() });
});

securityRoutes.delete("/quotas/:principal", async (c) => {
  readQuery(c.req.url, NoQuery);
  const principal = checkPrincipal(c.req.param("principal"));
  cluster(c, "alter");
  await securityStore(c.env).deleteQuota(principal);
  forgetPrincipal(principal);
  return c.body(null, 204);
});
