import { Hono } from "hono";
import { allowsAny } from "../../core/acl";
import { EdgelogError, unwrap } from "../../core/errors";
import { authorize } from "../../durable-objects/authorizer";
import { producerFor } from "../../durable-objects/stubs";
import { parseInitProducer } from "../../schemas/producers";
import { NoQuery, readQuery } from "../../schemas/query";
import { readJsonBody } from "../body";
import { maxRequestBytes } from "../config";
import type { GatewayEnv } from "../gateway-env";

/** Idempotent producers (API.md "Produce"): hands out producer ids and epochs. */
export const producerRoutes = new Hono<GatewayEnv>();

producerRoutes.post("/", async (c) => {
  readQuery(c.req.url, NoQuery);
  const { transactionalId, transactionTimeoutMs } = parseInitProducer(
    await readJsonBody(c.req.raw, maxRequestBytes(c.env)),
  );
  // API.md: write on the transactionalId, or (without one) write on some topic.
  const { rights } = c.get("auth");
  if (transactionalId !== null) authorize(rights, "transactionalId", transactionalId, "write");
  else if (!allowsAny(rights, "topic", "write"))
    throw new EdgelogError("TOPIC_AUTHORIZATION_FAILED", "an idempotent producer needs write on some topic");
  // A transactionalId names its producer object: the same id again, with the epoch bumped.
  const stub = producerFor(c.env, transactionalId);
  const transactional =
    transactionalId === null ? undefined : { transactionalId, timeoutMs: transactionTimeoutMs };
  return c.json(unwrap(await stub.init(transactional)));
});
