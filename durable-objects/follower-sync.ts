import { withTimeout } from "../core/concurrency";
import type { Result } from "../core/errors";
import { type FollowerProgress, ReplicationState } from "../core/replication-state";
import type { AlarmScheduler } from "./alarm-scheduler";
import type { ReplicaBatch, ReplicateRequest, ReplicateResult } from "./contract";
import type { Env } from "./env";
import { LiveBatches } from "./live-batches";
import type { Partition } from "./partition";
import type { PartitionLog } from "./partition-log";
import type { PartitionWatchers } from "./partition-watchers";
import { replicaStub, topicRegistry } from "./stubs";

/**
 * A leader keeping its followers in sync (Kafka's leader side of replication):
 * live batches pipelined to in-sync followers, bounded catch-up calls for the
 * rest, ISR shrink and expansion through the registry, all on the bookkeeping of
 * core ReplicationState, which this class feeds with the followers' answers.
 */

/** Records a catch-up call sends at most (bytes are bounded by APPEND_CHUNK_BYTES_MAX). */
const REPLICA_FETCH_RECORDS_MAX = 5_000;
/** Catch-up calls one follower gets per alarm run before the alarm re-arms: bounded work. */
const CATCH_UP_ROUNDS_MAX = 20;
/** How soon a failed ISR report to the registry is retried. */
const ISR_RETRY_MS = 1_000;

/** What the partition does when replication changes something. */
export type FollowerSyncHooks = {
  /** The high watermark moved. */
  onHighWatermark(): void;
  /** A follower answered or failed: waiting acks=all appends look again. */
  onProgress(): void;
  /** A follower knows a newer leader epoch: step down. */
  stepDown(leaderEpoch: number): void;
  /** This replica is failing or hung (fault injection): it sends nothing. */
  faulted(): boolean;
};

export class FollowerSync {
  /** The followers' bookkeeping while this replica leads; null while it follows. */
  private replication: ReplicationState | null = null;
  /** One stub a follower, so that calls to it keep their order (E-order); renewed after a failure. */
  private stubs = new Map<number, DurableObjectStub<Partition>>();
  /** The watchers version each follower has (see PartitionWatchers.version). */
  private watchersSent = new Map<number, number>();
  private isrDirty = false;
  /** The current commit group's batches, combined, sent once its writes are done. */
  private readonly live = new LiveBatches((batch) => this.sendLive(batch));
  /** The last ISR sent to the registry: sends go one at a time (see sendIsr). */
  private isrSends: Promise<void> = Promise.resolve();

  constructor(
    private readonly env: Env,
    private readonly log: PartitionLog,
    private readonly alarms: AlarmScheduler,
    private readonly watchers: PartitionWatchers,
    private readonly hooks: FollowerSyncHooks,
  ) {}

  /**
   * A leadership term starts: every follower's log is `knownLogEndOffset` (0 for
   * a new topic) or unknown (-1). The ISR is reported to the registry again.
   */
  lead(knownLogEndOffset: number): void {
    const log = this.log;
    const state = log.current;
    const view = {
      get logEndOffset() {
        return log.logEndOffset;
      },
      get logStartOffset() {
        return log.logStartOffset;
      },
      get highWatermark() {
        return log.highWatermark;
      },
      get minInsync() {
        return log.current.configs["min.insync.replicas"];
      },
      get lagMaxMs() {
        return log.current.configs["replica.lag.time.max.ms"];
      },
    };
    this.replication = new ReplicationState(
      view,
      { now: () => Date.now(), random: () => Math.random() },
      {
        replica: state.replica,
        replicationFactor: state.replicationFactor,
        isr: state.isr,
        knownLogEndOffset,
      },
    );
    this.stubs = new Map();
    this.watchersSent = new Map();
    this.live.clear();
  }

  /** This replica follows now: nothing is sent any more. */
  stop(): void {
    this.replication = null;
    this.live.clear();
  }

  get followers(): readonly FollowerProgress[] {
    return this.replication?.followers ?? [];
  }

  /** ISR members, the leader included, holding every record below `offset`. */
  copiesAt(offset: number): number {
    return this.replication?.copiesAt(offset) ?? 0;
  }

  /** Applies the high watermark rule; the log keeps the result. */
  advanceHighWatermark(): void {
    if (this.replication === null || !this.log.isLeader()) return;
    const hw = this.replication.advanceHighWatermark();
    if (hw === null) return;
    this.log.highWatermark = hw;
    this.hooks.onHighWatermark();
  }

  /** Asks followers for their logs now: all of them (a new term) or the in-sync ones (a restart). */
  async probe(which: "all" | "inSync"): Promise<void> {
    await Promise.all(this.followers.filter((f) => which === "all" || f.inSync).map((f) => this.catchUp(f)));
  }

  /** The ISR may not have reached the registry (a restart): the next alarm reports it. */
  markIsrDirty(): void {
    this.isrDirty = true;
  }

