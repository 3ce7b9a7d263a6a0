import { DurableObject } from "cloudflare:workers";
import { withTimeout } from "../core/concurrency";
import { fail, ok, type Result } from "../core/errors";
import type { FetchPosition } from "../core/fetch-position";
import { epochsBelow } from "../core/replication";
import type { TopicConfigs } from "../core/topic-config";
import { AlarmScheduler } from "./alarm-scheduler";
import type {
  AppendInfo,
  AppendRequest,
  ElectionState,
  FetchedRecords,
  FetchRequest,
  MarkerRequest,
  PartitionInfo,
  PartitionMetrics,
  ProducerSequenceRequest,
  ReplicaState,
  ReplicateRequest,
  ReplicateResult,
  ResolvedOffset,
} from "./contract";
import { type Env, producerExpirationMs } from "./env";
import { FAULTS_COMPILED, FaultInjector, type FaultMode } from "./faults";
import { FollowerAppend } from "./follower-append";
import { FollowerSync } from "./follower-sync";
import { GroupCommit } from "./group-commit";
import { LeaderAppend } from "./leader-append";
import { LeaderFetch } from "./leader-fetch";
import { LogCleanup } from "./log-cleanup";
import { PartitionLog, unknownTopic } from "./partition-log";
import { PartitionWatchers, Waiters } from "./partition-watchers";

/**
 * One replica of a topic-partition (Kafka's Partition): its RPC surface and
 * lifecycle. Every replica holds a log; the one the registry elected leads: it
 * takes appends, has FollowerSync send them to the ISR followers, moves the high
 * watermark and serves fetches. Followers accept `replicate` calls from the
 * leader of the newest epoch only, and truncate a divergent suffix first. The
 * registry makes a replica leader or follower. Cleanup (retention, compaction,
 * producer expiry) is LogCleanup's; parked calls and tails are PartitionWatchers'.
 */

/** How long a restarting leader waits for its followers before serving (see the constructor). */
const RESTART_PROBE_TIMEOUT_MS = 1_000;
/** replicateWrite's answer when an injected fault fails the call once its rows are durable. */
const FAILED_AFTER_COMMIT = Symbol("failed after commit");
/** A failing replica's alarm looks again after this long (faults active: no work, no retry storm). */
const FAULTED_ALARM_MS = 1_000;

