import { DurableObject } from "cloudflare:workers";
import { mapConcurrent } from "../core/concurrency";
import { fail, ok, type Result } from "../core/errors";
import { FAN_OUT_CONCURRENCY_MAX, GROUPS_MAX, TOPICS_MAX } from "../core/limits";
import { resolveTopicConfigs, withDefaults } from "../core/topic-config";
import type { CreateTopicRequest, PartitionLeadership, TopicMetadata } from "./contract";
import type { Env } from "./env";
import { runElection } from "./leader-election";
import {
  EAGER_INIT_REPLICAS_MAX,
  INIT_STEP_PAUSE_MS,
  PartitionInit,
  type PartitionSpec,
} from "./partition-init";
import { runMigrations } from "./sql-migrations";
import { consumerGroup, replicaStub } from "./stubs";

/**
 * The cluster's metadata (Kafka's controller): topics, partition counts,
 * replication factors, configs, and per partition its leader, leader epoch and
 * ISR. One instance ("cluster"); the gateway caches what it answers. It elects
 * a new leader, from the ISR only, when a gateway finds a leader unreachable.
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
  `CREATE TABLE partitions (
     topic TEXT NOT NULL,
     partition INTEGER NOT NULL,
     leader INTEGER NOT NULL,
     leader_epoch INTEGER NOT NULL,
     isr TEXT NOT NULL,
     PRIMARY KEY (topic, partition)
   );
   -- Topics made before replication had one copy, on replica 0.
   INSERT INTO partitions (topic, partition, leader, leader_epoch, isr)
     -- 1023: the last partition number (PARTITIONS_MAX − 1).
     WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < 1023)
     SELECT t.name, seq.n, 0, 0, '[0]' FROM topics t JOIN seq ON seq.n < t.partitions;`,
  // Consumer groups are objects named by their id; this directory lets them be listed.
  `CREATE TABLE groups (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL);`,
  // A large topic's partitions are initialised after it is created (PartitionInit): 0 until then.
  `ALTER TABLE partitions ADD COLUMN ready INTEGER NOT NULL DEFAULT 1;`,
];

type TopicRow = {
  name: string;
  topic_id: string;
  partitions: number;
  replication_factor: number;
  configs: string;
};
type PartitionRow = { partition: number; leader: number; leader_epoch: number; isr: string };

/** Every replica of `partitions`, partition by partition. */
function replicasOf(partitions: readonly number[], replicationFactor: number) {
  return partitions.flatMap((partition) =>
    Array.from({ length: replicationFactor }, (_, replica) => ({ partition, replica })),
  );
}

