import { Hono } from "hono";
import { EdgelogError } from "../../core/errors";
import { newWsSession } from "../../durable-objects/stubs";
import { IDENTITY_HEADER } from "../../durable-objects/ws-session";
import { readQuery, WebSocketQuery } from "../../schemas/query";
import type { GatewayEnv } from "../gateway-env";
import { originAllowed } from "../middleware/cors";

/** `GET /v1/ws` (API.md "WebSocket"): the upgrade, handed to a new WsSession. */
export const webSocketRoute = new Hono<GatewayEnv>();

webSocketRoute.get("/", (c) => {
  readQuery(c.req.url, WebSocketQuery);
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket")
    throw new EdgelogError("INVALID_REQUEST", "GET /v1/ws needs a WebSocket upgrade (Upgrade: websocket)");
  // Browsers send Origin on every upgrade and CORS does not apply to WebSockets: check it here.
  const origin = c.req.header("origin");
  if (origin !== undefined && !originAllowed(c.env, origin))
    throw new EdgelogError(
      "ORIGIN_NOT_ALLOWED",
      `origin '${origin.slice(0, 200)}' is not in EDGELOG_CORS_ORIGINS`,
    );
  // The session checks every frame as the identity the upgrade proved (never one the client claims).
  const headers = new Headers(c.req.raw.headers);
  headers.delete(IDENTITY_HEADER);
  const identity = c.get("auth").identity;
  if (identity !== null) headers.set(IDENTITY_HEADER, JSON.stringify(identity));
  // One session object per socket: it accepts the socket with the Hibernation API.
  const session = newWsSession(c.env);
  return session.fetch(new Request(c.req.raw, { headers }));
});
