import { Hono } from "hono";
import { EdgelogError } from "../core/errors";
import type { Env } from "../durable-objects/env";
import { FAULTS_COMPILED } from "../durable-objects/faults";
import { notFound, onError } from "./middleware/errors";
import { retryAfter } from "./middleware/retry-after";
import { faultRoutes } from "./routes/faults";
import { groupRoutes } from "./routes/groups";
import { operationRoutes } from "./routes/operations";
import { producerRoutes } from "./routes/producers";
import { recordRoutes } from "./routes/records";
import { topicRoutes } from "./routes/topics";

/** Builds the gateway: every route of shared/API.md, one error envelope. */
export function createApp(): Hono<{ Bindings: Env }> {
  const app = new Hono<{ Bindings: Env }>();
  app.use(retryAfter());
  app.route("/v1/topics", topicRoutes);
  app.route("/v1/topics", recordRoutes);
  app.route("/v1/groups", groupRoutes);
  app.route("/v1/producers", producerRoutes);
  app.get("/v1/ws", (c) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket")
      throw new EdgelogError("INVALID_REQUEST", "GET /v1/ws needs a WebSocket upgrade (Upgrade: websocket)");
    // One session object per socket: it accepts the socket with the Hibernation API.
    return c.env.WS_SESSION.get(c.env.WS_SESSION.newUniqueId()).fetch(c.req.raw);
  });
  app.route("/", operationRoutes);
  // Never in a deployed gateway: FAULTS_COMPILED is a build-time false there.
  if (FAULTS_COMPILED) app.route("/v1/_faults", faultRoutes);
  app.notFound(notFound);
  app.onError(onError);
  return app;
}
