import type { TopicConfigs } from "../core/topic-config";
import type { Env } from "./env";
import { replicaStub } from "./stubs";

/**
 * Initialising a large topic's replicas without stalling the server (issue 15):
 * every replica is a Durable Object with its own SQLite database, and locally
 * they all share one workerd thread, so creating 1,024 × 3 of them at once
 * stops every other request for seconds. A topic up to EAGER_INIT_REPLICAS_MAX
 * replicas is initialised before createTopic answers, as always; a larger one
 * answers at once with its partitions not yet initialised, and they are
 * initialised on first use (a leader that does not know its topic makes the
 * gateway ask for `ensure`, then retry) or in bounded background steps by the
 * registry's alarm, whichever comes first.
 */

/** Topics with at most this many replicas (partitions × RF) are initialised before createTopic answers. */
export const EAGER_INIT_REPLICAS_MAX = 64;
/** Partitions one background step initialises (its replicas in parallel: ~8 ms of the thread each, measured). */
const INIT_STEP_PARTITIONS = 1;
/** Pause between background steps: the requests queued meanwhile run first. */
export const INIT_STEP_PAUSE_MS = 25;
/** A partition whose initialisation failed waits this long before a background step tries it again. */
const INIT_RETRY_MS = 5_000;

/** What initialising one partition needs to know of its topic (read when it starts). */
export type PartitionSpec = {
  topic: string;
  topicId: string;
  partition: number;
  replicationFactor: number;
  configs: TopicConfigs;
  leader: number;
  leaderEpoch: number;
  isr: number[];
};

export class PartitionInit {
  /** Partitions being initialised right now, so concurrent callers share one round of init calls. */
  private readonly running = new Map<string, Promise<void>>();
  /** Partitions whose initialisation failed, and when a background step may try them again. */
  private readonly retryAt = new Map<string, number>();

  constructor(
    private readonly env: Env,
    private readonly sql: SqlStorage,
    /** The current spec of a not-yet-initialised partition of incarnation `topicId`; null when none. */
    private readonly pendingSpec: (
      topic: string,
      partition: number,
      topicId?: string,
    ) => PartitionSpec | null,
  ) {}

  /**
   * Initialises `topic/partition` of incarnation `topicId` now unless it already is;
   * true when it exists (now initialised), false when there is no such partition.
   * Rejects when a replica failed to initialise (the partition stays pending).
   */
  async ensure(topic: string, partition: number, topicId: string): Promise<boolean> {
    const spec = this.pendingSpec(topic, partition, topicId);
    if (spec !== null) await this.initialise(spec);
    else await this.running.get(`${topic}/${partition}`);
    return this.exists(topic, partition, topicId);
  }

  /** One background step: a few not-yet-initialised partitions; true when more remain. */
  async step(): Promise<boolean> {
    const now = Date.now();
    const rows = this.sql
      .exec<{ topic: string; partition: number }>(
        "SELECT topic, partition FROM partitions WHERE ready = 0 ORDER BY topic, partition LIMIT ?",
        INIT_STEP_PARTITIONS + this.running.size + this.retryAt.size,
      )
      .toArray()
      .filter((r) => {
        const key = `${r.topic}/${r.partition}`;
        return !this.running.has(key) && (this.retryAt.get(key) ?? 0) <= now;
      })
      .slice(0, INIT_STEP_PARTITIONS);
    await Promise.all(
      rows.map(async (r) => {
        const spec = this.pendingSpec(r.topic, r.partition);
        if (spec === null) return;
        const key = `${r.topic}/${r.partition}`;
        try {
          await this.initialise(spec);
          this.retryAt.delete(key);
        } catch (error) {
          // Its row stays pending: a later step tries again, others go on meanwhile.
          this.retryAt.set(key, Date.now() + INIT_RETRY_MS);
          console.warn(`initialising ${key} failed; retried in ${INIT_RETRY_MS} ms`, String(error));
        }
      }),
    );
    return this.sql.exec("SELECT 1 FROM partitions WHERE ready = 0 LIMIT 1").toArray().length > 0;
  }

  /** Waits for the initialisations of `topic` under way (before it is altered or deleted). */
  async settle(topic: string): Promise<void> {
    const prefix = `${topic}/`;
    await Promise.all(
      [...this.running].filter(([key]) => key.startsWith(prefix)).map(([, p]) => p.catch(() => undefined)),
    );
  }

  private initialise(spec: PartitionSpec): Promise<void> {
    const key = `${spec.topic}/${spec.partition}`;
    let running = this.running.get(key);
    if (running === undefined) {
      running = this.initReplicas(spec).finally(() => this.running.delete(key));
      this.running.set(key, running);
    }
    return running;
  }

  private async initReplicas(spec: PartitionSpec): Promise<void> {
    await Promise.all(
      Array.from({ length: spec.replicationFactor }, (_, replica) =>
        replicaStub(this.env, spec.topic, spec.partition, replica).init({
          topic: spec.topic,
          partition: spec.partition,
          topicId: spec.topicId,
          configs: spec.configs,
          replica,
          replicationFactor: spec.replicationFactor,
          leader: spec.leader,
          leaderEpoch: spec.leaderEpoch,
          isr: spec.isr,
        }),
      ),
    );
    // Only this incarnation's row: the topic may have been deleted (or re-created) meanwhile.
    this.sql.exec(
      `UPDATE partitions SET ready = 1 WHERE topic = ? AND partition = ?
         AND EXISTS (SELECT 1 FROM topics WHERE name = ? AND topic_id = ?)`,
      spec.topic,
      spec.partition,
      spec.topic,
      spec.topicId,
    );
  }

  private exists(topic: string, partition: number, topicId: string): boolean {
    return (
      this.sql
        .exec(
          `SELECT 1 FROM partitions p JOIN topics t ON t.name = p.topic
           WHERE p.topic = ? AND p.partition = ? AND t.topic_id = ? AND p.ready = 1`,
          topic,
          partition,
          topicId,
        )
        .toArray().length > 0
    );
  }
}