export class TopicRegistry extends DurableObject<Env> {
  /** Names being created right now: the rows are written only once every replica is ready. */
  private readonly creating = new Set<string>();
  /** Elections under way, one per partition, so concurrent gateways share one outcome. */
  private readonly elections = new Map<string, Promise<Result<PartitionLeadership>>>();
  private readonly partitionInit: PartitionInit;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.partitionInit = new PartitionInit(env, ctx.storage.sql, (topic, partition, topicId) =>
      this.pendingSpec(topic, partition, topicId),
    );
    ctx.blockConcurrencyWhile(async () => {
      try {
        runMigrations(ctx.storage.sql, MIGRATIONS);
        // Partitions left to initialise (a restart mid-way): the alarm goes on with them.
        if (ctx.storage.sql.exec("SELECT 1 FROM partitions WHERE ready = 0 LIMIT 1").toArray().length > 0)
          await ctx.storage.setAlarm(Date.now());
      } catch (error) {
        console.error("TopicRegistry migrations failed", error);
      }
    });
  }

  private metadata(name: string): TopicMetadata | null {
    const sql = this.ctx.storage.sql;
    const row = sql
      .exec<TopicRow>(
        "SELECT name, topic_id, partitions, replication_factor, configs FROM topics WHERE name = ?",
        name,
      )
      .toArray()[0];
    if (!row) return null;
    const partitions = sql
      .exec<PartitionRow & { ready: number }>(
        "SELECT partition, leader, leader_epoch, isr, ready FROM partitions WHERE topic = ? ORDER BY partition",
        name,
      )
      .toArray();
    const leaders = partitions.map((p) => ({
      leader: p.leader,
      leaderEpoch: p.leader_epoch,
      isr: JSON.parse(p.isr) as number[],
    }));
    const pending = partitions.filter((p) => p.ready === 0).map((p) => p.partition);
    return {
      name: row.name,
      topicId: row.topic_id,
      partitions: row.partitions,
      replicationFactor: row.replication_factor,
      configs: withDefaults(JSON.parse(row.configs), row.replication_factor),
      leaders,
      ...(pending.length > 0 ? { pending } : {}),
    };
  }

  private topicCount(): number {
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM topics").one().n;
  }

  /** The replicas of a topic's initialised partitions (the others hold nothing yet). */
  private replicas(topic: { name: string; replicationFactor: number }) {
    const ready = this.ctx.storage.sql
      .exec<{ partition: number }>(
        "SELECT partition FROM partitions WHERE topic = ? AND ready = 1 ORDER BY partition",
        topic.name,
      )
      .toArray();
    return replicasOf(
      ready.map((r) => r.partition),
      topic.replicationFactor,
    );
  }

  /** A partition not initialised yet, with what its replicas need; null when there is none. */
  private pendingSpec(topic: string, partition: number, topicId?: string): PartitionSpec | null {
    const row = this.ctx.storage.sql
      .exec<TopicRow & PartitionRow>(
        `SELECT t.topic_id, t.replication_factor, t.configs, p.partition, p.leader, p.leader_epoch, p.isr
         FROM partitions p JOIN topics t ON t.name = p.topic
         WHERE p.topic = ? AND p.partition = ? AND p.ready = 0`,
        topic,
        partition,
      )
      .toArray()[0];
    if (!row || (topicId !== undefined && row.topic_id !== topicId)) return null;
    return {
      topic,
      topicId: row.topic_id,
      partition,
      replicationFactor: row.replication_factor,
      configs: JSON.parse(row.configs),
      leader: row.leader,
      leaderEpoch: row.leader_epoch,
      isr: JSON.parse(row.isr),
    };
  }

  /**
   * A gateway found a partition's leader not knowing its topic: initialises it now if
   * it is a large topic's partition not initialised yet. True when the partition of
   * incarnation `topicId` exists (worth one retry).
   */
  async ensurePartition(topic: string, partition: number, topicId: string): Promise<boolean> {
    return this.partitionInit.ensure(topic, partition, topicId);
  }

  /** Background initialisation of large topics' partitions, a bounded step a run. */
  override async alarm(): Promise<void> {
    if (await this.partitionInit.step()) await this.ctx.storage.setAlarm(Date.now() + INIT_STEP_PAUSE_MS);
  }

  /** Creates a topic: initialises every replica of every partition, then writes the rows. */
  async createTopic(request: CreateTopicRequest): Promise<Result<TopicMetadata>> {
    if (this.metadata(request.name) || this.creating.has(request.name))
      return fail("TOPIC_ALREADY_EXISTS", `topic '${request.name}' already exists`);
    if (this.topicCount() + this.creating.size >= TOPICS_MAX)
      return fail("INVALID_REQUEST", `the cluster already holds the maximum of ${TOPICS_MAX} topics`);
    this.creating.add(request.name);
    try {
      const topicId = crypto.randomUUID();
      const isr = Array.from({ length: request.replicationFactor }, (_, r) => r);
      const eager = request.partitions * request.replicationFactor <= EAGER_INIT_REPLICAS_MAX;
      if (!eager) {
        // Initialised on first use or by the alarm, a few partitions at a time (PartitionInit).
        this.writeTopic(request, topicId, isr, false);
        await this.ctx.storage.setAlarm(Date.now());
        return ok(this.metadata(request.name)!);
      }
      try {
        const partitions = Array.from({ length: request.partitions }, (_, p) => p);
        await mapConcurrent(
          replicasOf(partitions, request.replicationFactor),
          FAN_OUT_CONCURRENCY_MAX,
          ({ partition, replica }) =>
            replicaStub(this.env, request.name, partition, replica).init({
              topic: request.name,
              partition,
              topicId,
              configs: request.configs,
              replica,
              replicationFactor: request.replicationFactor,
              leader: 0,
              leaderEpoch: 0,
              isr,
            }),
        );
      } catch (error) {
        // Nothing is created: no row is written, and a replica initialised with this
        // orphan topicId is wiped by the next init of any other incarnation.
        console.error(`create ${request.name}: a replica failed`, error);
        return fail("LEADER_NOT_AVAILABLE", `could not initialise the replicas of '${request.name}'; retry`);
      }
      this.writeTopic(request, topicId, isr, true);
      return ok(this.metadata(request.name)!);
    } finally {
      this.creating.delete(request.name);
    }
  }

  private writeTopic(request: CreateTopicRequest, topicId: string, isr: number[], ready: boolean): void {
    const sql = this.ctx.storage.sql;
    sql.exec(
      `INSERT INTO topics (name, topic_id, partitions, replication_factor, configs, created_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
      request.name,
      topicId,
      request.partitions,
      request.replicationFactor,
      JSON.stringify(request.configs),
      Date.now(),
    );
    for (let partition = 0; partition < request.partitions; partition++)
      sql.exec(
        "INSERT INTO partitions (topic, partition, leader, leader_epoch, isr, ready) VALUES (?, ?, 0, 0, ?, ?)",
        request.name,
        partition,
        JSON.stringify(isr),
        ready ? 1 : 0,
      );
  }

  async listTopics(): Promise<TopicMetadata[]> {
    const names = this.ctx.storage.sql
      .exec<{ name: string }>("SELECT name FROM topics ORDER BY name")
      .toArray();
    return names.map((n) => this.metadata(n.name)!);
  }

  async getTopic(name: string): Promise<Result<TopicMetadata>> {
    const topic = this.metadata(name);
    return topic ? ok(topic) : fail("UNKNOWN_TOPIC_OR_PARTITION", `topic '${name}' does not exist`);
  }

  /** Incrementally alters configs (a null value resets one to its default) and tells every replica. */
  async alterTopicConfigs(name: string, changes: Record<string, unknown>): Promise<Result<TopicMetadata>> {
    const topic = this.metadata(name);
    if (!topic) return fail("UNKNOWN_TOPIC_OR_PARTITION", `topic '${name}' does not exist`);
    const resolved = resolveTopicConfigs(changes, topic.replicationFactor, topic.configs);
    if (!resolved.ok) return resolved;
    // Partitions initialised from here on read the new configs; those under way are told below.
    await this.partitionInit.settle(name);
    this.ctx.storage.sql.exec(
      "UPDATE topics SET configs = ? WHERE name = ?",
      JSON.stringify(resolved.configs),
      name,
    );
    try {
      await mapConcurrent(this.replicas(topic), FAN_OUT_CONCURRENCY_MAX, ({ partition, replica }) =>
        replicaStub(this.env, name, partition, replica).updateConfigs(topic.topicId, resolved.configs),
      );
    } catch (error) {
      // The configs are saved; repeating the same PATCH (idempotent) reaches the rest.
      console.error(`alter ${name}: a replica failed`, error);
      return fail(
        "LEADER_NOT_AVAILABLE",
        `configs of '${name}' saved but not yet applied to every replica; retry`,
      );
    }
    return ok({ ...topic, configs: resolved.configs });
  }

  /** Deletes a topic: the rows first (so no new request finds it), then every replica's data. */
  async deleteTopic(name: string): Promise<Result<null>> {
    if (!this.metadata(name)) return fail("UNKNOWN_TOPIC_OR_PARTITION", `topic '${name}' does not exist`);
    await this.partitionInit.settle(name); // initialisations under way finish first: then they are wiped too
    const topic = this.metadata(name);
    if (!topic) return fail("UNKNOWN_TOPIC_OR_PARTITION", `topic '${name}' does not exist`);
    const replicas = this.replicas(topic);
    this.ctx.storage.sql.exec("DELETE FROM topics WHERE name = ?", name);
    this.ctx.storage.sql.exec("DELETE FROM partitions WHERE topic = ?", name);
    try {
      await mapConcurrent(replicas, FAN_OUT_CONCURRENCY_MAX, ({ partition, replica }) =>
        replicaStub(this.env, name, partition, replica).deleteLog(topic.topicId),
      );
    } catch (error) {
      // The topic is gone for new lookups (gateway caches expire within TOPIC_METADATA_TTL_MS);
      // a replica that missed the wipe keeps unreachable rows until the name is created again
      // (init of another incarnation wipes them).
      console.error(`delete ${name}: a replica failed to wipe its log`, error);
    }
    // Its groups' committed offsets go too (API.md); best effort, a group that misses it
    // resets per autoOffsetReset if the name is ever re-created.
    await mapConcurrent(await this.listGroups(), FAN_OUT_CONCURRENCY_MAX, (group) =>
      consumerGroup(this.env, group)
        .forgetTopic(name)
        .catch((error) => console.error(`delete ${name}: group ${group} did not forget it`, error)),
    );
    return ok(null);
  }

  /** A group's first use lists it here (idempotent); bounded by GROUPS_MAX. */
  async registerGroup(name: string): Promise<Result<null>> {
    const sql = this.ctx.storage.sql;
    if (sql.exec("SELECT 1 FROM groups WHERE name = ?", name).toArray().length > 0) return ok(null);
    if (sql.exec<{ n: number }>("SELECT count(*) AS n FROM groups").one().n >= GROUPS_MAX)
      return fail(
        "INVALID_REQUEST",
        `the cluster already holds the maximum of ${GROUPS_MAX} consumer groups`,
      );
    sql.exec("INSERT INTO groups (name, created_at) VALUES (?, ?)", name, Date.now());
    return ok(null);
  }

  async unregisterGroup(name: string): Promise<void> {
    this.ctx.storage.sql.exec("DELETE FROM groups WHERE name = ?", name);
  }

  async listGroups(): Promise<string[]> {
    return this.ctx.storage.sql
      .exec<{ name: string }>("SELECT name FROM groups ORDER BY name")
      .toArray()
      .map((g) => g.name);
  }

  /**
   * A leader reports its ISR; ignored unless it leads the current epoch (a fenced
   * leader cannot). True when it was recorded: elections now know these replicas.
   */
  async updateIsr(topic: string, partition: number, leaderEpoch: number, isr: number[]): Promise<boolean> {
    const written = this.ctx.storage.sql.exec(
      "UPDATE partitions SET isr = ? WHERE topic = ? AND partition = ? AND leader_epoch = ?",
      JSON.stringify(isr),
      topic,
      partition,
      leaderEpoch,
    ).rowsWritten;
    return written > 0;
  }

  /**
   * Called by a gateway that found the leader of `failedEpoch` unreachable. If a
   * newer epoch exists, answers it; if the leader answers a probe, keeps it;
   * otherwise elects the most up-to-date reachable ISR member (no unclean
   * election), bumps the epoch and tells the replicas. One election per partition at a time.
   */
  async electLeader(
    topic: string,
    partition: number,
    failedEpoch: number,
  ): Promise<Result<PartitionLeadership>> {
    const key = `${topic}/${partition}`;
    const running = this.elections.get(key);
    if (running) return running;
    const election = runElection(
      this.env,
      this.ctx.storage.sql,
      topic,
      this.metadata(topic),
      partition,
      failedEpoch,
    ).finally(() => this.elections.delete(key));
    this.elections.set(key, election);
    return election;
  }
}
