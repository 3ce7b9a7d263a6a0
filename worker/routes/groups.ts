import { Hono } from "hono";
import { mapConcurrent } from "../../core/concurrency";
import { unwrap } from "../../core/errors";
import {
  FAN_OUT_CONCURRENCY_MAX,
  FETCH_MAX_BYTES_DEFAULT,
  FETCH_MAX_BYTES_MAX,
  FETCH_MAX_RECORDS_DEFAULT,
  FETCH_MAX_RECORDS_MAX,
  FETCH_WAIT_MS_MAX,
} from "../../core/limits";
import { consumerGroup, type Env, topicRegistry } from "../../durable-objects/env";
import {
  checkGroupId,
  checkMemberId,
  parseCommit,
  parseEmpty,
  parseJoin,
  parseReset,
} from "../../schemas/groups";
import { queryInt, readQuery } from "../../schemas/query";
import { readJsonBody } from "../body";
import { maxRequestBytes } from "../config";
import { requestMetrics } from "../middleware/request-metrics";

/** Consumer groups (API.md "Consumer groups"): membership, poll, commits, offsets, administration. */
export const groupRoutes = new Hono<{ Bindings: Env }>();

/** The group's coordinator object, after checking the id. */
function coordinator(env: Env, group: string) {
  return consumerGroup(env, checkGroupId(group));
}

groupRoutes.get("/", async (c) => {
  readQuery(c.req.url, []);
  const names = await topicRegistry(c.env).listGroups();
  const summaries = await mapConcurrent(names, FAN_OUT_CONCURRENCY_MAX, (name) =>
    consumerGroup(c.env, name).summary(),
  );
  return c.json({ groups: summaries.filter((s) => s !== null) });
});

groupRoutes.get("/:group", async (c) => {
  readQuery(c.req.url, []);
  return c.json(unwrap(await coordinator(c.env, c.req.param("group")).describe()));
});

groupRoutes.delete("/:group", async (c) => {
  readQuery(c.req.url, []);
  const group = c.req.param("group");
  unwrap(await coordinator(c.env, group).deleteGroup(group));
  return c.body(null, 204);
});

groupRoutes.post("/:group/members", async (c) => {
  readQuery(c.req.url, []);
  const group = c.req.param("group");
  const stub = coordinator(c.env, group);
  const request = parseJoin(await readJsonBody(c.req.raw, maxRequestBytes(c.env)));
  return c.json(unwrap(await stub.join(group, request)), 201);
});

groupRoutes.post("/:group/members/:memberId/heartbeat", async (c) => {
  readQuery(c.req.url, []);
  const stub = coordinator(c.env, c.req.param("group"));
  const memberId = checkMemberId(c.req.param("memberId"));
  parseEmpty(await readJsonBody(c.req.raw, maxRequestBytes(c.env)));
  return c.json(unwrap(await stub.heartbeat(memberId)));
});

groupRoutes.get("/:group/members/:memberId/records", requestMetrics("fetch"), async (c) => {
  const query = readQuery(c.req.url, ["maxRecords", "maxBytes", "waitMs"]);
  const options = {
    maxRecords: queryInt(query, "maxRecords", 1, FETCH_MAX_RECORDS_MAX, FETCH_MAX_RECORDS_DEFAULT)!,
    maxBytes: queryInt(query, "maxBytes", 1, FETCH_MAX_BYTES_MAX, FETCH_MAX_BYTES_DEFAULT)!,
    waitMs: queryInt(query, "waitMs", 0, FETCH_WAIT_MS_MAX, 0)!,
  };
  const stub = coordinator(c.env, c.req.param("group"));
  const memberId = checkMemberId(c.req.param("memberId"));
  const body = unwrap(await stub.poll(memberId, options));
  return c.body(body, 200, { "content-type": "application/json" });
});

groupRoutes.delete("/:group/members/:memberId", async (c) => {
  readQuery(c.req.url, []);
  const stub = coordinator(c.env, c.req.param("group"));
  unwrap(await stub.leave(checkMemberId(c.req.param("memberId"))));
  return c.body(null, 204);
});

groupRoutes.post("/:group/offsets", async (c) => {
  readQuery(c.req.url, []);
  const stub = coordinator(c.env, c.req.param("group"));
  const request = parseCommit(await readJsonBody(c.req.raw, maxRequestBytes(c.env)));
  return c.json(unwrap(await stub.commit(request)));
});

groupRoutes.get("/:group/offsets", async (c) => {
  readQuery(c.req.url, []);
  return c.json(unwrap(await coordinator(c.env, c.req.param("group")).listOffsets()));
});

groupRoutes.post("/:group/offsets/reset", async (c) => {
  readQuery(c.req.url, []);
  const group = c.req.param("group");
  const stub = coordinator(c.env, group);
  const request = parseReset(await readJsonBody(c.req.raw, maxRequestBytes(c.env)));
  return c.json(unwrap(await stub.resetOffsets(group, request)));
});
