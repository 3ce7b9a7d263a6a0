import { Hono } from "hono";
import { FAULTS_COMPILED } from "../durable-objects/faults";
import type { GatewayEnv } from "./gateway-env";
import { authentication } from "./middleware/authentication";
import { browserGuard } from "./middleware/browser-guard";
import { corsPolicy } from "./middleware/cors";
import { notFound, onError } from "./middleware/errors";
import { observe } from "./middleware/observe";
import { retryAfter } from "./middleware/retry-after";
import { alertRoutes } from "./routes/alerts";
import { eventRoutes } from "./routes/events";
import { faultRoutes } from "./routes/faults";
import { groupRoutes } from "./routes/groups";
import { operationRoutes } from "./routes/operations";
import { producerRoutes } from "./routes/producers";
import { recordRoutes } from "./routes/records";
import { referenceRoutes } from "./routes/reference";
import { securityRoutes } from "./routes/security";
import { streamRoutes } from "./routes/streams";
import { topicRoutes } from "./routes/topics";
import { transactionRoutes } from "./routes/transactions";
import { webSocketRoute } from "./routes/websocket";

/** Builds the gateway: every route of shared/API.md, one error envelope. */
export function createApp(): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  // Observed first: every answer is counted, timed and (when asked) logged.
  app.use(observe());
  // Then CORS, so every answer (refusals and errors too) carries its headers.
  app.use(corsPolicy());
  app.use(retryAfter());
  app.use(browserGuard());
  app.use(authentication());
  app.route("/v1/topics", topicRoutes);
  app.route("/v1/topics", recordRoutes);
  app.route("/v1/topics", eventRoutes);
  app.route("/v1/groups", groupRoutes);
  app.route("/v1/producers", producerRoutes);
  app.route("/v1/transactions", transactionRoutes);
  app.route("/v1/alerts", alertRoutes);
  app.route("/v1/stream", streamRoutes);
  app.route("/v1", securityRoutes);
  app.route("/v1/ws", webSocketRoute);
  app.route("/", operationRoutes);
  app.route("/", referenceRoutes);
  // Never in a deployed gateway: FAULTS_COMPILED is a build-time false there.
  if (FAULTS_COMPILED) app.route("/v1/_faults", faultRoutes);
  app.notFound(notFound);
  app.onError(onError);
  return app;
}