  /** The ISR changed or may not have reached the registry: report it (retried by the alarm). */
  reportIsr(): void {
    this.isrDirty = true;
    void this.pushIsr();
  }

  /**
   * A batch was just appended: it goes to the followers with the other batches of its
   * commit group, as one call per follower (sent once the group's writes are done).
   */
  replicateLive(batch: ReplicaBatch): void {
    if (this.replication !== null) this.live.add(batch);
  }

  /** Sends live batches to every in-sync follower whose pipeline is at their base offset. */
  private sendLive(batch: ReplicaBatch): void {
    const replication = this.replication;
    if (replication === null) return;
    const epoch = this.log.current.leaderEpoch;
    for (const f of replication.followers) {
      const decision = replication.onAppend(f, batch.baseOffset, batch.endOffset);
      if (decision === "catchUp") void this.catchUp(f);
      if (decision !== "send") continue;
      const sentAtMs = Date.now();
      this.sendTo(f, batch).then(
        (logEndOffset) => this.onLiveAck(f, epoch, logEndOffset, batch.endOffset, sentAtMs),
        (error) => {
          replication.onLiveFailure(f);
          this.onFailure(f, epoch, error);
        },
      );
    }
    if (replication.followers.some((f) => f.inSync)) void this.alarms.schedule(Date.now() + this.lagMaxMs());
  }

  private lagMaxMs(): number {
    return this.log.current.configs["replica.lag.time.max.ms"];
  }

  /** The term of `epoch` is still on (a callback of an older term does nothing). */
  private leading(epoch: number): ReplicationState | null {
    if (!this.log.isLeader() || this.log.current.leaderEpoch !== epoch) return null;
    return this.replication;
  }

  private stub(replica: number): DurableObjectStub<Partition> {
    let stub = this.stubs.get(replica);
    if (stub === undefined) {
      const state = this.log.current;
      stub = replicaStub(this.env, state.topic, state.partition, replica);
      this.stubs.set(replica, stub);
    }
    return stub;
  }

  private async sendTo(f: FollowerProgress, batch: ReplicaBatch): Promise<number> {
    // A failing or hung leader is down for its followers too: it sends nothing (as a crashed one).
    if (this.hooks.faulted()) throw new Error("injected fault: this replica is down");
    const log = this.log;
    const state = log.current;
    const request: ReplicateRequest = {
      topicId: state.topicId,
      leader: state.replica,
      leaderEpoch: state.leaderEpoch,
      epochs: log.epochs,
      leaderLogEndOffset: log.logEndOffset,
      highWatermark: log.highWatermark,
      ...batch,
      logStartOffset: log.logStartOffset,
    };
    const version = this.watchers.version;
    if (this.watchersSent.get(f.replica) !== version) request.watchers = this.watchers.list();
    const result = await withTimeout<Result<ReplicateResult>>(
      this.stub(f.replica).replicate(request),
      this.lagMaxMs(),
      `replicate to replica ${f.replica}`,
    );
    if (result.ok) {
      if (request.watchers)
        this.watchersSent.set(f.replica, Math.max(this.watchersSent.get(f.replica) ?? -1, version));
      return result.value.logEndOffset;
    }
    if (result.error.code === "FENCED_LEADER_EPOCH" && result.error.leaderEpoch !== undefined)
      this.hooks.stepDown(result.error.leaderEpoch); // a newer leader exists
    throw new Error(`replica ${f.replica}: ${result.error.code} ${result.error.message}`);
  }

  private onLiveAck(
    f: FollowerProgress,
    epoch: number,
    logEndOffset: number,
    sentEnd: number,
    sentAtMs: number,
  ): void {
    const replication = this.leading(epoch);
    if (replication === null) return; // that term's bookkeeping is gone with it
    const { catchUp, rejoin } = replication.onLiveAck(f, logEndOffset, sentEnd, sentAtMs);
    if (catchUp) void this.catchUp(f);
    if (rejoin) void this.expandIsr(f);
    this.advanceHighWatermark();
    this.hooks.onProgress();
  }

  private onFailure(f: FollowerProgress, epoch: number, error: unknown): void {
    const replication = this.leading(epoch);
    if (replication === null) return;
    this.stubs.delete(f.replica); // a stub is broken for good once a call on it fails: make a new one
    const { leave, recheckMs, retryAtMs } = replication.onFailure(f);
    if (leave) {
      const state = this.log.current;
      console.warn(`${state.topic}/${state.partition}: replica ${f.replica} leaves the ISR:`, String(error));
      this.shrinkIsr(replication);
    }
    if (recheckMs !== null) void this.alarms.schedule(recheckMs);
    void this.alarms.schedule(retryAtMs);
    this.hooks.onProgress();
  }

