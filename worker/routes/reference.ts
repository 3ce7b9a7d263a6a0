import { type Context, Hono } from "hono";
import { EdgelogError } from "../../core/errors";
import { authMode } from "../../durable-objects/authorizer";
import { openApiDocument } from "../../schemas/openapi-document";
import { NoQuery, readQuery } from "../../schemas/query";
import type { GatewayEnv } from "../gateway-env";

/**
 * What people read and look at (API.md "Operations additions"): the OpenAPI document,
 * the reference page rendered from it (/docs) and the web console (/console/). The
 * pages' files are Workers static assets (wrangler.toml [assets], built by
 * scripts/build-assets.mjs); every one of them comes from this gateway, so they work
 * offline, and their CSP lets them reach nothing else.
 */
export const referenceRoutes = new Hono<GatewayEnv>();

/** The pages fetch from this gateway only; Swagger UI and the charts set inline styles. */
const PAGE_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

referenceRoutes.get("/openapi.json", (c) => {
  readQuery(c.req.url, NoQuery);
  return c.body(openApiDocument(), 200, { "content-type": "application/json" });
});

for (const page of ["/docs", "/console"]) referenceRoutes.get(page, (c) => c.redirect(`${page}/`, 308));

async function asset(c: Context<GatewayEnv>): Promise<Response> {
  if (c.env.ASSETS === undefined)
    throw new EdgelogError("NOT_FOUND", "this gateway was built without its static assets (npm run build)");
  const url = new URL(c.req.url);
  // Only what the asset server needs: the path and a revalidation's ETag.
  const conditional = c.req.header("if-none-match");
  const answer = await c.env.ASSETS.fetch(`${url.origin}${url.pathname}`, {
    headers: conditional === undefined ? {} : { "if-none-match": conditional },
  });
  if (answer.status === 404)
    throw new EdgelogError("NOT_FOUND", `no page or file at ${url.pathname.slice(0, 200)}`);
  const headers = new Headers(answer.headers);
  // The CORS middleware decides who may read answers cross-origin, assets included.
  headers.delete("access-control-allow-origin");
  headers.set("content-security-policy", PAGE_POLICY);
  headers.set("x-content-type-options", "nosniff");
  headers.set("referrer-policy", "no-referrer");
  return new Response(answer.body, { status: answer.status, headers });
}

/** What the console must know before it calls the API: whether it needs a token first. */
referenceRoutes.get("/console/config.json", (c) => {
  readQuery(c.req.url, NoQuery);
  return c.json({ auth: authMode(c.env) });
});

referenceRoutes.get("/docs/*", asset);
referenceRoutes.get("/console/*", asset);
