import { DurableObject } from "cloudflare:workers";
import { assert, fail, ok, type Result } from "../core/errors";
import { type FetchPosition, type LogOffsets, resolveFetchOffset } from "../core/fetch-position";
import { FETCH_WAITERS_MAX } from "../core/limits";
import type { AppendChunk } from "../core/record-batch";
import type { TopicConfigs } from "../core/topic-config";
import type { Env } from "./env";
import { runMigrations } from "./sql-migrations";

/**
 * The leader of one topic-partition: the ordered log in SQLite, its offsets
 * (logStartOffset, logEndOffset, highWatermark) and the fetches waiting on it.
 * Every call names the topic incarnation (`topicId`) it means, so a gateway
 * with stale metadata can never write into a deleted or re-created topic.
 */

const MIGRATIONS = [
  `CREATE TABLE log (
     "offset" INTEGER PRIMARY KEY,
     timestamp INTEGER NOT NULL,
     key TEXT,
     value TEXT,
     value_base64 TEXT,
     headers TEXT NOT NULL,
     size INTEGER NOT NULL
   );
   -- Kafka's time index: per appended batch, the largest timestamp in the log so far
   -- (monotonic), so the first record at/after a timestamp is found without a scan.
   CREATE TABLE time_index (base_offset INTEGER PRIMARY KEY, max_timestamp INTEGER NOT NULL);
   CREATE INDEX time_index_by_timestamp ON time_index (max_timestamp);
   CREATE TABLE partition_state (
     id INTEGER PRIMARY KEY CHECK (id = 0),
     topic TEXT NOT NULL,
     partition INTEGER NOT NULL,
     topic_id TEXT NOT NULL,
     configs TEXT NOT NULL,
     log_start_offset INTEGER NOT NULL
   );`,
];

export type PartitionSpec = { topic: string; partition: number; topicId: string; configs: TopicConfigs };

export type AppendRequest = { topicId: string; chunks: AppendChunk[]; maxTimestamp: number };
export type AppendInfo = { baseOffset: number; logEndOffset: number; highWatermark: number };

export type ReadRequest = {
  topicId: string;
  position: FetchPosition;
  maxRecords: number;
  maxBytes: number;
  waitMs: number;
};

export type PartitionInfo = {
  partition: number;
  logStartOffset: number;
  logEndOffset: number;
  highWatermark: number;
};

export type PartitionMetrics = PartitionInfo & {
  produceRequests: number;
  produceRecords: number;
  fetchRequests: number;
  fetchRecords: number;
};

type LogRow = [
  offset: number,
  timestamp: number,
  key: string | null,
  value: string | null,
  valueBase64: string | null,
  headers: string,
  size: number,
];

