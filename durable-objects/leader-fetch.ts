import { ok, type Result } from "../core/errors";
import { type FetchPosition, resolveFetchOffset } from "../core/fetch-position";
import { FETCH_WAITERS_MAX } from "../core/limits";
import type { FetchedRecords, FetchRequest, ResolvedOffset } from "./contract";
import type { PartitionLog } from "./partition-log";
import type { Waiters } from "./partition-watchers";

/** Distinct ranges kept per turn: woken readers share a few; more is a burst of unrelated reads. */
const TURN_READS_MAX = 16;

/** What each record of a consumer's fetch starts with: its topic and partition. */
export function consumerPrefix(log: PartitionLog): string {
  const state = log.state;
  return state ? `"topic":${JSON.stringify(state.topic)},"partition":${state.partition},` : "";
}

/**
 * A leader serving fetches: from a position, never at or above the high
 * watermark, bounded by maxRecords and maxBytes, parked (long-poll) until the
 * high watermark passes the start when asked to wait.
 */
export class LeaderFetch {
  /** Reads of this turn by range (see read()); emptied by the next task. */
  private readonly turnReads = new Map<string, { text: string; records: number; next: number }>();

  constructor(
    private readonly log: PartitionLog,
    private readonly waiters: Waiters,
    private readonly counters: { fetchRequests: number; fetchRecords: number },
  ) {}

  /**
   * Fetches records from a position, never at or above the high watermark, bounded
   * by maxRecords and maxBytes. With waitMs it parks until the high watermark
   * passes the start or the time is up. Answers the fetch body of API.md as JSON text.
   */
  async fetchRecords(request: FetchRequest): Promise<Result<string>> {
    const fetched = await this.collect(request, "");
    if (!fetched.ok) return fetched;
    const f = fetched.value;
    return ok(
      `{"records":[${f.records}],"nextOffset":${f.nextOffset},"highWatermark":${f.highWatermark},"lastStableOffset":${f.lastStableOffset},"logStartOffset":${f.logStartOffset}}`,
    );
  }

  /** The same fetch for a consumer (a group member, a WebSocket tail): each record also names its topic and partition. */
  async fetchForConsumer(request: FetchRequest): Promise<Result<FetchedRecords>> {
    const log = this.log;
    const prefix = consumerPrefix(log);
    const { position } = request;
    // A group position is only ever taken from fetches below a high watermark, so one above it
    // but within the log means a newly elected leader has not yet learnt how far its
    // followers got: nothing to fetch yet. Answering OFFSET_OUT_OF_RANGE would reset the
    // member to its autoOffsetReset and re-deliver the log (found by the chaos checker).
    if (
      position.kind === "offset" &&
      position.offset > log.highWatermark &&
      position.offset <= log.logEndOffset
    ) {
      const refused = this.log.leaderCheck(request.topicId, request.leaderEpoch);
      if (refused) return refused;
      return ok({
        records: "",
        count: 0,
        nextOffset: position.offset,
        highWatermark: log.highWatermark,
        lastStableOffset: log.lastStableOffset,
        logStartOffset: log.logStartOffset,
      });
    }
    return this.collect(request, prefix);
  }

  private async collect(request: FetchRequest, prefix: string): Promise<Result<FetchedRecords>> {
    const refused = this.log.leaderCheck(request.topicId, request.leaderEpoch);
    if (refused) return refused;
    const log = this.log;
    this.counters.fetchRequests++;
    const start = this.resolve(request.position);
    if (!start.ok) return start;
    const committed = request.isolation === "read_committed";
    /** Where this read stops: the high watermark, or for read_committed the last stable offset. */
    const end = () => (committed ? log.lastStableOffset : log.highWatermark);
    let woken = false;
    if (start.value >= end() && request.waitMs > 0 && this.waiters.size < FETCH_WAITERS_MAX) {
      await this.waiters.wait(request.waitMs);
      woken = true;
      const gone = this.log.leaderCheck(request.topicId, request.leaderEpoch);
      if (gone) return gone;
      // Retention may have moved logStartOffset past the start while we waited.
      if (start.value < log.logStartOffset) return this.collect({ ...request, waitMs: 0 }, prefix);
    }
    const to = end();
    // Only readers woken together share a read; any other fetch reads on its own (no cost added).
    const { text, records, next } = woken
      ? this.sharedRead(start.value, to, request, prefix, committed)
      : this.readRange(start.value, to, request, prefix, committed);
    this.counters.fetchRecords += records;
    return ok({
      records: text,
      count: records,
      nextOffset: next,
      highWatermark: log.highWatermark,
      lastStableOffset: log.lastStableOffset,
      logStartOffset: log.logStartOffset,
    });
  }

  /** The records of a range as text (aborted records left out for read_committed). */
  private readRange(start: number, to: number, request: FetchRequest, prefix: string, committed: boolean) {
    const log = this.log;
    const aborted = committed ? log.transactions.abortedOverlapping(start, to) : [];
    return log.recordsText(start, to, request.maxRecords, request.maxBytes, prefix, aborted);
  }

  /**
   * The same for a reader woken by a move of the high watermark: readers woken together
   * ask for the same range (a thousand SSE tails at one offset), so the first one reads it
   * and the others in the same turn get that text. The range below the high watermark never
   * changes but by retention or compaction, which the key (logStartOffset) or the turn's
   * end (the map is dropped by the next task) cover.
   */
  private sharedRead(start: number, to: number, request: FetchRequest, prefix: string, committed: boolean) {
    const key = `${start}|${to}|${this.log.logStartOffset}|${request.maxRecords}|${request.maxBytes}|${committed}|${prefix}`;
    const cached = this.turnReads.get(key);
    if (cached) return cached;
    const read = this.readRange(start, to, request, prefix, committed);
    if (this.turnReads.size === 0) setTimeout(() => this.turnReads.clear(), 0);
    if (this.turnReads.size < TURN_READS_MAX) this.turnReads.set(key, read);
    return read;
  }

  private resolve(position: FetchPosition): Result<number> {
    const log = this.log;
    return resolveFetchOffset(position, log, (t) => log.offsetForTimestamp(t, log.logStartOffset));
  }

  /** Where a position points now (offset resets, WebSocket tails), with the log's offsets. */
  resolveOffset(topicId: string, leaderEpoch: number, position: FetchPosition): Result<ResolvedOffset> {
    const refused = this.log.leaderCheck(topicId, leaderEpoch);
    if (refused) return refused;
    const offset = this.resolve(position);
    if (!offset.ok) return offset;
    return ok({
      offset: offset.value,
      logStartOffset: this.log.logStartOffset,
      highWatermark: this.log.highWatermark,
    });
  }
}
