import { Hono } from "hono";
import type { Env } from "../../durable-objects/env";
import { parseInitProducer } from "../../schemas/producers";
import { readQuery } from "../../schemas/query";
import { readJsonBody } from "../body";
import { maxRequestBytes } from "../config";

/** Idempotent producers (API.md "Produce"): hands out producer ids and epochs. */
export const producerRoutes = new Hono<{ Bindings: Env }>();

producerRoutes.post("/", async (c) => {
  readQuery(c.req.url, []);
  const { transactionalId } = parseInitProducer(await readJsonBody(c.req.raw, maxRequestBytes(c.env)));
  const ns = c.env.PRODUCER;
  // A transactionalId names its producer object: the same id again, with the epoch bumped.
  const id = transactionalId === null ? ns.newUniqueId() : ns.idFromName(`transactional/${transactionalId}`);
  return c.json(await ns.get(id).init());
});