  /**
   * Brings one follower up to the leader's log end in bounded chunks from its last
   * acknowledged offset (its first answer in an epoch also truncates a divergent
   * suffix). One at a time per follower; returns it to the ISR when caught up.
   */
  private async catchUp(f: FollowerProgress): Promise<void> {
    if (f.catchingUp || !this.log.isLeader()) return;
    f.catchingUp = true;
    const log = this.log;
    const epoch = log.current.leaderEpoch;
    try {
      for (let round = 0; round < CATCH_UP_ROUNDS_MAX; round++) {
        const replication = this.leading(epoch);
        if (replication === null) return;
        const from = replication.catchUpFrom(f);
        const end = Math.min(log.logEndOffset, from + REPLICA_FETCH_RECORDS_MAX);
        const part =
          from < end ? log.readChunks(from, end) : { chunks: [], count: 0, maxTimestamp: 0, next: end };
        const logEndOffset = await this.sendTo(f, {
          baseOffset: from,
          endOffset: part.next,
          chunks: part.chunks,
          sparse: true,
          maxTimestamp: part.maxTimestamp,
          producers: part.count > 0 ? log.producers.producerBatchesIn(from, part.next) : [],
          transactions: log.transactions.eventsIn(from, part.next),
        });
        const still = this.leading(epoch);
        if (still === null) return;
        const caughtUp = still.onCatchUpAck(f, logEndOffset);
        if (caughtUp && !f.inSync) void this.expandIsr(f);
        this.advanceHighWatermark();
        this.hooks.onProgress();
        if (caughtUp) return;
      }
      void this.alarms.schedule(Date.now()); // more to send: continue in the next alarm run
    } catch (error) {
      this.onFailure(f, epoch, error);
    } finally {
      f.catchingUp = false;
    }
  }

  /** The bookkeeping's ISR changed: the replica's state keeps it. */
  private saveIsr(replication: ReplicationState): void {
    const state = this.log.current;
    this.log.state = { ...state, isr: replication.isr(state.replica) };
    this.log.saveState();
  }

  /** A follower left the ISR (the registry may still list it: elections then wait for it too, which is safe). */
  private shrinkIsr(replication: ReplicationState): void {
    this.saveIsr(replication);
    this.reportIsr();
    this.advanceHighWatermark();
  }

  /**
   * A caught-up follower rejoins the ISR only once the registry has recorded it: the
   * high watermark and acks=all count a copy on it from then on, so an election (which
   * asks the registry's ISR) can never miss a replica holding acknowledged records.
   */
  private async expandIsr(f: FollowerProgress): Promise<void> {
    const replication = this.replication;
    if (replication === null || !replication.beginJoin(f)) return;
    const epoch = this.log.current.leaderEpoch;
    let recorded = false;
    try {
      recorded = await this.sendIsr();
    } catch (error) {
      console.warn("ISR expansion not recorded by the registry; retried on the next catch-up", String(error));
    }
    if (!recorded || this.leading(epoch) !== replication) {
      replication.joinFailed(f);
      return;
    }
    replication.joined(f);
    this.saveIsr(replication);
    this.advanceHighWatermark();
    this.hooks.onProgress();
  }

  /**
   * Sends the registry this leader's ISR plus the followers joining it, one send at a
   * time in order, so the registry's ISR always holds every replica the high watermark
   * counts. True when the registry recorded it (false: this leader's epoch is over).
   */
  private sendIsr(): Promise<boolean> {
    const send = this.isrSends.then(() => {
      const state = this.log.state;
      if (state === null || !this.log.isLeader()) return false;
      const isr = this.replication?.isrToRecord(state.replica);
      if (isr === undefined) return false;
      return topicRegistry(this.env).updateIsr(state.topic, state.partition, state.leaderEpoch, isr);
    });
    this.isrSends = send.then(
      () => undefined,
      () => undefined,
    );
    return send;
  }

  /** Tells the registry the ISR after it shrank; retried by the alarm until it lands. */
  private async pushIsr(): Promise<void> {
    if (this.log.state === null || !this.log.isLeader() || !this.isrDirty) return;
    this.isrDirty = false;
    try {
      await this.sendIsr();
    } catch (error) {
      console.warn("ISR update to the registry failed; retrying by alarm", String(error));
      this.isrDirty = true;
      void this.alarms.schedule(Date.now() + ISR_RETRY_MS);
    }
  }

  /**
   * The alarm's replication work: followers lagging past replica.lag.time.max.ms
   * leave the ISR (when they may), the others behind are caught up once their
   * back-off is over, a pending ISR report is retried. Answers when it is due again.
   */
  async runAlarm(): Promise<number> {
    const replication = this.replication;
    if (replication === null) return Number.POSITIVE_INFINITY;
    const work = replication.due();
    const state = this.log.current;
    for (const f of work.left)
      console.warn(`${state.topic}/${state.partition}: replica ${f.replica} lags; leaves the ISR`);
    if (work.left.length > 0) this.shrinkIsr(replication);
    const running = work.catchUp.map((f) => this.catchUp(f));
    if (this.isrDirty) running.push(this.pushIsr());
    await Promise.all(running);
    let nextMs = Math.min(work.nextMs, replication.nextRetryMs());
    if (this.isrDirty) nextMs = Math.min(nextMs, Date.now() + ISR_RETRY_MS);
    return nextMs;
  }
}
