import { DurableObject } from "cloudflare:workers";
import { mapConcurrent } from "../core/concurrency";
import { fail, ok, type Result } from "../core/errors";
import { FAN_OUT_CONCURRENCY_MAX, TOPICS_MAX } from "../core/limits";
import { resolveTopicConfigs, type TopicConfigs } from "../core/topic-config";
import { type Env, partitionLeader } from "./env";
import { runMigrations } from "./sql-migrations";

/**
 * The cluster's metadata: topics, their partition counts, replication factors
 * and configs. One instance ("cluster"); the gateway caches what it answers.
 */

const MIGRATIONS = [
  `CREATE TABLE topics (
     name TEXT PRIMARY KEY,
     topic_id TEXT NOT NULL,
     partitions INTEGER NOT NULL,
     replication_factor INTEGER NOT NULL,
     configs TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );`,
];

/** What the registry knows of a topic. `topicId` names one incarnation of the name. */
export type TopicMetadata = {
  name: string;
  topicId: string;
  partitions: number;
  replicationFactor: number;
  configs: TopicConfigs;
};

export type CreateTopicRequest = {
  name: string;
  partitions: number;
  replicationFactor: number;
  configs: TopicConfigs;
};

type TopicRow = {
  name: string;
  topic_id: string;
  partitions: number;
  replication_factor: number;
  configs: string;
};

function toMetadata(row: TopicRow): TopicMetadata {
  return {
    name: row.name,
    topicId: row.topic_id,
    partitions: row.partitions,
    replicationFactor: row.replication_factor,
    configs: JSON.parse(row.configs),
  };
}

export class TopicRegistry extends DurableObject<Env> {
  /** Names being created right now: the row is written only once every partition is ready. */
  private readonly creating = new Set<string>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      try {
        runMigrations(ctx.storage.sql, MIGRATIONS);
      } catch (error) {
        console.error("TopicRegistry migrations failed", error);
      }
    });
  }

  private row(name: string): TopicRow | undefined {
    return this.ctx.storage.sql
      .exec<TopicRow>(
        "SELECT name, topic_id, partitions, replication_factor, configs FROM topics WHERE name = ?",
        name,
      )
      .toArray()[0];
  }

  private topicCount(): number {
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM topics").one().n;
  }

  /** Creates a topic and initialises every partition leader before answering. */
  async createTopic(request: CreateTopicRequest): Promise<Result<TopicMetadata>> {
    if (this.row(request.name) || this.creating.has(request.name))
      return fail("TOPIC_ALREADY_EXISTS", `topic '${request.name}' already exists`);
    if (this.topicCount() + this.creating.size >= TOPICS_MAX)
      return fail("INVALID_REQUEST", `the cluster already holds the maximum of ${TOPICS_MAX} topics`);
    this.creating.add(request.name);
    try {
      const topic: TopicMetadata = { ...request, topicId: crypto.randomUUID() };
      const partitions = Array.from({ length: topic.partitions }, (_, p) => p);
      try {
        await mapConcurrent(partitions, FAN_OUT_CONCURRENCY_MAX, (partition) =>
          partitionLeader(this.env, topic.name, partition).init({
            topic: topic.name,
            partition,
            topicId: topic.topicId,
            configs: topic.configs,
          }),
        );
      } catch (error) {
        // Nothing is created: the row is not written, and a leader initialised with this
        // orphan topicId is wiped by the next init of any other incarnation.
        console.error(`create ${topic.name}: a partition leader failed`, error);
        return fail("LEADER_NOT_AVAILABLE", `could not initialise the partitions of '${topic.name}'; retry`);
      }
      this.ctx.storage.sql.exec(
        `INSERT INTO topics (name, topic_id, partitions, replication_factor, configs, created_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
        topic.name,
        topic.topicId,
        topic.partitions,
        topic.replicationFactor,
        JSON.stringify(topic.configs),
        Date.now(),
      );
      return ok(topic);
    } finally {
      this.creating.delete(request.name);
    }
  }

  async listTopics(): Promise<TopicMetadata[]> {
    return this.ctx.storage.sql
      .exec<TopicRow>(
        "SELECT name, topic_id, partitions, replication_factor, configs FROM topics ORDER BY name",
      )
      .toArray()
      .map(toMetadata);
  }

  async getTopic(name: string): Promise<Result<TopicMetadata>> {
    const row = this.row(name);
    return row ? ok(toMetadata(row)) : fail("UNKNOWN_TOPIC_OR_PARTITION", `topic '${name}' does not exist`);
  }

  /** Incrementally alters configs (a null value resets one to its default) and tells every leader. */
  async alterTopicConfigs(name: string, changes: Record<string, unknown>): Promise<Result<TopicMetadata>> {
    const row = this.row(name);
    if (!row) return fail("UNKNOWN_TOPIC_OR_PARTITION", `topic '${name}' does not exist`);
    const topic = toMetadata(row);
    const resolved = resolveTopicConfigs(changes, topic.replicationFactor, topic.configs);
    if (!resolved.ok) return resolved;
    this.ctx.storage.sql.exec(
      "UPDATE topics SET configs = ? WHERE name = ?",
      JSON.stringify(resolved.configs),
      name,
    );
    const updated = { ...topic, configs: resolved.configs };
    const partitions = Array.from({ length: topic.partitions }, (_, p) => p);
    try {
      await mapConcurrent(partitions, FAN_OUT_CONCURRENCY_MAX, (partition) =>
        partitionLeader(this.env, name, partition).updateConfigs(topic.topicId, resolved.configs),
      );
    } catch (error) {
      // The configs are saved; repeating the same PATCH (idempotent) reaches the rest.
      console.error(`alter ${name}: a partition leader failed`, error);
      return fail(
        "LEADER_NOT_AVAILABLE",
        `configs of '${name}' saved but not yet applied to every partition; retry`,
      );
    }
    return ok(updated);
  }

  /** Deletes a topic: the row first (so no new request finds it), then every partition's data. */
  async deleteTopic(name: string): Promise<Result<null>> {
    const row = this.row(name);
    if (!row) return fail("UNKNOWN_TOPIC_OR_PARTITION", `topic '${name}' does not exist`);
    this.ctx.storage.sql.exec("DELETE FROM topics WHERE name = ?", name);
    const partitions = Array.from({ length: row.partitions }, (_, p) => p);
    try {
      await mapConcurrent(partitions, FAN_OUT_CONCURRENCY_MAX, (partition) =>
        partitionLeader(this.env, name, partition).deleteLog(row.topic_id),
      );
    } catch (error) {
      // The topic is gone for new lookups (gateway caches expire within TOPIC_METADATA_TTL_MS);
      // a leader that missed the wipe keeps unreachable rows until the name is created again
      // (init of another incarnation wipes them).
      console.error(`delete ${name}: a partition leader failed to wipe its log`, error);
    }
    return ok(null);
  }
}
