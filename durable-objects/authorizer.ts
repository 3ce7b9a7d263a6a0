import {
  type AclRule,
  allows,
  type Operation,
  type ResourceType,
  type Rights,
  refusalCode,
} from "../core/acl";
import {
  API_KEY_PREFIX,
  constantTimeEqual,
  parseApiKey,
  SCOPED_TOKEN_PREFIX,
  sha256Hex,
  tokenSigningKey,
  verifyScopedToken,
} from "../core/credentials";
import { EdgelogError } from "../core/errors";
import { CREDENTIAL_CACHE_ENTRIES_MAX, SECURITY_CACHE_MS, SECURITY_REFRESH_MS } from "../core/limits";
import type { Env } from "./env";
import type { PrincipalView } from "./security-store";
import { securityStore } from "./stubs";

/**
 * Who a request acts as, and what it may do (API.md "Security"). Used by the
 * gateway for every HTTP route and by WsSession for every frame. Everything read
 * from the SecurityStore is cached per isolate for SECURITY_CACHE_MS, so a
 * revoked key or a removed ACL stops working within 5 s, and the produce path
 * pays a map lookup, not a round trip.
 */

/** The principal EDGELOG_ADMIN_TOKEN authenticates: it may do everything. */
export const ADMIN_PRINCIPAL = "admin";

export type AuthMode = "none" | "required";

/**
 * A verified credential. `keyId` is the API key it is (or, for a scoped token,
 * the key of whoever minted it: revoking that key revokes the token too).
 */
export type Identity = {
  principal: string;
  keyId: string;
  /** Scoped tokens: the principal whose rights bound the token's. */
  minter: string | null;
  /** Scoped tokens: the ACLs the token lists. */
  scope: AclRule[] | null;
  expiresAtMs: number | null;
};

const ADMIN: Identity = {
  principal: ADMIN_PRINCIPAL,
  keyId: ADMIN_PRINCIPAL,
  minter: null,
  scope: null,
  expiresAtMs: null,
};

let modeWarned = false;

/** EDGELOG_AUTH: `none` only when it says so; unset or misspelled means `required` (fail closed). */
export function authMode(env: Env): AuthMode {
  const mode = env.EDGELOG_AUTH;
  if (mode === "none") return "none";
  if (mode !== "required" && mode !== undefined && !modeWarned) {
    modeWarned = true;
    console.error(`EDGELOG_AUTH='${mode}' is neither 'none' nor 'required'; requiring credentials`);
  }
  return "required";
}

export function unauthenticated(message: string): EdgelogError {
  return new EdgelogError("UNAUTHENTICATED", message);
}

// ---- principal views, cached ----

const views = new Map<string, { atMs: number; view: Promise<PrincipalView> }>();

/**
 * What the SecurityStore says about `principal`, at most SECURITY_CACHE_MS old
 * (`maxAgeMs` asks for fresher: a key this isolate has not seen yet).
 */
export function principalView(
  env: Env,
  principal: string,
  nowMs = Date.now(),
  maxAgeMs = SECURITY_CACHE_MS,
): Promise<PrincipalView> {
  const cached = views.get(principal);
  if (cached && nowMs - cached.atMs < maxAgeMs) return cached.view;
  const view = securityStore(env).principalView(principal);
  // One lookup in flight per principal; a failed one is not kept.
  views.set(principal, { atMs: nowMs, view });
  view.catch(() => views.delete(principal));
  if (views.size > CREDENTIAL_CACHE_ENTRIES_MAX) views.delete(views.keys().next().value!);
  return view;
}

/** Forgets what this isolate cached about `principal` (after this isolate changed it). */
export function forgetPrincipal(principal: string): void {
  views.delete(principal);
}

// ---- credentials ----

/** Tokens this isolate verified (their signature or hash); revocation and expiry are checked on every use. */
const verified = new Map<string, Identity>();
let signingKey: { secret: string; key: Promise<CryptoKey> } | null = null;
let adminDigest: { secret: string; digest: Promise<string> } | null = null;

export function scopedTokenKey(env: Env): Promise<CryptoKey> | null {
  const secret = env.EDGELOG_ADMIN_TOKEN;
  if (!secret) return null;
  if (signingKey?.secret !== secret) signingKey = { secret, key: tokenSigningKey(secret) };
  return signingKey.key;
}

