import { Hono } from "hono";
import { allows, CLUSTER_RESOURCE } from "../../core/acl";
import { unwrap } from "../../core/errors";
import { authorize } from "../../durable-objects/authorizer";
import { topicRegistry } from "../../durable-objects/stubs";
import { NoQuery, readQuery } from "../../schemas/query";
import { parseAlterConfigs, parseCreateTopic } from "../../schemas/topic";
import { readJsonBody } from "../body";
import { maxRequestBytes } from "../config";
import { describeTopic } from "../describe";
import type { GatewayEnv } from "../gateway-env";
import { checkTopicName, forgetTopic, getTopic } from "../topic-cache";

/** Topic administration: create, list, describe, alter configs, delete (API.md "Topics"). */
export const topicRoutes = new Hono<GatewayEnv>();

topicRoutes.post("/", async (c) => {
  readQuery(c.req.url, NoQuery);
  const request = parseCreateTopic(await readJsonBody(c.req.raw, maxRequestBytes(c.env)));
  // API.md: create on the topic's name, or on the cluster.
  const { rights } = c.get("auth");
  if (!allows(rights, "cluster", CLUSTER_RESOURCE, "create"))
    authorize(rights, "topic", request.name, "create");
  const topic = unwrap(await topicRegistry(c.env).createTopic(request));
  forgetTopic(topic.name);
  return c.json(await describeTopic(c.env, topic), 201);
});

topicRoutes.get("/", async (c) => {
  readQuery(c.req.url, NoQuery);
  const { rights } = c.get("auth");
  // Only the topics the principal may describe: the others' existence does not leak.
  const topics = (await topicRegistry(c.env).listTopics()).filter((t) =>
    allows(rights, "topic", t.name, "describe"),
  );
  return c.json({
    topics: topics.map((t) => ({
      name: t.name,
      partitions: t.partitions,
      replicationFactor: t.replicationFactor,
    })),
  });
});

topicRoutes.get("/:topic", async (c) => {
  readQuery(c.req.url, NoQuery);
  const name = c.req.param("topic");
  checkTopicName(name);
  authorize(c.get("auth").rights, "topic", name, "describe");
  const topic = unwrap(await topicRegistry(c.env).getTopic(name));
  return c.json(await describeTopic(c.env, topic));
});

topicRoutes.patch("/:topic", async (c) => {
  readQuery(c.req.url, NoQuery);
  const name = c.req.param("topic");
  checkTopicName(name);
  authorize(c.get("auth").rights, "topic", name, "alter");
  await getTopic(c.env, name); // 404 before reading the body
  const changes = parseAlterConfigs(await readJsonBody(c.req.raw, maxRequestBytes(c.env)));
  const topic = unwrap(await topicRegistry(c.env).alterTopicConfigs(name, changes));
  forgetTopic(name);
  return c.json(await describeTopic(c.env, topic));
});

topicRoutes.delete("/:topic", async (c) => {
  readQuery(c.req.url, NoQuery);
  const name = c.req.param("topic");
  checkTopicName(name);
  authorize(c.get("auth").rights, "topic", name, "delete");
  unwrap(await topicRegistry(c.env).deleteTopic(name));
  forgetTopic(name);
  return c.body(null, 204);
});
