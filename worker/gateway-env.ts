import type { Rights } from "../core/acl";
import type { TraceContext } from "../core/trace-context";
import type { Identity } from "../durable-objects/authorizer";
import type { Env } from "../durable-objects/env";

/**
 * What a request is allowed (set by the authentication middleware): who it is
 * (null with EDGELOG_AUTH=none) and its rights (null: unrestricted).
 */
export type Auth = { identity: Identity | null; rights: Rights };

/**
 * The gateway's Hono environment: the bindings, and per request its Auth, its
 * W3C trace context (null without a valid traceparent), and for the metrics and
 * the log its error code and a produce's acks level.
 */
export type GatewayEnv = {
  Bindings: Env;
  Variables: { auth: Auth; trace: TraceContext | null; errorCode?: string; acks?: string };
};
