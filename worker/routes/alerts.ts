import { Hono } from "hono";
import { CLUSTER_RESOURCE } from "../../core/acl";
import { unwrap } from "../../core/errors";
import { authorize } from "../../durable-objects/authorizer";
import { alertManager } from "../../durable-objects/stubs";
import { checkAlertName, parseAlertRule } from "../../schemas/alerts";
import { NoQuery, readQuery } from "../../schemas/query";
import { readJsonBody } from "../body";
import { maxRequestBytes } from "../config";
import type { GatewayEnv } from "../gateway-env";

/**
 * Alert rules (API.md "Alerts"): cluster-wide, so changing them needs `alter` on
 * the cluster and reading them `describe` (as the security routes).
 */
export const alertRoutes = new Hono<GatewayEnv>();

alertRoutes.put("/:name", async (c) => {
  readQuery(c.req.url, NoQuery);
  authorize(c.get("auth").rights, "cluster", CLUSTER_RESOURCE, "alter");
  const name = checkAlertName(c.req.param("name"));
  const rule = parseAlertRule(await readJsonBody(c.req.raw, maxRequestBytes(c.env)));
  return c.json(unwrap(await alertManager(c.env).put(name, rule)));
});

alertRoutes.get("/", async (c) => {
  readQuery(c.req.url, NoQuery);
  authorize(c.get("auth").rights, "cluster", CLUSTER_RESOURCE, "describe");
  return c.json({ alerts: await alertManager(c.env).list() });
});

alertRoutes.get("/:name", async (c) => {
  readQuery(c.req.url, NoQuery);
  authorize(c.get("auth").rights, "cluster", CLUSTER_RESOURCE, "describe");
  return c.json(unwrap(await alertManager(c.env).get(checkAlertName(c.req.param("name")))));
});

alertRoutes.delete("/:name", async (c) => {
  readQuery(c.req.url, NoQuery);
  authorize(c.get("auth").rights, "cluster", CLUSTER_RESOURCE, "alter");
  unwrap(await alertManager(c.env).remove(checkAlertName(c.req.param("name"))));
  return c.body(null, 204);
});
