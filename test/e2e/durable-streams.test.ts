import { afterAll, describe, expect, it } from "vitest";
import { client, topicRule } from "./auth-client";
import { LocalServer, tempStateDir } from "./server";

/**
 * Durable Streams (/v1/stream/*) against the server `npm start` runs, beyond the protocol's
 * conformance suite: what a kill -9 keeps, the browser guard on an open gateway, and the
 * topic ACLs that authorize streams on a secured one.
 */

const producer = (seq: number) => ({
  "producer-id": "p",
  "producer-epoch": "0",
  "producer-seq": String(seq),
});

describe("Durable Streams on the real server", () => {
  // npm start allows every origin (`*`); this gateway names the one page it serves.
  const open = new LocalServer(tempStateDir(), { EDGELOG_CORS_ORIGINS: "http://localhost:5173" });
  const secured = new LocalServer(tempStateDir(), {
    EDGELOG_AUTH: "required",
    EDGELOG_ADMIN_TOKEN: "ds-admin-secret",
  });
  afterAll(async () => {
    await open.stop("SIGKILL");
    await secured.stop("SIGKILL");
  });

  it("after kill -9, every acknowledged append is there and a producer's repeat is still a duplicate", async () => {
    await open.start();
    const url = `${open.url}/v1/stream/orders/eu`;
    expect(
      (await fetch(url, { method: "PUT", headers: { "content-type": "application/json" } })).status,
    ).toBe(201);
    const acked: number[] = [];
    for (let seq = 0; seq < 50; seq++) {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...producer(seq) },
        body: JSON.stringify([{ seq }, { seq, twice: true }]),
      });
      expect(res.status).toBe(200);
      acked.push(seq);
    }
    await open.stop("SIGKILL");
    await open.start();
    const repeat = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...producer(49) },
      body: JSON.stringify([{ seq: 49 }]),
    });
    expect(repeat.status).toBe(204);
    const read = await fetch(`${url}?offset=-1`);
    const values = (await read.json()) as { seq: number }[];
    expect(values.filter((v) => !("twice" in v)).map((v) => v.seq)).toEqual(acked);
    expect(values).toHaveLength(100);
    expect(read.headers.get("stream-up-to-date")).toBe("true");
  });

  it("an open gateway refuses a stream POST from a page origin it does not allow, and appends nothing", async () => {
    const url = `${open.url}/v1/stream/guarded`;
    await fetch(url, { method: "PUT", headers: { "content-type": "text/plain" } });
    const refused = await fetch(url, {
      method: "POST",
      headers: { "content-type": "text/plain", origin: "https://evil.example" },
      body: "forged",
    });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as any).error.code).toBe("ORIGIN_NOT_ALLOWED");
    expect(
      (await fetch(url, { method: "POST", headers: { "content-type": "text/plain" }, body: "ok" })).status,
    ).toBe(204);
    expect(await (await fetch(`${url}?offset=-1`)).text()).toBe("ok");
  });

  it("a secured gateway authorizes streams with the topic ACLs of their names", async () => {
    await secured.start();
    const admin = client(secured.url, "ds-admin-secret");
    const minted = await admin("POST", "/v1/tokens", {
      principal: "reader",
      acls: [topicRule("feeds/", "read", "prefixed"), topicRule("feeds/", "describe", "prefixed")],
      expiresInS: 600,
    });
    expect(minted.status).toBe(201);
    const as = (token: string | null) => (method: string, path: string, body?: string) =>
      fetch(`${secured.url}${path}`, {
        method,
        headers: { "content-type": "text/plain", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body,
      });
    const admins = as("ds-admin-secret");
    const reader = as(minted.body.token);
    expect((await as(null)("PUT", "/v1/stream/feeds/a")).status).toBe(401);
    expect((await admins("PUT", "/v1/stream/feeds/a", "one")).status).toBe(201);
    expect((await reader("POST", "/v1/stream/feeds/a", "two")).status).toBe(403);
    expect((await reader("PUT", "/v1/stream/feeds/b")).status).toBe(403);
    expect((await reader("DELETE", "/v1/stream/feeds/a")).status).toBe(403);
    expect((await reader("GET", "/v1/stream/other")).status).toBe(403);
    const read = await reader("GET", "/v1/stream/feeds/a?offset=-1");
    expect(read.status).toBe(200);
    expect(await read.text()).toBe("one");
    expect((await reader("HEAD", "/v1/stream/feeds/a")).headers.get("stream-next-offset")).toBe(
      "0000000000000000_0000000000000003",
    );
  });

  it("appends count against the principal's produce bytes/s: a refused one appends nothing", async () => {
    const admin = client(secured.url, "ds-admin-secret");
    expect((await admin("PUT", "/v1/quotas/streamer", { produceBytesPerS: 1_000 })).status).toBe(200);
    const minted = await admin("POST", "/v1/tokens", {
      principal: "streamer",
      acls: [topicRule("feeds/q", "write"), topicRule("feeds/q", "read")],
      expiresInS: 600,
    });
    const headers = { "content-type": "text/plain", authorization: `Bearer ${minted.body.token}` };
    const url = `${secured.url}/v1/stream/feeds/q`;
    await fetch(url, {
      method: "PUT",
      headers: { "content-type": "text/plain", authorization: "Bearer ds-admin-secret" },
    });
    // A second's worth is 1,000 bytes; each body 900: of four at once, one or two pass.
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => fetch(url, { method: "POST", headers, body: "x".repeat(900) })),
    );
    const accepted = answers.filter((a) => a.status === 204).length;
    const refused = answers.filter((a) => a.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(2);
    expect(Number(refused[0]!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const stored = await fetch(`${url}?offset=-1`, { headers });
    expect((await stored.text()).length).toBe(accepted * 900);
  });
});
