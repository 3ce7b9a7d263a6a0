import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, socket, topicRule } from "./auth-client";
import { deployBundle } from "./deploy-bundle";
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

describe("quotas: 429 with retry-after, nothing appended", () => {
  const server = new LocalServer(tempStateDir(), { EDGELOG_AUTH: "required", EDGELOG_ADMIN_TOKEN: ADMIN });
  let admin: ReturnType<typeof client>;
  afterAll(() => server.stop("SIGKILL"));

  const principalWith = async (name: string, quota: Record<string, number>) => {
    const token = (await admin("POST", `/v1/principals/${name}/keys`)).body.token as string;
    for (const operation of ["read", "write"])
      await admin("POST", "/v1/acls", {
        principal: name,
        resourceType: "topic",
        patternType: "literal",
        resourceName: "q",
        operation,
        permission: "allow",
      });
    const set = await admin("PUT", `/v1/quotas/${name}`, quota);
    expect(set.status).toBe(200);
    expect(set.body).toEqual({ principal: name, ...quota });
    return client(server.url, token);
  };
  const leo = async () => (await admin("GET", "/v1/topics/q")).body.partitionInfo[0].logEndOffset as number;

  beforeAll(async () => {
    await server.start();
    admin = client(server.url, ADMIN);
    expect((await admin("POST", "/v1/topics", { name: "q", replicationFactor: 1 })).status).toBe(201);
  });

  it("requests/s: the request past the quota is refused with retry-after ≥ 1", async () => {
    const as = await principalWith("slow-requests", { requestsPerS: 5 });
    // At once, so a slow machine cannot refill the bucket between them: 5 pass, 3 are refused.
    const answers = await Promise.all(Array.from({ length: 8 }, () => as("GET", "/v1/topics/q")));
    const refused = answers.filter((a) => a.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(3);
    for (const a of refused) {
      expect(a.body.error).toMatchObject({ code: "THROTTLING_QUOTA_EXCEEDED", retriable: true });
      expect(Number(a.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    }
    expect((await admin("GET", "/v1/quotas")).body.quotas).toContainEqual({
      principal: "slow-requests",
      requestsPerS: 5,
    });
  });

  it("produce bytes/s: a refused produce appends nothing; over WebSocket too", async () => {
    // A second's worth is 1,000 bytes; each body ~930: of four at once, one passes.
    const as = await principalWith("small-producer", { produceBytesPerS: 1_000 });
    const records = [{ value: "x".repeat(900) }];
    const before = await leo();
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => as("POST", "/v1/topics/q/records?acks=1", { records })),
    );
    const accepted = answers.filter((a) => a.status === 200).length;
    const refused = answers.filter((a) => a.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(2);
    expect(Number(refused[0]!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await leo()).toBe(before + accepted);
    // Over WebSocket: the produce frame is refused alike.
    const token = (await admin("POST", "/v1/principals/small-producer/keys")).body.token;
    const s = await socket(server.url, token);
    const frames = [];
    const wsBefore = await leo();
    for (let i = 0; i < 4; i++)
      frames.push(await s.request({ op: "produce", id: i, topic: "q", acks: "1", records }));
    const wsRefused = frames.filter((f) => f.op === "error");
    expect(wsRefused.length).toBeGreaterThanOrEqual(1);
    expect(wsRefused[0].error.code).toBe("THROTTLING_QUOTA_EXCEEDED");
    expect(await leo()).toBe(wsBefore + frames.filter((f) => f.op === "produced").length);
    s.close();
  });

  it("fetch bytes/s: charged after the read, the next fetch refused while in debt", async () => {
    await admin("POST", "/v1/topics/q/records?acks=1", {
      records: Array.from({ length: 20 }, () => ({ value: "y".repeat(500) })),
    });
    const as = await principalWith("small-reader", { fetchBytesPerS: 1_000 });
    const first = await as("GET", "/v1/topics/q/partitions/0/records?offset=0");
    expect(first.status).toBe(200);
    const second = await as("GET", "/v1/topics/q/partitions/0/records?offset=0");
    expect(second.status).toBe(429);
    expect(Number(second.headers.get("retry-after"))).toBeGreaterThanOrEqual(2);
  });

  it("a quota removed or raised applies within the cache bound", async () => {
    const as = await principalWith("raised", { requestsPerS: 1 });
    await as("GET", "/v1/topics/q");
    expect((await as("GET", "/v1/topics/q")).status).toBe(429);
    expect((await admin("DELETE", "/v1/quotas/raised")).status).toBe(204);
    await until(async () => (await as("GET", "/v1/topics/q")).status === 200, REVOCATION_BOUND_MS);
    expect((await as("GET", "/v1/topics/q")).status).toBe(200);
  });
});

describe("an open gateway (EDGELOG_AUTH=none, what npm start runs by default)", () => {
  const server = new LocalServer(tempStateDir());
  afterAll(() => server.stop("SIGKILL"));
  beforeAll(() => server.start());

  it("serves loopback Host names only: a DNS-rebinding page is refused", async () => {
    const port = new URL(server.url).port;
    // node:http, because fetch() does not let a caller set Host (a browser's page cannot either:
    // the rebinding name is what it sends).
    const get = (host: string) =>
      new Promise<{ status: number; body: any }>((resolve, reject) => {
        const req = request(`${server.url}/v1/topics`, { headers: { host } }, (res) => {
          let text = "";
          res.on("data", (chunk) => {
            text += chunk;
          });
          res.on("end", () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
        });
        req.on("error", reject);
        req.end();
      });
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `app.localhost:${port}`, `[::1]:${port}`])
      expect((await get(host)).status, host).toBe(200);
    for (const host of [
      `evil.example:${port}`,
      `127.0.0.1.nip.io:${port}`,
      "attacker.test",
      `localhost.evil.example:${port}`,
    ]) {
      const res = await get(host);
      expect(res.status, host).toBe(403);
      expect(res.body.error.code).toBe("HOST_NOT_ALLOWED");
    }
  });

  it("a POST without a JSON content type is refused, bodiless or not (no cross-site form can send one)", async () => {
    for (const type of [
      undefined,
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
    ]) {
      const res = await fetch(`${server.url}/v1/producers`, {
        method: "POST",
        headers: type === undefined ? {} : { "content-type": type },
      });
      expect(res.status, String(type)).toBe(400);
    }
    const json = await fetch(`${server.url}/v1/producers`, {
      method: "POST",
      headers: { "content-type": "application/json" },
    });
    expect(json.status).toBe(200);
  });

  it("no runtime debug routes: wrangler's local explorer is not served", async () => {
    for (const path of [
      "/cdn-cgi/explorer/api/durable-objects",
      "/cdn-cgi/explorer/",
      "/cdn-cgi/explorer/api",
    ]) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as any).error.code).toBe("NOT_FOUND"); // the gateway's own 404
    }
  });

  it("CORS (default *): preflight 204 with the allowed methods and headers; every answer, errors too, says the origin", async () => {
    const preflight = await fetch(`${server.url}/v1/topics/x/records`, {
      method: "OPTIONS",
      headers: {
        origin: "http://localhost:3000",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-allow-methods")).toContain("POST");
    expect(preflight.headers.get("access-control-allow-headers")).toBe("authorization,content-type");
    expect(Number(preflight.headers.get("access-control-max-age"))).toBeGreaterThan(0);
    const error = await fetch(`${server.url}/v1/topics/missing`, {
      headers: { origin: "http://localhost:3000" },
    });
    expect(error.status).toBe(404);
    expect(error.headers.get("access-control-allow-origin")).toBe("*");
    expect(error.headers.get("access-control-expose-headers")).toContain("retry-after");
  });
});

describe("a gateway configured for a list of origins", () => {
  const server = new LocalServer(tempStateDir(), {
    EDGELOG_AUTH: "required",
    EDGELOG_ADMIN_TOKEN: ADMIN,
    EDGELOG_CORS_ORIGINS: `${ALLOWED_ORIGIN}, http://127.0.0.1:4000`,
  });
  afterAll(() => server.stop("SIGKILL"));
  beforeAll(() => server.start());

  it("answers allowed origins (on 401s too) and never others", async () => {
    const preflight = (origin: string) =>
      fetch(`${server.url}/v1/topics`, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "GET",
          "access-control-request-headers": "authorization",
        },
      });
    expect((await preflight(ALLOWED_ORIGIN)).headers.get("access-control-allow-origin")).toBe(ALLOWED_ORIGIN);
    expect((await preflight("http://127.0.0.1:4000")).headers.get("access-control-allow-origin")).toBe(
      "http://127.0.0.1:4000",
    );
    expect((await preflight("http://evil.localhost")).headers.get("access-control-allow-origin")).toBeNull();
    const unauthenticated = await fetch(`${server.url}/v1/topics`, { headers: { origin: ALLOWED_ORIGIN } });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get("access-control-allow-origin")).toBe(ALLOWED_ORIGIN);
    expect(unauthenticated.headers.get("access-control-expose-headers")).toContain("www-authenticate");
    const other = await fetch(`${server.url}/v1/topics`, { headers: { origin: "http://evil.localhost" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("fail closed", () => {
  it("npm start with EDGELOG_AUTH=required and no admin secret: 401 on everything but /healthz, saying how to set it", async () => {
    const server = new LocalServer(tempStateDir(), { EDGELOG_AUTH: "required", EDGELOG_ADMIN_TOKEN: "" });
    try {
      await server.start();
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      const a = await client(server.url, "anything")("GET", "/v1/topics");
      expect(a.status).toBe(401);
      expect(a.body.error.message).toContain("EDGELOG_ADMIN_TOKEN");
    } finally {
      await server.stop("SIGKILL");
    }
  });

  it("the deploy bundle (wrangler deploy --dry-run, the deploy [vars], no secret): 401 on every route but /healthz", async () => {
    const mf = deployBundle();
    try {
      expect((await mf.dispatchFetch("http://edgelog.example.com/healthz")).status).toBe(200);
      for (const [method, path] of [
        ["GET", "/v1/topics"],
        ["POST", "/v1/topics"],
        ["GET", "/metrics"],
        ["POST", "/v1/principals/eve/keys"],
        ["GET", "/v1/ws"],
      ]) {
        const res = await mf.dispatchFetch(`http://edgelog.example.com${path}`, {
          method,
          headers: { authorization: "Bearer guess", "content-type": "application/json" },
          body: method === "POST" ? "{}" : undefined,
        });
        expect(res.status, `${method} ${path}`).toBe(401);
        const body = (await res.json()) as any;
        expect(body.error.message).toContain("wrangler secret put EDGELOG_ADMIN_TOKEN");
      }
      // No origin is allowed by default on a deploy.
      const res = await mf.dispatchFetch("http://edgelog.example.com/healthz", {
        headers: { origin: "https://app.example.com" },
      });
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
    } finally {
      await mf.dispose();
    }
  });
});