export class PartitionLeader extends DurableObject<Env> {
  private spec: PartitionSpec | null = null;
  private logStartOffset = 0;
  private logEndOffset = 0;
  /** Equal to logEndOffset until replication lands (issue 3); reads never pass it. */
  private highWatermark = 0;
  private maxTimestamp = 0;
  /** Long-polling fetches, woken when the high watermark moves. */
  private readonly waiters = new Set<() => void>();
  private readonly counters = { produceRequests: 0, produceRecords: 0, fetchRequests: 0, fetchRecords: 0 };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      try {
        this.load();
      } catch (error) {
        // A throwing callback would reset the object in a loop; log and serve errors instead.
        console.error("PartitionLeader failed to load", error);
      }
    });
  }

  private load(): void {
    const sql = this.ctx.storage.sql;
    runMigrations(sql, MIGRATIONS);
    const state = sql
      .exec<{
        topic: string;
        partition: number;
        topic_id: string;
        configs: string;
        log_start_offset: number;
      }>("SELECT topic, partition, topic_id, configs, log_start_offset FROM partition_state WHERE id = 0")
      .toArray()[0];
    this.spec = state
      ? {
          topic: state.topic,
          partition: state.partition,
          topicId: state.topic_id,
          configs: JSON.parse(state.configs),
        }
      : null;
    this.logStartOffset = state?.log_start_offset ?? 0;
    const last = sql.exec<{ last: number | null }>('SELECT max("offset") AS last FROM log').one().last;
    // Offsets are never reused: when retention has emptied the log, logStartOffset marks its end.
    this.logEndOffset = Math.max(last === null ? 0 : last + 1, this.logStartOffset);
    this.highWatermark = this.logEndOffset;
    this.maxTimestamp =
      sql.exec<{ t: number | null }>("SELECT max(max_timestamp) AS t FROM time_index").one().t ?? 0;
  }

  /** Creates (or re-creates) this partition for a topic incarnation; idempotent for the same topicId. */
  async init(spec: PartitionSpec): Promise<void> {
    if (this.spec !== null && this.spec.topicId !== spec.topicId) await this.wipe();
    if (this.spec === null && this.logEndOffset > 0) await this.wipe(); // left over from an interrupted delete
    this.ctx.storage.sql.exec(
      `INSERT INTO partition_state (id, topic, partition, topic_id, configs, log_start_offset)
       VALUES (0, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET configs = excluded.configs`,
      spec.topic,
      spec.partition,
      spec.topicId,
      JSON.stringify(spec.configs),
      this.logStartOffset,
    );
    this.spec = spec;
  }

  /** Applies changed topic configs (PATCH); ignored for another incarnation. */
  async updateConfigs(topicId: string, configs: TopicConfigs): Promise<void> {
    if (this.spec?.topicId !== topicId) return;
    this.ctx.storage.sql.exec("UPDATE partition_state SET configs = ? WHERE id = 0", JSON.stringify(configs));
    this.spec = { ...this.spec, configs };
  }

  /** Removes the log of a deleted topic: all rows, offsets and state. */
  async deleteLog(topicId: string): Promise<void> {
    if (this.spec?.topicId !== topicId) return;
    await this.wipe();
  }

  private async wipe(): Promise<void> {
    await this.ctx.storage.deleteAll();
    await this.ctx.storage.deleteAlarm();
    this.spec = null;
    this.load();
    this.wakeWaiters(); // parked fetches re-check and answer UNKNOWN_TOPIC_OR_PARTITION
  }

  private unknown(topicId: string): { ok: false; error: ReturnType<typeof fail>["error"] } | null {
    if (this.spec !== null && this.spec.topicId === topicId) return null;
    return fail(
      "UNKNOWN_TOPIC_OR_PARTITION",
      "this topic-partition does not exist (deleted or never created)",
    );
  }

  /**
   * Appends the chunks of one request atomically and in order: every statement
   * runs without an await between, so they commit as one SQLite transaction, and
   * in-memory offsets move only after they succeeded.
   */
  async append(request: AppendRequest): Promise<Result<AppendInfo>> {
    const unknown = this.unknown(request.topicId);
    if (unknown) return unknown;
    const sql = this.ctx.storage.sql;
    const baseOffset = this.logEndOffset;
    let next = baseOffset;
    for (const chunk of request.chunks) {
      sql.exec(
        `INSERT INTO log ("offset", timestamp, key, value, value_base64, headers, size)
         SELECT ? + e.key, e.value ->> '$[0]', e.value ->> '$[1]',
                CASE WHEN e.value ->> '$[4]' IS NULL THEN e.value -> '$[2]' END,
                e.value ->> '$[4]', e.value -> '$[3]', e.value ->> '$[5]'
         FROM json_each(?) AS e`,
        next,
        chunk.records,
      );
      next += chunk.count;
    }
    assert(next > baseOffset, "an append carries at least one record");
    const maxTimestamp = Math.max(this.maxTimestamp, request.maxTimestamp);
    sql.exec("INSERT INTO time_index (base_offset, max_timestamp) VALUES (?, ?)", baseOffset, maxTimestamp);
    this.maxTimestamp = maxTimestamp;
    this.logEndOffset = next;
    this.counters.produceRequests++;
    this.counters.produceRecords += next - baseOffset;
    this.maybeIncrementHighWatermark(next);
    return ok({ baseOffset, logEndOffset: this.logEndOffset, highWatermark: this.highWatermark });
  }

  private maybeIncrementHighWatermark(offset: number): void {
    if (offset <= this.highWatermark) return;
    this.highWatermark = offset;
    this.wakeWaiters();
  }

  private wakeWaiters(): void {
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  /**
   * Reads records from a position, never at or above the high watermark, bounded
   * by maxRecords and maxBytes (the first record is returned even when larger,
   * so a consumer always progresses). With waitMs it parks until the high
   * watermark passes the start or the time is up. Answers the fetch body as JSON text.
   */
  async read(request: ReadRequest): Promise<Result<string>> {
    const unknown = this.unknown(request.topicId);
    if (unknown) return unknown;
    this.counters.fetchRequests++;
    const start = resolveFetchOffset(request.position, this.offsets(), (t) => this.offsetForTimestamp(t));
    if (!start.ok) return start;
    if (start.value >= this.highWatermark && request.waitMs > 0 && this.waiters.size < FETCH_WAITERS_MAX) {
      await this.waitForRecords(request.waitMs);
      const stillThere = this.unknown(request.topicId);
      if (stillThere) return stillThere;
      // Retention may have moved logStartOffset past the start while we waited.
      if (start.value < this.logStartOffset) return this.read({ ...request, waitMs: 0 });
    }
    return ok(this.readFrom(start.value, request.maxRecords, request.maxBytes));
  }

  private waitForRecords(waitMs: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, waitMs);
      this.waiters.add(wake);
    });
  }

  private readFrom(start: number, maxRecords: number, maxBytes: number): string {
    const end = Math.min(this.highWatermark, start + maxRecords);
    let body = '{"records":[';
    let next = start;
    if (start < end) {
      const rows = this.ctx.storage.sql
        .exec(
          `SELECT "offset", timestamp, key, value, value_base64, headers, size FROM log
           WHERE "offset" >= ? AND "offset" < ? ORDER BY "offset"`,
          start,
          end,
        )
        .raw() as IterableIterator<LogRow>;
      let bytes = 0;
      for (const [offset, timestamp, key, value, valueBase64, headers, size] of rows) {
        if (next > start && bytes + size > maxBytes) break;
        bytes += size;
        if (next > start) body += ",";
        body += `{"offset":${offset},"timestamp":${timestamp},"key":${key === null ? "null" : JSON.stringify(key)},`;
        body += valueBase64 === null ? `"value":${value}` : `"valueBase64":"${valueBase64}"`;
        body += `,"headers":${headers}}`;
        next = offset + 1;
      }
      this.counters.fetchRecords += next - start;
    }
    return `${body}],"nextOffset":${next},"highWatermark":${this.highWatermark},"logStartOffset":${this.logStartOffset}}`;
  }

  /** Kafka's offsetsForTimes: the first offset whose timestamp is ≥ `timestamp`, or null. */
  private offsetForTimestamp(timestamp: number): number | null {
    const sql = this.ctx.storage.sql;
    const batch = sql
      .exec<{ base_offset: number }>(
        "SELECT base_offset FROM time_index WHERE max_timestamp >= ? ORDER BY max_timestamp, base_offset LIMIT 1",
        timestamp,
      )
      .toArray()[0];
    if (!batch) return null;
    const row = sql
      .exec<{ offset: number }>(
        'SELECT "offset" FROM log WHERE "offset" >= ? AND timestamp >= ? ORDER BY "offset" LIMIT 1',
        Math.max(batch.base_offset, this.logStartOffset),
        timestamp,
      )
      .toArray()[0];
    return row ? row.offset : null;
  }

  /** Offsets of this partition, for describe-topic; null when it belongs to another incarnation. */
  async describe(topicId: string): Promise<PartitionInfo | null> {
    if (this.spec?.topicId !== topicId) return null;
    return this.info();
  }

  /** Offsets and request counters for /metrics (counters restart with the object, as Prometheus expects). */
  async metrics(topicId: string): Promise<PartitionMetrics | null> {
    if (this.spec?.topicId !== topicId) return null;
    return { ...this.info(), ...this.counters };
  }

  private offsets(): LogOffsets {
    return { logStartOffset: this.logStartOffset, highWatermark: this.highWatermark };
  }

  private info(): PartitionInfo {
    assert(this.spec !== null, "info of an initialised partition");
    return {
      partition: this.spec.partition,
      logStartOffset: this.logStartOffset,
      logEndOffset: this.logEndOffset,
      highWatermark: this.highWatermark,
    };
  }
}