export class Partition extends DurableObject<Env> {
  private readonly log: PartitionLog;
  private readonly alarms: AlarmScheduler;
  private readonly cleanup: LogCleanup;
  private readonly sync: FollowerSync;
  private readonly watchers: PartitionWatchers;
  private readonly fetchWaiters = new Waiters();
  private readonly ackWaiters = new Waiters();
  private readonly faults = new FaultInjector();
  private readonly counters = { produceRequests: 0, produceRecords: 0, fetchRequests: 0, fetchRecords: 0 };
  private readonly fetcher: LeaderFetch;
  private readonly appender: LeaderAppend;
  private readonly follower: FollowerAppend;
  /** Appends and replicated writes share transactions while a commit is in flight. */
  private readonly commits: GroupCommit;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    this.log = new PartitionLog(sql);
    this.alarms = new AlarmScheduler(ctx.storage);
    this.cleanup = new LogCleanup(sql, this.log, this.alarms, producerExpirationMs(env));
    this.watchers = new PartitionWatchers(env, sql, this.log);
    this.fetcher = new LeaderFetch(this.log, this.fetchWaiters, this.counters);
    this.commits = new GroupCommit(ctx.storage);
    this.follower = new FollowerAppend(this.log, this.cleanup, this.watchers);
    this.sync = new FollowerSync(env, this.log, this.alarms, this.watchers, {
      onHighWatermark: () => this.onHighWatermark(),
      onProgress: () => this.ackWaiters.wakeAll(),
      stepDown: (leaderEpoch) => this.becomeFollower(leaderEpoch, -1),
      faulted: () => this.faults.active,
    });
    this.appender = new LeaderAppend(
      this.log,
      this.sync,
      this.cleanup,
      this.ackWaiters,
      this.counters,
      this.faults,
      this.commits,
    );
    ctx.blockConcurrencyWhile(async () => {
      try {
        this.load();
        // A restarted leader does not know its followers' logs, and its high watermark is only
        // checkpointed: ask the in-sync followers before serving anything (bounded), so that the
        // high watermark consumers saw is back before the first fetch. The alarm retries the rest.
        if (this.log.isLeader() && this.sync.followers.length > 0) {
          await withTimeout(this.sync.probe("inSync"), RESTART_PROBE_TIMEOUT_MS, "restart probe").catch(
            () => undefined,
          );
          await this.alarms.schedule(Date.now());
        }
      } catch (error) {
        // A throwing callback would reset the object in a loop; log and serve errors instead.
        console.error("Partition failed to load", error);
      }
    });
  }

  private load(): void {
    this.log.load();
    this.watchers.load();
    this.follower.reconciled(-1);
    if (!this.log.isLeader()) {
      this.sync.stop();
      return;
    }
    this.sync.lead(-1);
    this.sync.advanceHighWatermark();
    // A shrink reported before a crash may not have reached the registry: report the ISR again.
    this.sync.markIsrDirty();
    void this.alarms.schedule(Date.now());
  }

  /** The high watermark moved: parked fetches and tails read on; checkpointed soon, off the produce path. */
  private onHighWatermark(): void {
    this.fetchWaiters.wakeAll();
    this.watchers.notifyAll();
    this.log.checkpointHighWatermarkSoon();
  }

  // ---- lifecycle (called by the registry) ----
  /** Creates (or re-creates) this replica for a topic incarnation; idempotent for the same topicId. A failing replica fails it. */
  async init(spec: ReplicaState): Promise<void> {
    await this.faults.gate();
    const log = this.log;
    if (log.state !== null && log.state.topicId === spec.topicId) {
      await this.updateConfigs(spec.topicId, spec.configs);
      return;
    }
    if (log.state !== null || log.logEndOffset > 0) await this.wipe(); // another incarnation's leftovers
    log.state = { ...spec };
    if (log.isLeader()) {
      log.epochs = [{ epoch: spec.leaderEpoch, startOffset: 0 }];
      log.saveEpochs(log.epochs);
      this.sync.lead(0); // a new topic: every replica's log is empty
    }
    log.saveState();
  }

  async updateConfigs(topicId: string, configs: TopicConfigs): Promise<void> {
    const log = this.log;
    if (log.state?.topicId !== topicId) return;
    log.state = { ...log.state, configs };
    log.saveState();
    if (log.isLeader()) await this.alarms.schedule(Date.now()); // new retention applies at the next alarm
  }

  /** Removes this replica of a deleted topic: all rows, offsets and state. */
  async deleteLog(topicId: string): Promise<void> {
    if (this.log.state?.topicId !== topicId) return;
    await this.wipe();
  }

  private async wipe(): Promise<void> {
    await this.ctx.storage.deleteAll();
    this.log.state = null;
    this.alarms.fired();
    this.load();
    this.fetchWaiters.wakeAll(); // parked fetches re-check and answer UNKNOWN_TOPIC_OR_PARTITION
    this.ackWaiters.wakeAll();
  }

  /** Becomes the leader of `leaderEpoch` (a clean election by the registry). */
  async makeLeader(topicId: string, leaderEpoch: number, isr: number[]): Promise<Result<null>> {
    await this.faults.gate();
    const log = this.log;
    const state = log.state;
    if (state === null || state.topicId !== topicId) return unknownTopic();
    if (leaderEpoch < state.leaderEpoch || (leaderEpoch === state.leaderEpoch && !log.isLeader()))
      return fail("FENCED_LEADER_EPOCH", `epoch ${leaderEpoch} is not newer than ${state.leaderEpoch}`, {
        leaderEpoch: state.leaderEpoch,
      });
    log.state = {
      ...state,
      leader: state.replica,
      leaderEpoch,
      isr: [...new Set([state.replica, ...isr])].sort((a, b) => a - b),
    };
    if (log.epochs[log.epochs.length - 1]?.epoch !== leaderEpoch) {
      log.epochs.push({ epoch: leaderEpoch, startOffset: log.logEndOffset });
      log.saveEpochs(log.epochs);
    }
    this.follower.reconciled(leaderEpoch);
    this.sync.lead(-1);
    log.saveState();
    void this.sync.probe("all"); // probe every follower now
    this.cleanup.armProducerExpiry(); // producer state copied from the old leader expires here now
    // Sessions tailing this partition were watching the old leader: tell them to read from here.
    this.watchers.notifyAll();
    this.sync.reportIsr();
    return ok(null);
  }

  /** Follows `leader` in `leaderEpoch`; a leader of an older epoch steps down. */
  async makeFollower(topicId: string, leaderEpoch: number, leader: number): Promise<Result<null>> {
    await this.faults.gate();
    const state = this.log.state;
    if (state === null || state.topicId !== topicId) return unknownTopic();
    if (leaderEpoch < state.leaderEpoch) return ok(null); // stale news
    this.becomeFollower(leaderEpoch, leader);
    return ok(null);
  }

  private becomeFollower(leaderEpoch: number, leader: number): void {
    const state = this.log.current;
    if (state.leaderEpoch === leaderEpoch && state.leader === leader) return;
    this.log.state = { ...state, leaderEpoch, leader };
    this.sync.stop();
    this.log.saveState();
    this.ackWaiters.wakeAll(); // waiting acks=all produces answer NOT_LEADER_OR_FOLLOWER
    this.fetchWaiters.wakeAll();
  }

  /** For elections: this replica's last written epoch and log end offset (also a reachability probe). */
  async electionState(topicId: string): Promise<ElectionState | null> {
    await this.faults.gate();
    const log = this.log;
    if (log.state?.topicId !== topicId) return null;
    const written = epochsBelow(log.epochs, log.logEndOffset);
    return {
      replica: log.state.replica,
      leaderEpoch: log.state.leaderEpoch,
      lastEpoch: written[written.length - 1]?.epoch ?? -1,
      logEndOffset: log.logEndOffset,
    };
  }

  // ---- leader: produce (LeaderAppend) ----

  /**
   * Appends one request's records, sends them to the in-sync followers, and for
   * acks=all answers once min.insync.replicas ISR members hold them.
   */
  async append(request: AppendRequest): Promise<Result<AppendInfo>> {
    await this.faults.gate();
    return this.appender.append(request);
  }

  /** A transaction coordinator's marker for this partition (LeaderAppend.writeMarker). */
  async writeMarker(request: MarkerRequest): Promise<Result<{ offset: number | null }>> {
    await this.faults.gate();
    return this.appender.writeMarker(request);
  }

  /**
   * Cleanup (LogCleanup), then a leader's replication work (FollowerSync).
   * Idempotent: all due work is recomputed from the current state; re-armed only
   * while work remains.
   */
  override async alarm(): Promise<void> {
    this.alarms.fired();
    if (this.faults.active) {
      await this.alarms.schedule(Date.now() + FAULTED_ALARM_MS);
      return;
    }
    if (this.log.state === null) return;
    const cleanupNextMs = this.cleanup.run(Date.now());
    const nextMs = Math.min(cleanupNextMs, this.log.isLeader() ? await this.sync.runAlarm() : Infinity);
    if (nextMs < Number.POSITIVE_INFINITY) await this.alarms.schedule(nextMs);
  }

  // ---- follower ----

  /**
   * A leader's records (or an empty probe). Refused from an older epoch; a newer
   * epoch's leader is followed (FollowerAppend stores the records).
   */
  async replicate(request: ReplicateRequest): Promise<Result<ReplicateResult>> {
    await this.faults.gate();
    const written = await this.commits.submit(() => this.replicateWrite(request));
    if (written === FAILED_AFTER_COMMIT) throw new Error("injected fault: failed after commit");
    return written;
  }

  /** The synchronous part of replicate, run in its commit group on the state it finds there. */
  private replicateWrite(request: ReplicateRequest): Result<ReplicateResult> | typeof FAILED_AFTER_COMMIT {
    const log = this.log;
    const state = log.state;
    if (state === null || state.topicId !== request.topicId) return unknownTopic();
    if (
      request.leaderEpoch < state.leaderEpoch ||
      (request.leaderEpoch === state.leaderEpoch && log.isLeader())
    )
      return fail(
        "FENCED_LEADER_EPOCH",
        `leader epoch ${request.leaderEpoch} is stale; this replica knows ${state.leaderEpoch}`,
        { leaderEpoch: state.leaderEpoch },
      );
    this.becomeFollower(request.leaderEpoch, request.leader);
    const stored = this.follower.apply(request);
    // An injected failure after the commit: the records stay, the call fails.
    return stored.wrote && this.faults.failsAfterCommit() ? FAILED_AFTER_COMMIT : ok(stored.result);
  }

  // ---- leader: fetch (LeaderFetch) ----

  /** The fetch route's records from a position, as the fetch body of API.md (JSON text). */
  async fetchRecords(request: FetchRequest): Promise<Result<string>> {
    await this.faults.gate();
    return this.fetcher.fetchRecords(request);
  }

  /** The same fetch for a consumer (a group member, a WebSocket tail): each record also names its topic and partition. */
  async fetchForConsumer(request: FetchRequest): Promise<Result<FetchedRecords>> {
    await this.faults.gate();
    return this.fetcher.fetchForConsumer(request);
  }

  /** Where a position points now (offset resets, WebSocket tails), with the log's offsets. */
  async resolveOffset(
    topicId: string,
    leaderEpoch: number,
    position: FetchPosition,
  ): Promise<Result<ResolvedOffset>> {
    await this.faults.gate();
    return this.fetcher.resolveOffset(topicId, leaderEpoch, position);
  }

  // ---- push to WebSocket sessions ----

  /** A session tails this partition: it is told whenever the high watermark moves. */
  async watch(topicId: string, sessionId: string): Promise<Result<{ highWatermark: number }>> {
    const state = this.log.state;
    if (state === null || state.topicId !== topicId) return unknownTopic();
    if (!this.log.isLeader()) return fail("NOT_LEADER_OR_FOLLOWER", "watch the partition's leader");
    const added = this.watchers.add(sessionId);
    if (!added.ok) return added;
    return ok({ highWatermark: this.log.highWatermark });
  }

  async unwatch(sessionId: string): Promise<void> {
    this.watchers.remove(sessionId);
  }

  // ---- visibility and tests ----

  /**
   * The newest sequence of `producer`'s epoch this leader appended, -1 for none (a
   * restarted producer object recovers its next sequence from its partitions).
   */
  async producerSequence(request: ProducerSequenceRequest): Promise<Result<number>> {
    await this.faults.gate();
    return this.appender.producerSequence(request);
  }

  /** Offsets, leader and ISR of this replica's view; null for another incarnation. */
  async describe(topicId: string): Promise<PartitionInfo | null> {
    if (this.log.state?.topicId !== topicId) return null;
    return this.info();
  }

  async metrics(topicId: string): Promise<PartitionMetrics | null> {
    if (this.log.state?.topicId !== topicId) return null;
    return { ...this.info(), replicationFactor: this.log.state.replicationFactor, ...this.counters };
  }

  private info(): PartitionInfo {
    const log = this.log;
    const state = log.current;
    return {
      partition: state.partition,
      replica: state.replica,
      leader: state.leader,
      leaderEpoch: state.leaderEpoch,
      isr: state.isr,
      logStartOffset: log.logStartOffset,
      logEndOffset: log.logEndOffset,
      highWatermark: log.highWatermark,
      lastStableOffset: log.lastStableOffset,
    };
  }

  /** Test-only fault injection; compiled out unless EDGELOG_FAULTS=1 at build time. */
  async injectFault(mode: FaultMode | "reset"): Promise<Result<null>> {
    if (!FAULTS_COMPILED) return fail("NOT_FOUND", "fault injection is not compiled into this build");
    if (mode === "reset") this.ctx.abort("injected fault: reset");
    else this.faults.set(mode);
    return ok(null);
  }
}
