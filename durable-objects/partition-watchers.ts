import { fail, ok, type Result } from "../core/errors";
import { PARTITION_WATCHERS_MAX, WS_PUSH_BYTES_MAX, WS_PUSH_RECORDS_MAX } from "../core/limits";
import type { CommittedRecords } from "./contract";
import type { Env } from "./env";
import { consumerPrefix } from "./leader-fetch";
import type { PartitionLog } from "./partition-log";
import { wsSession } from "./stubs";

/**
 * What waits on a partition: parked calls (fetches waiting for the high
 * watermark, acks=all produces waiting for followers) and the WebSocket
 * sessions tailing it, which are told whenever the high watermark moves.
 */

/** Calls parked until something changes or their time is up. */
export class Waiters {
  private readonly waiting = new Set<() => void>();

  get size(): number {
    return this.waiting.size;
  }

  /** Resolves at the next wakeAll, or after `timeoutMs`. */
  wait(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiting.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      this.waiting.add(wake);
    });
  }

  wakeAll(): void {
    for (const wake of [...this.waiting]) wake();
  }
}

/**
 * The WebSocket sessions tailing a partition, kept durably (a restarted or newly
 * elected leader goes on pushing) and copied to followers with the records.
 */
export class PartitionWatchers {
  private sessions = new Set<string>();
  /** Bumped when the watchers change; followers are sent the list until they have this version. */
  private changes = 0;
  private readonly notifying = new Set<string>();
  private readonly renotify = new Set<string>();
  /** The high watermark the sessions were last told of: where the next push of committed records starts. */
  private notifiedHighWatermark = -1;

  constructor(
    private readonly env: Env,
    private readonly sql: SqlStorage,
    private readonly log: PartitionLog,
  ) {}

  get version(): number {
    return this.changes;
  }

  list(): string[] {
    return [...this.sessions];
  }

  /** Reads the watchers back from storage (after the log's migrations ran). */
  load(): void {
    this.sessions = new Set(
      this.sql
        .exec<{ session_id: string }>("SELECT session_id FROM watchers")
        .toArray()
        .map((w) => w.session_id),
    );
  }

  /** A session tails this partition: refused past PARTITION_WATCHERS_MAX. */
  add(sessionId: string): Result<null> {
    if (this.sessions.has(sessionId)) return ok(null);
    if (this.sessions.size >= PARTITION_WATCHERS_MAX)
      return fail(
        "THROTTLING_QUOTA_EXCEEDED",
        `partition already has ${PARTITION_WATCHERS_MAX} WebSocket subscribers`,
      );
    this.sessions.add(sessionId);
    this.sql.exec("INSERT OR IGNORE INTO watchers (session_id) VALUES (?)", sessionId);
    this.changes++;
    return ok(null);
  }

  remove(sessionId: string): void {
    if (!this.sessions.delete(sessionId)) return;
    this.sql.exec("DELETE FROM watchers WHERE session_id = ?", sessionId);
    this.changes++;
  }

  /** A follower takes its leader's watchers, so that a newly elected leader can go on pushing. */
  replace(sessionIds: readonly string[]): void {
    this.sessions = new Set(sessionIds);
    this.sql.exec("DELETE FROM watchers");
    for (const id of sessionIds) this.sql.exec("INSERT INTO watchers (session_id) VALUES (?)", id);
  }

  /**
   * The high watermark moved (or leadership did): tell every session, with the
   * records that passed it since the last time, read once for all of them.
   */
  notifyAll(): void {
    const from = this.notifiedHighWatermark;
    this.notifiedHighWatermark = this.log.highWatermark;
    if (this.sessions.size === 0) return;
    const committed = this.committedFrom(from);
    for (const sessionId of this.sessions) this.notify(sessionId, committed);
  }

  /**
   * What passed the high watermark since `from`, as one push frame's worth at
   * most; null when there is nothing to push (a follower, a first notification, a
   * range retention already removed): the sessions fetch then.
   */
  private committedFrom(from: number): CommittedRecords | null {
    const log = this.log;
    const highWatermark = log.highWatermark;
    if (!log.isLeader() || from < log.logStartOffset || from >= highWatermark) return null;
    const read = log.recordsText(
      from,
      highWatermark,
      WS_PUSH_RECORDS_MAX,
      WS_PUSH_BYTES_MAX,
      consumerPrefix(log),
    );
    if (read.records === 0) return null;
    const { topicId } = log.current;
    return { topicId, from, next: read.next, count: read.records, records: read.text, highWatermark };
  }

  /**
   * Tells one session the high watermark moved. At most one notification per
   * session is under way; moves meanwhile are folded into one more afterwards,
   * so a busy partition costs each session what it can take, never a backlog.
   */
  private notify(sessionId: string, committed: CommittedRecords | null): void {
    if (this.notifying.has(sessionId)) {
      this.renotify.add(sessionId);
      return;
    }
    const state = this.log.state;
    if (state === null) return;
    this.notifying.add(sessionId);
    wsSession(this.env, sessionId)
      .onHighWatermark(state.topic, state.partition, this.log.highWatermark, committed)
      .then(
        (alive) => {
          if (!alive) this.remove(sessionId);
        },
        (error) => console.warn(`notify session ${sessionId} failed`, String(error)),
      )
      .finally(() => {
        this.notifying.delete(sessionId);
        // Folded notifications skipped pushes: the session fetches what it missed.
        if (this.renotify.delete(sessionId) && this.sessions.has(sessionId)) this.notify(sessionId, null);
      });
  }
}
