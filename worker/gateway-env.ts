import type { Rights } from "../core/acl";
import type { Identity } from "../durable-objects/authorizer";
import type { Env } from "../durable-objects/env";

/**
 * What a request is allowed (set by the authentication middleware): who it is
 * (null with EDGELOG_AUTH=none) and its rights (null: unrestricted).
 */
export type Auth = { identity: Identity | null; rights: Rights };

/** The gateway's Hono environment: the bindings, and the request's Auth. */
export type GatewayEnv = { Bindings: Env; Variables: { auth: Auth } };
