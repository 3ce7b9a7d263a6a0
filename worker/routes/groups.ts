import { type Context, Hono } from "hono";
import { allows, type Operation } from "../../core/acl";
import { mapConcurrent } from "../../core/concurrency";
import { unwrap } from "../../core/errors";
import { FAN_OUT_CONCURRENCY_MAX } from "../../core/limits";
import { authorize } from "../../durable-objects/authorizer";
import { consumerGroup, topicRegistry } from "../../durable-objects/stubs";
import {
  checkGroupId,
  checkMemberId,
  parseCommit,
  parseEmpty,
  parseJoin,
  parseReset,
} from "../../schemas/groups";
import { limitsOf, NoQuery, PollQuery, readQuery } from "../../schemas/query";
import { readJsonBody } from "../body";
import { inFormat } from "../cloudevents-format";
import { maxRequestBytes } from "../config";
import type { GatewayEnv } from "../gateway-env";
import { startFetch } from "../quota";

/**
 * Consumer groups (API.md "Consumer groups"): membership, poll, commits, offsets,
 * administration. API.md "Security": members need `read` on the group (and on
 * each topic they read), describing needs `describe`, reset and delete `delete`.
 */
export const groupRoutes = new Hono<GatewayEnv>();

/** The group's coordinator object, after checking the id and that the request may do `op` on the group. */
function coordinator(c: Context<GatewayEnv>, op: Operation) {
  const group = checkGroupId(c.req.param("group")!);
  authorize(c.get("auth").rights, "group", group, op);
  return consumerGroup(c.env, group);
}

groupRoutes.get("/", async (c) => {
  readQuery(c.req.url, NoQuery);
  const { rights } = c.get("auth");
  const names = (await topicRegistry(c.env).listGroups()).filter((g) =>
    allows(rights, "group", g, "describe"),
  );
  const summaries = await mapConcurrent(names, FAN_OUT_CONCURRENCY_MAX, (name) =>
    consumerGroup(c.env, name).summary(),
  );
  return c.json({ groups: summaries.filter((s) => s !== null) });
});

groupRoutes.get("/:group", async (c) => {
  readQuery(c.req.url, NoQuery);
  return c.json(unwrap(await coordinator(c, "describe").describe()));
});

groupRoutes.delete("/:group", async (c) => {
  readQuery(c.req.url, NoQuery);
  unwrap(await coordinator(c, "delete").deleteGroup(c.req.param("group")));
  return c.body(null, 204);
});

groupRoutes.post("/:group/members", async (c) => {
  readQuery(c.req.url, NoQuery);
  const stub = coordinator(c, "read");
  const request = parseJoin(await readJsonBody(c.req.raw, maxRequestBytes(c.env)));
  for (const topic of request.topics) authorize(c.get("auth").rights, "topic", topic, "read");
  return c.json(unwrap(await stub.join(c.req.param("group"), request)), 201);
});

groupRoutes.post("/:group/members/:memberId/heartbeat", async (c) => {
  readQuery(c.req.url, NoQuery);
  const stub = coordinator(c, "read");
  const memberId = checkMemberId(c.req.param("memberId"));
  parseEmpty(await readJsonBody(c.req.raw, maxRequestBytes(c.env)));
  return c.json(unwrap(await stub.heartbeat(memberId)));
});

groupRoutes.get("/:group/members/:memberId/records", async (c) => {
  const query = readQuery(c.req.url, PollQuery);
  const options = limitsOf(query);
  const format = query.format ?? "json";
  const stub = coordinator(c, "read");
  const memberId = checkMemberId(c.req.param("memberId"));
  const auth = c.get("auth");
  const started = startFetch(c.env, auth);
  const charge = typeof started === "function" ? started : await started;
  // The group checks the member's topics against these rights on every poll.
  const body = unwrap(await stub.poll(memberId, options, auth.rights));
  charge(body.length);
  return c.body(inFormat(body, format), 200, { "content-type": "application/json" });
});

groupRoutes.delete("/:group/members/:memberId", async (c) => {
  readQuery(c.req.url, NoQuery);
  const stub = coordinator(c, "read");
  unwrap(await stub.leave(checkMemberId(c.req.param("memberId"))));
  return c.body(null, 204);
});

groupRoutes.post("/:group/offsets", async (c) => {
  readQuery(c.req.url, NoQuery);
  const stub = coordinator(c, "read");
  const request = parseCommit(await readJsonBody(c.req.raw, maxRequestBytes(c.env)));
  for (const o of request.offsets) authorize(c.get("auth").rights, "topic", o.topic, "read");
  return c.json(unwrap(await stub.commit(request)));
});

groupRoutes.get("/:group/offsets", async (c) => {
  readQuery(c.req.url, NoQuery);
  const { rights } = c.get("auth");
  const listed = unwrap(await coordinator(c, "describe").listOffsets());
  // As Kafka's OffsetFetch: only the topics the principal may describe.
  return c.json({ offsets: listed.offsets.filter((o) => allows(rights, "topic", o.topic, "describe")) });
});

groupRoutes.post("/:group/offsets/reset", async (c) => {
  readQuery(c.req.url, NoQuery);
  const stub = coordinator(c, "delete");
  const request = parseReset(await readJsonBody(c.req.raw, maxRequestBytes(c.env)));
  return c.json(unwrap(await stub.resetOffsets(c.req.param("group"), request)));
});
