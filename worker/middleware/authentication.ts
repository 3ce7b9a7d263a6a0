import type { MiddlewareHandler } from "hono";
import { authenticate, authMode, rightsOf, unauthenticated } from "../../durable-objects/authorizer";
import type { Env } from "../../durable-objects/env";
import type { Auth, GatewayEnv } from "../gateway-env";
import { chargeRequest } from "../quota";

const OPEN: Auth = { identity: null, rights: null };
/**
 * Open without a credential: liveness, and the documentation and console files (a browser
 * opening a page cannot send a bearer header; the pages hold no data and ask for a token
 * before they call the API).
 */
const OPEN_PATHS = /^\/(?:healthz|openapi\.json|docs\/?.*|console\/?.*)$/;
/** Longest credential accepted: a scoped token listing SCOPED_TOKEN_ACLS_MAX long names fits. */
const TOKEN_LENGTH_MAX = 16_384;

/**
 * The bearer token of a request: the authorization header, or `?access_token=` on a
 * WebSocket upgrade and an SSE tail (neither a browser's WebSocket nor its
 * EventSource can send headers).
 */
export function bearerToken(request: Request, url: URL): string | null {
  const header = request.headers.get("authorization");
  if (header !== null) {
    const match = /^Bearer +(\S+) *$/i.exec(header);
    if (!match) throw unauthenticated("the authorization header must be 'Bearer <token>'");
    return match[1]!;
  }
  if (url.pathname === "/v1/ws" || wantsEventStream(request)) return url.searchParams.get("access_token");
  return null;
}

/** A GET asking for Server-Sent Events (the fetch route's live tail). */
export function wantsEventStream(request: Request): boolean {
  return request.method === "GET" && /\btext\/event-stream\b/i.test(request.headers.get("accept") ?? "");
}

function requireAdminSecret(env: Env): void {
  if (!env.EDGELOG_ADMIN_TOKEN)
    throw unauthenticated(
      "this gateway requires credentials but has no admin secret: set one with `wrangler secret put EDGELOG_ADMIN_TOKEN` (locally: EDGELOG_ADMIN_TOKEN in the environment or .dev.vars)",
    );
}

/**
 * API.md "Security": with EDGELOG_AUTH=required every route but `GET /healthz` (and the pages, above)
 * needs a valid credential; the request's rights are set for the routes to check,
 * and its principal's requests/s quota is charged. With `none` everything is open.
 */
export function authentication(): MiddlewareHandler<GatewayEnv> {
  return async function authentication(c, next) {
    // An open gateway pays one comparison a request, nothing more.
    if (authMode(c.env) === "none" || (c.req.method === "GET" && OPEN_PATHS.test(c.req.path))) {
      c.set("auth", OPEN);
      return next();
    }
    requireAdminSecret(c.env);
    const token = bearerToken(c.req.raw, new URL(c.req.url));
    if (token === null || token === "")
      throw unauthenticated("a credential is required: send 'authorization: Bearer <token>'");
    if (token.length > TOKEN_LENGTH_MAX) throw unauthenticated("invalid or revoked credential");
    const identity = await authenticate(c.env, token);
    const rights = await rightsOf(c.env, identity);
    await chargeRequest(c.env, identity);
    c.set("auth", { identity, rights });
    return next();
  };
}
