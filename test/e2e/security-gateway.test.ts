import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, socket } from "./auth-client";
import { deployBundle } from "./deploy-bundle";
import { LocalServer, tempStateDir, until } from "./server";

/** API.md "Contract v2 → Security", end to end: quotas, the open gateway `npm start` runs, CORS origins, failing closed. */

const ADMIN = `security-admin-${Date.now()}`;
/** API.md: a revoked key stops working within 5 s everywhere. */
const REVOCATION_BOUND_MS = 5_000;
const ALLOWED_ORIGIN = "http://localhost:5173";

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
    // The API's own two, then the Durable Streams protocol's (if-none-match, stream-*, producer-*).
    const allowed = preflight.headers.get("access-control-allow-headers")!.split(",");
    expect(allowed.slice(0, 2)).toEqual(["authorization", "content-type"]);
    expect(allowed).toEqual(expect.arrayContaining(["if-none-match", "stream-closed", "producer-seq"]));
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
