import { describe, expect, it } from "vitest";
import {
  base64url,
  constantTimeEqual,
  newApiKey,
  parseApiKey,
  type ScopedTokenClaims,
  sha256Hex,
  signScopedToken,
  tokenSigningKey,
  verifyScopedToken,
} from "../../core/credentials";
import { QuotaBucket } from "../../core/quota";

const claims = (now: number): ScopedTokenClaims => ({
  principal: "alice",
  minter: "alice",
  minterKeyId: "0123456789abcdef",
  acls: [
    {
      resourceType: "topic",
      patternType: "literal",
      resourceName: "orders",
      operation: "read",
      permission: "allow",
    },
  ],
  issuedAtMs: now,
  expiresAtMs: now + 60_000,
});

const utf8 = new TextEncoder();

describe("API keys", () => {
  it("carry principal, key id and secret; storage gets only the secret's SHA-256", async () => {
    const key = await newApiKey("svc.orders@team-1");
    const parsed = parseApiKey(key.token)!;
    expect(parsed.principal).toBe("svc.orders@team-1");
    expect(parsed.keyId).toBe(key.keyId);
    expect(key.secretHash).toBe(await sha256Hex(parsed.secret));
    expect(key.token).not.toContain(key.secretHash);
    // Two keys never share a secret or an id.
    const other = await newApiKey("svc.orders@team-1");
    expect(other.keyId).not.toBe(key.keyId);
    expect(parseApiKey(other.token)!.secret).not.toBe(parsed.secret);
  });

  it("malformed tokens do not parse", async () => {
    const { token } = await newApiKey("alice");
    const [prefix, p, id, secret] = token.split(".");
    for (const bad of [
      "",
      "elk",
      `${prefix}.${p}.${id}`,
      `${prefix}.${p}.${id}.${secret}.extra`,
      `elx.${p}.${id}.${secret}`,
      `${prefix}.${p}.XYZ.${secret}`,
      `${prefix}.${p}.${id}.${secret!.slice(1)}`,
      `${prefix}.${p}!.${id}.${secret}`,
      `${prefix}.${base64url(new Uint8Array([0xff, 0xfe]))}.${id}.${secret}`, // not UTF-8
    ])
      expect(parseApiKey(bad)).toBeNull();
  });

  it("constant-time comparison still compares", () => {
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual("abc", "abd")).toBe(false);
    expect(constantTimeEqual("abc", "ab")).toBe(false);
  });
});

describe("scoped tokens (HMAC-SHA256, verified without storage)", () => {
  it("verify with the key that signed them, until they expire", async () => {
    const key = await tokenSigningKey("admin-secret");
    const now = 1_800_000_000_000;
    const token = await signScopedToken(claims(now), key);
    expect(await verifyScopedToken(token, key, now)).toEqual(claims(now));
    expect(await verifyScopedToken(token, key, now + 59_999)).toEqual(claims(now));
    expect(await verifyScopedToken(token, key, now + 60_000)).toBe("expired");
    expect(await verifyScopedToken(token, await tokenSigningKey("another-secret"), now)).toBe("invalid");
  });

  it("refuse tampering: payload, signature, prefix, an unsigned or 'none' token", async () => {
    const key = await tokenSigningKey("admin-secret");
    const now = 1_800_000_000_000;
    const token = await signScopedToken(claims(now), key);
    const [prefix, payload, signature] = token.split(".") as [string, string, string];
    const decoded = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
    const forged = (change: Record<string, unknown>) =>
      base64url(utf8.encode(JSON.stringify({ ...decoded, ...change })));
    const widened = forged({ a: [{ ...decoded.a[0], resourceName: "*" }] });
    const flipped = signature.slice(0, -2) + (signature.endsWith("A") ? "BA" : "AA");
    for (const bad of [
      `${prefix}.${widened}.${signature}`, // rights widened
      `${prefix}.${forged({ exp: now + 10 ** 9 })}.${signature}`, // life extended
      `${prefix}.${forged({ p: "admin" })}.${signature}`, // principal swapped
      `${prefix}.${payload}.${flipped}`,
      `${prefix}.${payload}.`, // no signature
      `${prefix}.${payload}`,
      `${prefix}.${forged({ alg: "none" })}.`,
      `els.${base64url(utf8.encode('{"alg":"none"}'))}.${signature}`,
      `elk.${payload}.${signature}`,
      `${token}.x`,
      `${prefix}.${payload}.${signature}!`,
    ])
      expect(await verifyScopedToken(bad, key, now)).toBe("invalid");
  });

  it("a signature over a payload of another version or shape is refused too", async () => {
    const key = await tokenSigningKey("admin-secret");
    const sign = async (payload: unknown) => {
      const signed = `els.${base64url(utf8.encode(JSON.stringify(payload)))}`;
      const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8.encode(signed)));
      return `${signed}.${base64url(sig)}`;
    };
    const good = { v: 1, p: "a", m: "a", k: "k", a: [], iat: 0, exp: 10 };
    expect(await verifyScopedToken(await sign(good), key, 1)).not.toBe("invalid");
    expect(await verifyScopedToken(await sign({ ...good, v: 2 }), key, 1)).toBe("invalid");
    expect(await verifyScopedToken(await sign({ ...good, a: "all" }), key, 1)).toBe("invalid");
    expect(await verifyScopedToken(await sign({ ...good, exp: "never" }), key, 1)).toBe("invalid");
    expect(await verifyScopedToken(await sign(null), key, 1)).toBe("invalid");
  });
});

describe("QuotaBucket (clock injected)", () => {
  it("takes while it holds enough, refuses without taking, refills at the rate", () => {
    let now = 0;
    const bucket = new QuotaBucket(100, () => now);
    expect(bucket.take(60)).toEqual({ ok: true });
    expect(bucket.take(60)).toEqual({ ok: false, retryAfterS: 1 });
    expect(bucket.take(40)).toEqual({ ok: true }); // the refusal took nothing
    now += 500; // 50 back
    expect(bucket.take(50)).toEqual({ ok: true });
    expect(bucket.take(1).ok).toBe(false);
  });

  it("a request above a second's worth passes on a full bucket and leaves it in debt", () => {
    let now = 0;
    const bucket = new QuotaBucket(100, () => now);
    expect(bucket.take(350)).toEqual({ ok: true });
    const refused = bucket.take(10);
    expect(refused).toEqual({ ok: false, retryAfterS: 3 }); // from -250 to 10: 2.6 s
    now += 2_600;
    expect(bucket.take(10)).toEqual({ ok: true });
  });

  it("fetch: charged after the read, refused while in debt", () => {
    let now = 0;
    const bucket = new QuotaBucket(1_000, () => now);
    expect(bucket.check()).toEqual({ ok: true });
    bucket.charge(5_000);
    expect(bucket.check()).toEqual({ ok: false, retryAfterS: 4 });
    now += 4_000;
    expect(bucket.check()).toEqual({ ok: true });
  });
});
