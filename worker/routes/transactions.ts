import { type Context, Hono } from "hono";
import type { Operation } from "../../core/acl";
import { EdgelogError, unwrap } from "../../core/errors";
import { authorize } from "../../durable-objects/authorizer";
import { producerFor } from "../../durable-objects/stubs";
import { checkTransactionalId, parseEndTransaction, parseTransactionOffsets } from "../../schemas/producers";
import { NoQuery, readQuery } from "../../schemas/query";
import { readJsonBody } from "../body";
import { maxRequestBytes } from "../config";
import type { GatewayEnv } from "../gateway-env";

/**
 * Transactions (API.md "Transactions"): commit, abort, offsets sent to a
 * transaction, and its state, each at the coordinator — the producer object its
 * transactionalId names.
 */
export const transactionRoutes = new Hono<GatewayEnv>();

/** The transactionalId's producer object, once the caller may `op` it; `producerId` must be its id. */
function coordinator(c: Context<GatewayEnv>, op: Operation, producerId?: string) {
  const transactionalId = checkTransactionalId(c.req.param("transactionalId"), "transactionalId");
  authorize(c.get("auth").rights, "transactionalId", transactionalId, op);
  const stub = producerFor(c.env, transactionalId);
  if (producerId !== undefined && stub.id.toString() !== producerId)
    throw new EdgelogError(
      "INVALID_REQUEST",
      `body.producer.id is not the producer of transactionalId '${transactionalId}' (POST /v1/producers hands it out)`,
    );
  return stub;
}

for (const verb of ["commit", "abort"] as const)
  transactionRoutes.post(`/:transactionalId/${verb}`, async (c) => {
    readQuery(c.req.url, NoQuery);
    const { producer, sequence } = parseEndTransaction(await readJsonBody(c.req.raw, maxRequestBytes(c.env)));
    const stub = coordinator(c, "write", producer.id);
    return c.json(unwrap(await stub.endTransaction(producer.epoch, verb === "commit", sequence)));
  });

transactionRoutes.post("/:transactionalId/offsets", async (c) => {
  readQuery(c.req.url, NoQuery);
  const request = parseTransactionOffsets(await readJsonBody(c.req.raw, maxRequestBytes(c.env)));
  const stub = coordinator(c, "write", request.producer.id);
  // As a commit: read on the group and on each topic it names.
  const { rights } = c.get("auth");
  authorize(rights, "group", request.group, "read");
  for (const o of request.commit.offsets) authorize(rights, "topic", o.topic, "read");
  unwrap(await stub.sendOffsets(request.producer.epoch, request.group, request.commit));
  return c.json({ group: request.group, offsets: request.commit.offsets });
});

transactionRoutes.get("/:transactionalId", async (c) => {
  readQuery(c.req.url, NoQuery);
  const transaction = await coordinator(c, "describe").describeTransaction();
  if (transaction === null)
    throw new EdgelogError(
      "TRANSACTIONAL_ID_NOT_FOUND",
      `transactionalId '${c.req.param("transactionalId")}' has no producer: POST /v1/producers with it first`,
    );
  return c.json(transaction);
});
