import type { AclRule } from "./acl";
import { SCOPED_TOKEN_ACLS_MAX } from "./limits";

/**
 * The two credential formats (API.md "Security"), with Web Crypto only, so the
 * same code runs in the gateway, in objects and in Node tests:
 *
 * - API key `elk.<principal, base64url>.<keyId>.<secret>`: the secret is 32 random
 *   bytes; storage keeps only its SHA-256 (a 256-bit random secret needs no slow
 *   hash: nothing to brute-force). The principal rides in the token so one cached
 *   lookup of that principal verifies it.
 * - Scoped token `els.<payload, base64url JSON>.<HMAC-SHA256, base64url>`: signed
 *   with a key derived from the admin secret, verified without storage. There is
 *   no algorithm field to trick ("alg: none"): one format, one algorithm.
 */

export const API_KEY_PREFIX = "elk";
export const SCOPED_TOKEN_PREFIX = "els";
const KEY_ID_BYTES = 8;
const SECRET_BYTES = 32;
/** Version of the scoped-token payload; a token of another version is refused. */
const SCOPED_TOKEN_VERSION = 1;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** Standard base64 (RFC 4648 §4, padded). */
export function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

export function base64url(bytes: Uint8Array): string {
  return base64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Decodes base64url; null when `text` is not base64url. */
export function fromBase64url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

export function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

export function hex(bytes: ArrayBuffer | Uint8Array): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function sha256Hex(text: string): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", utf8.encode(text)));
}

/** Compares two strings in time that depends only on their lengths (hex digests: equal lengths). */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export type NewApiKey = { keyId: string; token: string; secretHash: string };

/** A new API key for `principal`: the token to show once, and the hash to store. */
export async function newApiKey(principal: string): Promise<NewApiKey> {
  const keyId = hex(randomBytes(KEY_ID_BYTES));
  const secret = base64url(randomBytes(SECRET_BYTES));
  const token = `${API_KEY_PREFIX}.${base64url(utf8.encode(principal))}.${keyId}.${secret}`;
  return { keyId, token, secretHash: await sha256Hex(secret) };
}

export type ParsedApiKey = { principal: string; keyId: string; secret: string };

/** The parts of an API key, or null when `token` is not one. */
export function parseApiKey(token: string): ParsedApiKey | null {
  const parts = token.split(".");
  if (parts.length !== 4 || parts[0] !== API_KEY_PREFIX) return null;
  const [, principalPart, keyId, secret] = parts as [string, string, string, string];
  if (!/^[0-9a-f]{16}$/.test(keyId) || !/^[A-Za-z0-9_-]{43}$/.test(secret)) return null;
  const principalBytes = fromBase64url(principalPart);
  if (principalBytes === null) return null;
  try {
    return { principal: utf8Decoder.decode(principalBytes), keyId, secret };
  } catch {
    return null;
  }
}

/** What a scoped token says: who acts, who minted it (with which key), what it may do, until when. */
export type ScopedTokenClaims = {
  principal: string;
  minter: string;
  minterKeyId: string;
  acls: AclRule[];
  issuedAtMs: number;
  expiresAtMs: number;
};

type Payload = { v: number; p: string; m: string; k: string; a: AclRule[]; iat: number; exp: number };

/** The HMAC key scoped tokens are signed with, derived (HKDF) from the admin secret. */
export async function tokenSigningKey(adminSecret: string): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey("raw", utf8.encode(adminSecret), "HKDF", false, [
    "deriveKey",
  ]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: utf8.encode("edgelog"), info: utf8.encode("scoped-token-v1") },
    material,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign", "verify"],
  );
}

export async function signScopedToken(claims: ScopedTokenClaims, key: CryptoKey): Promise<string> {
  const payload: Payload = {
    v: SCOPED_TOKEN_VERSION,
    p: claims.principal,
    m: claims.minter,
    k: claims.minterKeyId,
    a: claims.acls,
    iat: claims.issuedAtMs,
    exp: claims.expiresAtMs,
  };
  const signed = `${SCOPED_TOKEN_PREFIX}.${base64url(utf8.encode(JSON.stringify(payload)))}`;
  const signature = await crypto.subtle.sign("HMAC", key, utf8.encode(signed));
  return `${signed}.${base64url(new Uint8Array(signature))}`;
}

/**
 * The claims of a scoped token whose signature is good and that has not expired;
 * otherwise why not (never which part was wrong beyond that: a client learns
 * "invalid" or "expired", nothing an attacker could probe with).
 */
export async function verifyScopedToken(
  token: string,
  key: CryptoKey,
  nowMs: number,
): Promise<ScopedTokenClaims | "invalid" | "expired"> {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[0] !== SCOPED_TOKEN_PREFIX) return "invalid";
  const signature = fromBase64url(parts[2]!);
  if (signature === null) return "invalid";
  const good = await crypto.subtle.verify("HMAC", key, signature, utf8.encode(`${parts[0]}.${parts[1]}`));
  if (!good) return "invalid";
  const claims = decodePayload(parts[1]!);
  if (claims === null) return "invalid";
  return claims.expiresAtMs <= nowMs ? "expired" : claims;
}

function decodePayload(text: string): ScopedTokenClaims | null {
  const bytes = fromBase64url(text);
  if (bytes === null) return null;
  let p: Payload;
  try {
    p = JSON.parse(utf8Decoder.decode(bytes));
  } catch {
    return null;
  }
  // Signed by this gateway, so well-formed; checked anyway (a key shared by mistake stays harmless).
  if (
    typeof p !== "object" ||
    p === null ||
    p.v !== SCOPED_TOKEN_VERSION ||
    typeof p.p !== "string" ||
    typeof p.m !== "string" ||
    typeof p.k !== "string" ||
    !Array.isArray(p.a) ||
    p.a.length > SCOPED_TOKEN_ACLS_MAX ||
    !Number.isSafeInteger(p.iat) ||
    !Number.isSafeInteger(p.exp)
  )
    return null;
  return { principal: p.p, minter: p.m, minterKeyId: p.k, acls: p.a, issuedAtMs: p.iat, expiresAtMs: p.exp };
}