async function isAdminSecret(env: Env, token: string): Promise<boolean> {
  const secret = env.EDGELOG_ADMIN_TOKEN;
  if (!secret) return false;
  if (adminDigest?.secret !== secret) adminDigest = { secret, digest: sha256Hex(secret) };
  // Digests of equal length, compared in constant time: the secret's length and content do not leak.
  return constantTimeEqual(await sha256Hex(token), await adminDigest.digest);
}

/** The identity a bearer token proves; throws 401 UNAUTHENTICATED for anything else. */
export async function authenticate(env: Env, token: string, nowMs = Date.now()): Promise<Identity> {
  const known = verified.get(token);
  if (known) return known;
  const identity = await verify(env, token, nowMs);
  verified.set(token, identity);
  if (verified.size > CREDENTIAL_CACHE_ENTRIES_MAX) verified.delete(verified.keys().next().value!);
  return identity;
}

const INVALID = "invalid or revoked credential";

async function verify(env: Env, token: string, nowMs: number): Promise<Identity> {
  if (token.startsWith(`${API_KEY_PREFIX}.`)) {
    const key = parseApiKey(token);
    if (key === null) throw unauthenticated(INVALID);
    let view = await principalView(env, key.principal, nowMs);
    // A key created since this isolate looked: look again, at most once per SECURITY_REFRESH_MS
    // (so a flood of made-up key ids costs the SecurityStore nothing more).
    if (!view.keys.some((k) => k.keyId === key.keyId))
      view = await principalView(env, key.principal, nowMs, SECURITY_REFRESH_MS);
    const stored = view.keys.find((k) => k.keyId === key.keyId);
    if (!stored || !constantTimeEqual(await sha256Hex(key.secret), stored.secretHash))
      throw unauthenticated(INVALID);
    return { principal: key.principal, keyId: key.keyId, minter: null, scope: null, expiresAtMs: null };
  }
  if (token.startsWith(`${SCOPED_TOKEN_PREFIX}.`)) {
    const signing = scopedTokenKey(env);
    if (signing === null) throw unauthenticated(INVALID);
    const claims = await verifyScopedToken(token, await signing, nowMs);
    if (claims === "expired") throw unauthenticated("credential expired");
    if (claims === "invalid") throw unauthenticated(INVALID);
    return {
      principal: claims.principal,
      keyId: claims.minterKeyId,
      minter: claims.minter,
      scope: claims.acls,
      expiresAtMs: claims.expiresAtMs,
    };
  }
  if (await isAdminSecret(env, token)) return ADMIN;
  throw unauthenticated(INVALID);
}

/** Throws 401 unless `principal` still holds key `keyId` (or is the admin, whose key is the secret). */
async function keyStillValid(
  env: Env,
  principal: string,
  keyId: string,
  nowMs: number,
): Promise<PrincipalView | null> {
  if (principal === ADMIN_PRINCIPAL && keyId === ADMIN_PRINCIPAL) return null;
  const view = await principalView(env, principal, nowMs);
  if (!view.keys.some((k) => k.keyId === keyId)) throw unauthenticated(INVALID);
  return view;
}

/**
 * What `identity` may do now: an API key, its principal's ACLs; a scoped token,
 * its own list ∩ its minter's ACLs. Throws 401 when the key (or the minter's
 * key) was revoked, or the token expired.
 */
export async function rightsOf(env: Env, identity: Identity, nowMs = Date.now()): Promise<Rights> {
  if (identity.expiresAtMs !== null && identity.expiresAtMs <= nowMs)
    throw unauthenticated("credential expired");
  if (identity.scope === null) {
    const view = await keyStillValid(env, identity.principal, identity.keyId, nowMs);
    return view === null ? null : { sets: [view.acls] };
  }
  const minter = await keyStillValid(env, identity.minter!, identity.keyId, nowMs);
  return { sets: minter === null ? [identity.scope] : [identity.scope, minter.acls] };
}

/** Throws the resource type's 403 unless `rights` allow `op` on it. */
export function authorize(rights: Rights, type: ResourceType, name: string, op: Operation): void {
  if (allows(rights, type, name, op)) return;
  throw new EdgelogError(refusalCode(type), `not authorized to ${op} ${type} '${name}'`);
}
