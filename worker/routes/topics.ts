import { Hono } from "hono";
import { unwrap } from "../../core/errors";
import { type Env, topicRegistry } from "../../durable-objects/env";
import { readQuery } from "../../schemas/query";
import { parseAlterConfigs, parseCreateTopic } from "../../schemas/topic";
import { readJsonBody } from "../body";
import { maxRequestBytes } from "../config";
import { describeTopic } from "../describe";
import { checkTopicName, forgetTopic, getTopic } from "../topic-cache";

/** Topic administration: create, list, describe, alter configs, delete (API.md "Topics"). */
export const topicRoutes = new Hono<{ Bindings: Env }>();

topicRoutes.post("/", async (c) => {
  readQuery(c.req.url, []);
  const request = parseCreateTopic(await readJsonBody(c.req.raw, maxRequestBytes(c.env)));
  const topic = unwrap(await topicRegistry(c.env).createTopic(request));
  forgetTopic(topic.name);
  return c.json(await describeTopic(c.env, topic), 201);
});

topicRoutes.get("/", async (c) => {
  readQuery(c.req.url, []);
  const topics = await topicRegistry(c.env).listTopics();
  return c.json({
    topics: topics.map((t) => ({
      name: t.name,
      partitions: t.partitions,
      replicationFactor: t.replicationFactor,
    })),
  });
});

topicRoutes.get("/:topic", async (c) => {
  readQuery(c.req.url, []);
  const name = c.req.param("topic");
  checkTopicName(name);
  const topic = unwrap(await topicRegistry(c.env).getTopic(name));
  return c.json(await describeTopic(c.env, topic));
});

topicRoutes.patch("/:topic", async (c) => {
  readQuery(c.req.url, []);
  const name = c.req.param("topic");
  await getTopic(c.env, name); // name check and 404 before reading the body
  const changes = parseAlterConfigs(await readJsonBody(c.req.raw, maxRequestBytes(c.env)));
  const topic = unwrap(await topicRegistry(c.env).alterTopicConfigs(name, changes));
  forgetTopic(name);
  return c.json(await describeTopic(c.env, topic));
});

topicRoutes.delete("/:topic", async (c) => {
  readQuery(c.req.url, []);
  const name = c.req.param("topic");
  checkTopicName(name);
  unwrap(await topicRegistry(c.env).deleteTopic(name));
  forgetTopic(name);
  return c.body(null, 204);
});
