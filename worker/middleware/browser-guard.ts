import type { MiddlewareHandler } from "hono";
import { EdgelogError } from "../../core/errors";
import { authMode } from "../../durable-objects/authorizer";
import { JSON_TYPE } from "../body";
import type { GatewayEnv } from "../gateway-env";
import { STREAM_PREFIX } from "../routes/streams";
import { originAllowed } from "./cors";

/** CloudEvents' structured and batched media types (never sent without a preflight). */
const CLOUDEVENTS_TYPE = /^application\/cloudevents(-batch)?\+json\s*(;|$)/i;

/** Hostnames that reach only this machine: a page cannot make a browser send them to someone else. */
function isLoopback(hostname: string): boolean {
  return (
    hostname === "localhost" ||
    hostname.endsWith(".localhost") ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) ||
    hostname === "[::1]"
  );
}

/**
 * What keeps a browser page from using an open gateway behind the user's back
 * (issue 12, item 6). With EDGELOG_AUTH=none only loopback `Host` names are
 * served: a page on a DNS name that rebinds to 127.0.0.1 sends its own name and
 * is refused. A POST must say `content-type: application/json` (or carry a
 * credential): a cross-site form or a bodiless `fetch` can send neither without
 * a CORS preflight, so a page on another origin cannot slip one through. The
 * CloudEvents route also takes its own types and binary mode, whose `ce-*`
 * headers need a preflight just the same.
 */
export function browserGuard(): MiddlewareHandler<GatewayEnv> {
  return async function browserGuard(c, next) {
    if (authMode(c.env) === "none") {
      // The Host header when the runtime passes it on, else the URL's host (built from it).
      const host = c.req.header("host") ?? new URL(c.req.url).host;
      const hostname = host.replace(/:\d+$/, "").toLowerCase();
      if (!isLoopback(hostname))
        throw new EdgelogError(
          "HOST_NOT_ALLOWED",
          `with EDGELOG_AUTH=none only loopback hosts (localhost, 127.0.0.1, [::1]) are served, not '${host.slice(0, 100)}'`,
        );
    }
    if (c.req.method === "POST" && !c.req.header("authorization")) {
      const type = c.req.header("content-type");
      if (c.req.path.startsWith(STREAM_PREFIX)) {
        // Durable Streams append any content type, so a cross-site form could post one: a
        // browser always names the page's Origin on such a POST, and only allowed ones pass.
        const origin = c.req.header("origin");
        if (origin !== undefined && !originAllowed(c.env, origin))
          throw new EdgelogError(
            "ORIGIN_NOT_ALLOWED",
            `origin '${origin.slice(0, 100)}' is not in EDGELOG_CORS_ORIGINS; a page may append to a stream only from an allowed origin`,
          );
        return next();
      }
      const got = type === undefined ? "none" : `'${type.slice(0, 100)}'`;
      if (c.req.path.endsWith("/events")) {
        if (
          (type === undefined || !CLOUDEVENTS_TYPE.test(type)) &&
          c.req.header("ce-specversion") === undefined
        )
          throw new EdgelogError(
            "INVALID_REQUEST",
            `a CloudEvent needs ce-specversion (binary mode), or content-type application/cloudevents+json or application/cloudevents-batch+json (got ${got})`,
          );
      } else if (type === undefined || !JSON_TYPE.test(type))
        throw new EdgelogError(
          "INVALID_REQUEST",
          `a POST needs 'content-type: application/json', even with no body (got ${got})`,
        );
    }
    return next();
  };
}
