import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, socket, topicRule } from "./auth-client";
import { LocalServer, tempStateDir, until } from "./server";

/** API.md "Contract v2 → Security", end to end against what `npm start` runs with credentials on. */

const ADMIN = `security-admin-${Date.now()}`;
/** API.md: a revoked key stops working within 5 s everywhere. */
const REVOCATION_BOUND_MS = 5_000;
const ALLOWED_ORIGIN = "http://localhost:5173";

const b64url = (text: string) => Buffer.from(text).toString("base64url");

describe("credentials (EDGELOG_AUTH=required)", () => {
  const server = new LocalServer(tempStateDir(), {
    EDGELOG_AUTH: "required",
    EDGELOG_ADMIN_TOKEN: ADMIN,
    EDGELOG_CORS_ORIGINS: ALLOWED_ORIGIN,
  });
  let admin: ReturnType<typeof client>;
  let aliceKey: { keyId: string; token: string };

  beforeAll(async () => {
    await server.start();
    admin = client(server.url, ADMIN);
    expect((await admin("POST", "/v1/topics", { name: "orders", replicationFactor: 1 })).status).toBe(201);
    const key = await admin("POST", "/v1/principals/alice/keys");
    expect(key.status).toBe(201);
    expect(key.body).toMatchObject({
      principal: "alice",
      keyId: expect.any(String),
      token: expect.any(String),
    });
    aliceKey = key.body;
    for (const operation of ["read", "write"])
      expect(
        (
          await admin("POST", "/v1/acls", {
            principal: "alice",
            resourceType: "topic",
            patternType: "literal",
            resourceName: "orders",
            operation,
            permission: "allow",
          })
        ).status,
      ).toBe(201);
  });
  afterAll(() => server.stop("SIGKILL"));

  it("every route but GET /healthz needs a credential: 401 UNAUTHENTICATED with www-authenticate: Bearer", async () => {
    const anonymous = client(server.url, null);
    expect((await anonymous("GET", "/healthz")).status).toBe(200);
    for (const [method, path] of [
      ["GET", "/v1/topics"],
      ["GET", "/v1/topics/orders"],
      ["POST", "/v1/topics/orders/records"],
      ["GET", "/v1/topics/orders/partitions/0/records?offset=0"],
      ["GET", "/v1/groups"],
      ["POST", "/v1/producers"],
      ["GET", "/metrics"],
      ["GET", "/v1/acls"],
      ["GET", "/no/such/route"],
    ] as const) {
      const a = await anonymous(method, path, method === "POST" ? { records: [{ value: 1 }] } : undefined);
      expect(a.status, `${method} ${path}`).toBe(401);
      expect(a.body.error.code).toBe("UNAUTHENTICATED");
      expect(a.headers.get("www-authenticate")).toBe("Bearer");
    }
  });

  it("missing, malformed, wrong, tampered, forged and unknown credentials are all 401, and never echoed", async () => {
    const [prefix, principal, keyId, secret] = aliceKey.token.split(".") as [string, string, string, string];
    const minted = await client(server.url, aliceKey.token)("POST", "/v1/tokens", {
      acls: [topicRule("orders", "read")],
      expiresInS: 600,
    });
    expect(minted.status).toBe(201);
    const [sPrefix, sPayload, sSig] = minted.body.token.split(".") as [string, string, string];
    const payload = JSON.parse(Buffer.from(sPayload, "base64url").toString());
    const widened = b64url(
      JSON.stringify({ ...payload, a: [{ ...payload.a[0], resourceName: "*", operation: "all" }] }),
    );
    const bad: Record<string, string> = {
      "not bearer": `Basic ${Buffer.from(`admin:${ADMIN}`).toString("base64")}`,
      "bearer without token": "Bearer",
      "two tokens": `Bearer ${ADMIN} ${ADMIN}`,
      "wrong admin secret": `Bearer ${ADMIN}x`,
      "admin secret prefix": `Bearer ${ADMIN.slice(0, -1)}`,
      "wrong key secret": `Bearer ${prefix}.${principal}.${keyId}.${secret.slice(0, -1)}${secret.endsWith("A") ? "B" : "A"}`,
      "key of another principal": `Bearer ${prefix}.${b64url("bob")}.${keyId}.${secret}`,
      "unknown key id": `Bearer ${prefix}.${principal}.0000000000000000.${secret}`,
      "truncated key": `Bearer ${aliceKey.token.slice(0, -5)}`,
      "tampered scoped token": `Bearer ${sPrefix}.${widened}.${sSig}`,
      "unsigned scoped token": `Bearer ${sPrefix}.${sPayload}.`,
      "alg none": `Bearer ${b64url('{"alg":"none","typ":"JWT"}')}.${b64url('{"sub":"admin"}')}.`,
      garbage: "Bearer %%%%",
      huge: `Bearer ${"a".repeat(16_400)}`,
    };
    for (const [what, authorization] of Object.entries(bad)) {
      const a = await client(server.url, null)("GET", "/v1/topics/orders", undefined, { authorization });
      expect(a.status, what).toBe(401);
      expect(a.body.error.code, what).toBe("UNAUTHENTICATED");
      const token = authorization.replace(/^\w+ ?/, "");
      if (token.length > 8) expect(JSON.stringify(a.body), what).not.toContain(token);
    }
    // The genuine ones work.
    expect((await client(server.url, aliceKey.token)("GET", "/v1/topics/orders")).status).toBe(200);
    expect((await client(server.url, minted.body.token)("GET", "/v1/topics/orders")).status).toBe(200);
    // ?access_token= is for WebSocket upgrades only.
    const viaQuery = await client(server.url, null)(
      "GET",
      `/v1/topics/orders?access_token=${aliceKey.token}`,
    );
    expect(viaQuery.status).toBe(401);
  });

  it("keys are stored hashed: the token is shown once and never listed", async () => {
    const listed = await admin("GET", "/v1/principals");
    expect(listed.status).toBe(200);
    const alice = listed.body.principals.find((p: any) => p.principal === "alice");
    expect(alice.keys).toEqual([{ keyId: aliceKey.keyId, createdAt: expect.any(Number) }]);
    expect(JSON.stringify(listed.body)).not.toContain(aliceKey.token.split(".")[3]);
  });

  it("scoped tokens: rights = listed ACLs ∩ the minter's, at most 24 h, expire, and die with the minter's key", async () => {
    const alice = client(server.url, aliceKey.token);
    const readOnly = await alice("POST", "/v1/tokens", {
      acls: [
        {
          resourceType: "topic",
          patternType: "literal",
          resourceName: "*",
          operation: "all",
          permission: "allow",
        },
        {
          resourceType: "topic",
          patternType: "literal",
          resourceName: "orders",
          operation: "write",
          permission: "deny",
        },
      ],
      expiresInS: 2,
    });
    expect(readOnly.status).toBe(201);
    expect(readOnly.body.expiresAt).toBeGreaterThan(Date.now());
    expect(readOnly.body.expiresAt).toBeLessThanOrEqual(Date.now() + 2_000);
    const scoped = client(server.url, readOnly.body.token);
    expect((await scoped("GET", "/v1/topics/orders/partitions/0/records?offset=0")).status).toBe(200);
    // The token denies write; alice may not delete: neither is possible with the token.
    expect(
      (await scoped("POST", "/v1/topics/orders/records?acks=1", { records: [{ value: 1 }] })).status,
    ).toBe(403);
    expect((await scoped("DELETE", "/v1/topics/orders")).status).toBe(403);
    // A scoped token mints nothing; a principal mints for another only with alter on the cluster.
    expect((await scoped("POST", "/v1/tokens", { acls: [] })).status).toBe(403);
    expect((await alice("POST", "/v1/tokens", { principal: "bob", acls: [] })).status).toBe(403);
    expect((await alice("POST", "/v1/tokens", { acls: [], expiresInS: 24 * 3600 + 1 })).status).toBe(400);
    // Expiry.
    await new Promise((resolve) => setTimeout(resolve, readOnly.body.expiresAt - Date.now() + 50));
    const expired = await scoped("GET", "/v1/topics/orders");
    expect(expired.status).toBe(401);
    expect(expired.body.error.message).toMatch(/expired/);
  });

  it("a deleted key stops working within 5 s, with the scoped tokens minted from it, over HTTP and WebSocket", async () => {
    const key = (await admin("POST", "/v1/principals/alice/keys")).body;
    const token = (
      await client(server.url, key.token)("POST", "/v1/tokens", {
        acls: [topicRule("orders", "read")],
      })
    ).body.token;
    const s = await socket(server.url, key.token);
    expect(
      (await s.request({ op: "subscribe", id: 1, topic: "orders", partition: 0, offset: "earliest" })).op,
    ).toBe("subscribed");
    expect((await client(server.url, key.token)("GET", "/v1/topics/orders")).status).toBe(200);
    expect((await admin("DELETE", `/v1/principals/alice/keys/${key.keyId}`)).status).toBe(204);
    expect((await admin("DELETE", `/v1/principals/alice/keys/${key.keyId}`)).status).toBe(404);
    const deleted = Date.now();
    const refused = async (t: string) =>
      (await client(server.url, t)("GET", "/v1/topics/orders")).status === 401;
    await until(async () => (await refused(key.token)) && (await refused(token)), REVOCATION_BOUND_MS);
    expect(await refused(key.token)).toBe(true);
    expect(await refused(token)).toBe(true);
    expect(Date.now() - deleted).toBeLessThan(REVOCATION_BOUND_MS);
    // The open socket: within the same bound its frames are refused and it is closed (1008).
    // (A credit frame has no answer while the credential is good: send one until the refusal.)
    const sending = setInterval(() => {
      if (s.ws.readyState === s.ws.OPEN)
        s.ws.send(JSON.stringify({ op: "credit", subscription: 1, credits: 1 }));
    }, 100);
    try {
      const error = await s.next((f) => f.op === "error", REVOCATION_BOUND_MS);
      expect(error.error.code).toBe("UNAUTHENTICATED");
      expect((await s.closed).code).toBe(1008);
      expect(Date.now() - deleted).toBeLessThan(REVOCATION_BOUND_MS);
    } finally {
      clearInterval(sending);
    }
    // Alice's other key still works.
    expect((await client(server.url, aliceKey.token)("GET", "/v1/topics/orders")).status).toBe(200);
  });

  it("a WebSocket upgrade needs a credential (header or ?access_token=) and an allowed Origin", async () => {
    await expect(socket(server.url, null)).rejects.toThrow(/401/);
    await expect(socket(server.url, "elk.bad")).rejects.toThrow(/401/);
    await expect(socket(server.url, aliceKey.token, { origin: "http://evil.localhost" })).rejects.toThrow(
      /403/,
    );
    const viaHeader = await socket(`${server.url}`, null, { authorization: `Bearer ${aliceKey.token}` });
    expect(
      (await viaHeader.request({ op: "produce", id: 1, topic: "orders", acks: "1", records: [{ value: 1 }] }))
        .status,
    ).toBe(200);
    viaHeader.close();
    const fromPage = await socket(server.url, aliceKey.token, { origin: ALLOWED_ORIGIN });
    expect(
      (await fromPage.request({ op: "produce", id: 1, topic: "orders", acks: "1", records: [{ value: 1 }] }))
        .status,
    ).toBe(200);
    fromPage.close();
  });

  it("bad security requests get a clear 400 and change nothing", async () => {
    const before = {
      acls: (await admin("GET", "/v1/acls")).body,
      principals: (await admin("GET", "/v1/principals")).body,
      quotas: (await admin("GET", "/v1/quotas")).body,
    };
    const acl = {
      principal: "p",
      resourceType: "topic",
      patternType: "literal",
      resourceName: "t",
      operation: "read",
      permission: "allow",
    };
    const cases: [string, string, unknown?][] = [
      ["POST", "/v1/acls", { ...acl, principal: "bad name" }],
      ["POST", "/v1/acls", { ...acl, resourceType: "table" }],
      ["POST", "/v1/acls", { ...acl, patternType: "regex" }],
      ["POST", "/v1/acls", { ...acl, operation: "READ" }],
      ["POST", "/v1/acls", { ...acl, permission: "maybe" }],
      ["POST", "/v1/acls", { ...acl, resourceName: "" }],
      ["POST", "/v1/acls", { ...acl, resourceName: "x".repeat(250) }],
      ["POST", "/v1/acls", { ...acl, extra: 1 }],
      ["POST", "/v1/acls", { principal: "p" }],
      ["POST", "/v1/acls", [acl]],
      ["DELETE", "/v1/acls", {}],
      ["DELETE", "/v1/acls"],
      ["DELETE", "/v1/acls", { operation: 7 }],
      ["GET", "/v1/acls?principal=a&principal=b"],
      ["GET", "/v1/acls?resourceType=table"],
      ["POST", `/v1/principals/${"x".repeat(129)}/keys`],
      ["POST", "/v1/principals/a%20b/keys"],
      ["POST", "/v1/principals/admin/keys"],
      ["POST", "/v1/principals/p/keys", { name: "k" }],
      ["PUT", "/v1/quotas/p", { requestsPerS: 0 }],
      ["PUT", "/v1/quotas/p", { requestsPerS: -1 }],
      ["PUT", "/v1/quotas/p", { requestsPerS: 1.5 }],
      ["PUT", "/v1/quotas/p", { requestsPerS: "10" }],
      ["PUT", "/v1/quotas/p", { produceBytesPerS: 2 ** 41 }],
      ["PUT", "/v1/quotas/p", { bytes: 1 }],
      ["PUT", "/v1/quotas/p"],
      ["POST", "/v1/tokens", {}],
      ["POST", "/v1/tokens", { acls: "all" }],
      ["POST", "/v1/tokens", { acls: [], expiresInS: 0 }],
      ["POST", "/v1/tokens", { acls: [], expiresInS: 86_401 }],
      ["POST", "/v1/tokens", { acls: [{ ...acl }] }], // an ACL of a token names no principal
      ["POST", "/v1/tokens", { acls: Array.from({ length: 33 }, () => ({ ...acl, principal: undefined })) }],
    ];
    for (const [method, path, body] of cases) {
      const a = await admin(method, path, body);
      expect(a.status, `${method} ${path} ${JSON.stringify(body)?.slice(0, 80)}`).toBe(400);
      expect(a.body.error.code).toBe("INVALID_REQUEST");
    }
    expect((await admin("DELETE", "/v1/principals/p/keys/nope")).status).toBe(404);
    expect((await admin("GET", "/v1/acls")).body).toEqual(before.acls);
    expect((await admin("GET", "/v1/principals")).body).toEqual(before.principals);
    expect((await admin("GET", "/v1/quotas")).body).toEqual(before.quotas);
  });

  it("ACL listing filters; deleting by filter removes exactly the matches", async () => {
    const rule = { resourceType: "group", patternType: "prefixed", operation: "read", permission: "allow" };
    for (const name of ["g1-", "g2-"])
      for (const principal of ["carol", "dave"])
        expect((await admin("POST", "/v1/acls", { ...rule, principal, resourceName: name })).status).toBe(
          201,
        );
    // Adding one twice keeps one.
    expect(
      (await admin("POST", "/v1/acls", { ...rule, principal: "carol", resourceName: "g1-" })).status,
    ).toBe(201);
    expect((await admin("GET", "/v1/acls?principal=carol")).body.acls).toHaveLength(2);
    expect((await admin("GET", "/v1/acls?resourceName=g1-")).body.acls).toHaveLength(2);
    expect(
      (await admin("GET", "/v1/acls?principal=carol&resourceName=g2-&resourceType=group")).body.acls,
    ).toHaveLength(1);
    const deleted = await admin("DELETE", "/v1/acls", { principal: "carol", resourceName: "g1-" });
    expect(deleted.body).toEqual({ deleted: 1 });
    expect((await admin("DELETE", "/v1/acls", { resourceName: "g2-" })).body).toEqual({ deleted: 2 });
    expect(
      (await admin("GET", "/v1/acls?resourceType=group")).body.acls.map((a: any) => [
        a.principal,
        a.resourceName,
      ]),
    ).toEqual([["dave", "g1-"]]);
  });
});
