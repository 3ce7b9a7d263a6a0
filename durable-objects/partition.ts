import { DurableObject } from "cloudflare:workers";
import { withTimeout } from "../core/concurrency";
import { type ErrorInfo, fail, ok, type Result } from "../core/errors";
import { type FetchPosition, resolveFetchOffset } from "../core/fetch-position";
import { type ProducerBatch, type ProducerRef, partitionDecision } from "../core/idempotence";
import { FETCH_WAITERS_MAX, PARTITION_WATCHERS_MAX } from "../core/limits";
import type { AppendChunk } from "../core/record-codec";
import {
  copiesAtOrAbove,
  divergenceOffset,
  type EpochEntry,
  epochsBelow,
  highWatermarkFor,
  mayLeaveIsr,
  nextBackoffMs,
  sameEpochs,
} from "../core/replication";
import { deletesByRetention, isCompacted, type TopicConfigs } from "../core/topic-config";
import { AlarmScheduler } from "./alarm-scheduler";
import type {
  Acks,
  AppendInfo,
  AppendRequest,
  ElectionState,
  FetchedRecords,
  FetchRequest,
  PartitionInfo,
  PartitionMetrics,
  ReplicaBatch,
  ReplicaState,
  ReplicateRequest,
  ReplicateResult,
  ResolvedOffset,
} from "./contract";
import { type Env, producerExpirationMs } from "./env";
import { FAULTS_COMPILED, FaultInjector, type FaultMode } from "./faults";
import { PartitionLog } from "./partition-log";
import { replicaStub, topicRegistry, wsSession } from "./stubs";

/**
 * One replica of a topic-partition (Kafka's Partition). Every replica holds a
 * log; the one the registry elected leads: it takes appends, sends them to the
 * ISR followers, moves the high watermark and serves fetches. Followers accept
 * `replicate` calls from the leader of the newest epoch only, and truncate a
 * divergent suffix first. The registry makes a replica leader or follower.
 */

/** Records a catch-up call sends at most (bytes are bounded by APPEND_CHUNK_BYTES_MAX). */
const REPLICA_FETCH_RECORDS_MAX = 5_000;
/**
 * Live batches in flight to one follower. Past it the follower is caught up from
 * its acknowledged offset in larger chunks instead: flow control for acks=0/1 load.
 */
const REPLICA_IN_FLIGHT_MAX = 4;
/** Catch-up calls one follower gets per alarm run before the alarm re-arms: bounded work. */
const CATCH_UP_ROUNDS_MAX = 20;
/** How often a moved high watermark is checkpointed to storage (coalesced, off the produce path). */
const HIGH_WATERMARK_CHECKPOINT_MS = 100;
/** Records deleted per step of retention (one alarm run, one replicate call on a follower). */
const RETENTION_DELETE_ROWS_MAX = 10_000;
/** After appends, how soon retention.bytes is checked (coalesced with any earlier alarm). */
const RETENTION_BYTES_CHECK_MS = 1_000;
/** How soon retention looks again when expired records wait for the high watermark. */
const RETENTION_BLOCKED_RETRY_MS = 1_000;
/** The latest a retention.ms check is put off (a clock or config change is caught by then). */
const RETENTION_CHECK_MS_MAX = 60 * 60 * 1000;
/** How long a restarting leader waits for its followers before serving (see the constructor). */
const RESTART_PROBE_TIMEOUT_MS = 1_000;
/** Offsets one compaction step covers (one alarm run): bounded work, readers never wait long. */
const COMPACTION_STEP_OFFSETS = 10_000;
/** How soon a compacted log is looked at again after new records or with tombstones waiting (Kafka's cleaner back-off is 15 s). */
const COMPACTION_INTERVAL_MS = 5_000;
/** Producers forgotten per alarm run once silent for producer.id.expiration.ms (bounded work). */
const PRODUCER_EXPIRY_MAX = 1_000;
/** A failing replica's alarm looks again after this long (faults active: no work, no retry storm). */
const FAULTED_ALARM_MS = 1_000;

/** The leader's view of one follower. */
type Follower = {
  replica: number;
  /** Acknowledged log end offset; -1 until the follower has answered once in this epoch. */
  logEndOffset: number;
  /** End of the last batch sent on the live path; the next batch goes only if it starts there. */
  sentOffset: number;
  /** In the ISR as the high watermark and acks=all count it: only once the registry has it (see expandIsr). */
  inSync: boolean;
  /** Caught up, and the registry is being told; not counted until it has recorded it. */
  joining: boolean;
  lastCaughtUpMs: number;
  backoffMs: number;
  retryAtMs: number;
  catchingUp: boolean;
  /** Live batches sent and not yet answered. */
  inFlight: number;
  /** The watchers version this follower has (see watchersVersion). */
  watchersSent: number;
  /** One stub a follower, so that calls to it keep their order (E-order). */
  stub: DurableObjectStub<Partition>;
};

export class Partition extends DurableObject<Env> {
  private readonly log: PartitionLog;
  private state: ReplicaState | null = null;

  /** The replica's state where the caller already knows it exists (a leader, a running timer): a bug otherwise. */
  private get current(): ReplicaState {
    if (this.state === null) throw new Error("partition state read before the replica was created");
    return this.state;
  }
  private logStartOffset = 0;
  private logEndOffset = 0;
  private highWatermark = 0;
  private maxTimestamp = 0;
  private epochs: EpochEntry[] = [];
  private followers: Follower[] = [];
  /** The epoch whose leader this follower has already reconciled its log with. */
  private reconciledEpoch = -1;
  private readonly fetchWaiters = new Set<() => void>();
  private readonly ackWaiters = new Set<() => void>();
  private readonly faults = new FaultInjector();
  private checkpointTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly alarms: AlarmScheduler;
  private isrDirty = false;
  /** The last ISR sent to the registry: sends go one at a time (see sendIsr). */
  private isrSends: Promise<void> = Promise.resolve();
  /**
   * Log compaction: the pass under way (the next offset to clean and the bound
   * fixed when it started), and what the last pass saw, to skip passes with nothing new.
   */
  private compaction: { next: number; end: number; bound: number } | null = null;
  private lastCompactionBound = -1;
  /** When the oldest tombstone the last pass kept may go (delete.retention.ms after its timestamp). */
  private tombstoneDueMs = 0;
  /** An alarm is set for forgetting silent producers (one per leadership; re-armed by the alarm). */
  private producerExpiryArmed = false;
  /** WebSocket sessions tailing this partition, and the notifications under way to them. */
  /** A follower still has rows below logStartOffset to delete (set when the leader's moves; true after a load). */
  private retentionPending = true;
  private watchers = new Set<string>();
  /** Bumped when the watchers change; followers are sent the list until they have this version. */
  private watchersVersion = 0;
  private readonly notifying = new Set<string>();
  private readonly renotify = new Set<string>();
  private readonly counters = { produceRequests: 0, produceRecords: 0, fetchRequests: 0, fetchRecords: 0 };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.log = new PartitionLog(ctx.storage.sql);
    this.alarms = new AlarmScheduler(ctx.storage);
    ctx.blockConcurrencyWhile(async () => {
      try {
        this.load();
        // A restarted leader does not know its followers' logs, and its high watermark is only
        // checkpointed: ask the in-sync followers before serving anything (bounded), so that the
        // high watermark consumers saw is back before the first fetch. The alarm retries the rest.
        if (this.isLeader() && this.followers.length > 0) {
          const probes = this.followers.filter((f) => f.inSync).map((f) => this.catchUp(f));
          await withTimeout(Promise.all(probes), RESTART_PROBE_TIMEOUT_MS, "restart probe").catch(
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
    const loaded = this.log.load();
    this.state = loaded.state;
    this.logStartOffset = loaded.logStartOffset;
    this.logEndOffset = loaded.logEndOffset;
    this.highWatermark = loaded.highWatermark;
    this.maxTimestamp = loaded.maxTimestamp;
    this.epochs = loaded.epochs;
    this.watchers = new Set(this.log.watchers());
    this.reconciledEpoch = -1;
    this.followers = this.isLeader() ? this.newFollowers(-1) : [];
    if (this.isLeader()) {
      this.maybeIncrementHighWatermark();
      // A shrink reported before a crash may not have reached the registry: report the ISR again.
      this.isrDirty = true;
      void this.alarms.schedule(Date.now());
    }
  }

  private isLeader(): boolean {
    return this.state !== null && this.state.leader === this.state.replica;
  }

  private newFollowers(knownLogEndOffset: number): Follower[] {
    const state = this.current;
    const followers: Follower[] = [];
    for (let replica = 0; replica < state.replicationFactor; replica++) {
      if (replica === state.replica) continue;
      followers.push({
        replica,
        logEndOffset: knownLogEndOffset,
        sentOffset: knownLogEndOffset,
        inSync: state.isr.includes(replica),
        joining: false,
        lastCaughtUpMs: Date.now(),
        backoffMs: 0,
        retryAtMs: 0,
        catchingUp: false,
        inFlight: 0,
        watchersSent: -1,
        stub: replicaStub(this.env, state.topic, state.partition, replica),
      });
    }
    return followers;
  }

  private saveState(): void {
    this.log.saveState(this.current, this.logStartOffset, this.highWatermark);
  }

  // ---- lifecycle (called by the registry) ----

  /** Creates (or re-creates) this replica for a topic incarnation; idempotent for the same topicId. */
  async init(spec: ReplicaState): Promise<void> {
    if (this.state !== null && this.state.topicId === spec.topicId) {
      await this.updateConfigs(spec.topicId, spec.configs);
      return;
    }
    if (this.state !== null || this.logEndOffset > 0) await this.wipe(); // another incarnation's leftovers
    this.state = { ...spec };
    if (this.isLeader()) {
      this.epochs = [{ epoch: spec.leaderEpoch, startOffset: 0 }];
      this.log.saveEpochs(this.epochs);
      this.followers = this.newFollowers(0); // a new topic: every replica's log is empty
    }
    this.saveState();
  }

  async updateConfigs(topicId: string, configs: TopicConfigs): Promise<void> {
    if (this.state?.topicId !== topicId) return;
    this.state = { ...this.state, configs };
    this.saveState();
    if (this.isLeader()) await this.alarms.schedule(Date.now()); // new retention applies at the next alarm
  }

  /** Removes this replica of a deleted topic: all rows, offsets and state. */
  async deleteLog(topicId: string): Promise<void> {
    if (this.state?.topicId !== topicId) return;
    await this.wipe();
  }

  private async wipe(): Promise<void> {
    await this.ctx.storage.deleteAll();
    this.state = null;
    this.alarms.fired();
    this.load();
    this.wake(this.fetchWaiters); // parked fetches re-check and answer UNKNOWN_TOPIC_OR_PARTITION
    this.wake(this.ackWaiters);
  }

  /** Becomes the leader of `leaderEpoch` (a clean election by the registry). */
  async makeLeader(topicId: string, leaderEpoch: number, isr: number[]): Promise<Result<null>> {
    await this.faults.gate();
    const state = this.state;
    if (state === null || state.topicId !== topicId) return this.unknownTopic();
    if (leaderEpoch < state.leaderEpoch || (leaderEpoch === state.leaderEpoch && !this.isLeader()))
      return fail("FENCED_LEADER_EPOCH", `epoch ${leaderEpoch} is not newer than ${state.leaderEpoch}`, {
        leaderEpoch: state.leaderEpoch,
      });
    this.state = {
      ...state,
      leader: state.replica,
      leaderEpoch,
      isr: [...new Set([state.replica, ...isr])].sort((a, b) => a - b),
    };
    if (this.epochs[this.epochs.length - 1]?.epoch !== leaderEpoch) {
      this.epochs.push({ epoch: leaderEpoch, startOffset: this.logEndOffset });
      this.log.saveEpochs(this.epochs);
    }
    this.reconciledEpoch = leaderEpoch;
    this.followers = this.newFollowers(-1);
    this.saveState();
    for (const f of this.followers) void this.catchUp(f); // probe every follower now
    this.armProducerExpiry(); // producer state copied from the old leader expires here now
    // Sessions tailing this partition were watching the old leader: tell them to read from here.
    for (const sessionId of this.watchers) this.notify(sessionId);
    this.isrDirty = true;
    void this.pushIsr();
    return ok(null);
  }

  /** Follows `leader` in `leaderEpoch`; a leader of an older epoch steps down. */
  async makeFollower(topicId: string, leaderEpoch: number, leader: number): Promise<Result<null>> {
    await this.faults.gate();
    const state = this.state;
    if (state === null || state.topicId !== topicId) return this.unknownTopic();
    if (leaderEpoch < state.leaderEpoch) return ok(null); // stale news
    this.becomeFollower(leaderEpoch, leader);
    return ok(null);
  }

  private becomeFollower(leaderEpoch: number, leader: number): void {
    const state = this.current;
    if (state.leaderEpoch === leaderEpoch && state.leader === leader) return;
    this.state = { ...state, leaderEpoch, leader };
    this.followers = [];
    this.saveState();
    this.wake(this.ackWaiters); // waiting acks=all produces answer NOT_LEADER_OR_FOLLOWER
    this.wake(this.fetchWaiters);
  }

  /** For elections: this replica's last written epoch and log end offset (also a reachability probe). */
  async electionState(topicId: string): Promise<ElectionState | null> {
    await this.faults.gate();
    if (this.state?.topicId !== topicId) return null;
    const written = epochsBelow(this.epochs, this.logEndOffset);
    return {
      replica: this.state.replica,
      leaderEpoch: this.state.leaderEpoch,
      lastEpoch: written[written.length - 1]?.epoch ?? -1,
      logEndOffset: this.logEndOffset,
    };
  }

  // ---- leader: produce ----

  private unknownTopic() {
    return fail(
      "UNKNOWN_TOPIC_OR_PARTITION",
      "this topic-partition does not exist (deleted or never created)",
    );
  }

  private leaderCheck(topicId: string, leaderEpoch: number): { ok: false; error: ErrorInfo } | null {
    const state = this.state;
    if (state === null || state.topicId !== topicId) return this.unknownTopic();
    if (!this.isLeader() || leaderEpoch !== state.leaderEpoch)
      return fail(
        "NOT_LEADER_OR_FOLLOWER",
        `replica ${state.replica} is not the leader of epoch ${leaderEpoch} (it knows epoch ${state.leaderEpoch}, leader ${state.leader})`,
        { leaderEpoch: state.leaderEpoch },
      );
    return null;
  }

  /**
   * Appends one request's chunks atomically (no await between the statements: one
   * SQLite transaction), sends them to the in-sync followers, and for acks=all
   * answers once min.insync.replicas ISR members hold them.
   */
  async append(request: AppendRequest): Promise<Result<AppendInfo>> {
    await this.faults.gate();
    const refused = this.leaderCheck(request.topicId, request.leaderEpoch);
    if (refused) return refused;
    const state = this.current;
    const producer = request.producer;
    const producerBatches = producer ? this.log.producerBatches(producer.id) : [];
    if (producer) {
      const decision = partitionDecision(producerBatches, producer.epoch, producer.sequence);
      if (decision.kind === "fenced")
        return fail(
          "PRODUCER_FENCED",
          `producer epoch ${producer.epoch} is older than epoch ${decision.epoch}, which this partition has seen`,
        );
      if (decision.kind === "duplicate") return this.answerDuplicate(decision.batch, request.acks);
      if (request.repeat)
        return fail(
          "DUPLICATE_SEQUENCE_NUMBER",
          `sequence ${producer.sequence} of epoch ${producer.epoch} was applied, but partition ${state.partition} no longer keeps its result`,
        );
    }
    const minInsync = state.configs["min.insync.replicas"];
    if (request.acks === "all" && state.isr.length < minInsync)
      return fail(
        "NOT_ENOUGH_REPLICAS",
        `the ISR has ${state.isr.length} of the ${minInsync} replicas min.insync.replicas needs; nothing was appended`,
      );
    const baseOffset = this.logEndOffset;
    const maxTimestamp = Math.max(this.maxTimestamp, request.maxTimestamp);
    const next = this.log.append(baseOffset, request.chunks, maxTimestamp);
    const producers: ProducerBatch[] = [];
    if (producer) {
      const batch = { producerId: producer.id, epoch: producer.epoch, sequence: producer.sequence };
      const defaultTimestamp = request.defaultTimestamp ?? 0;
      producers.push({
        ...batch,
        baseOffset,
        count: next - baseOffset,
        appendedMs: Date.now(),
        defaultTimestamp,
      });
      this.log.saveProducerBatch(producers[0]!, producerBatches); // read above: no second query
      if (!this.producerExpiryArmed) this.armProducerExpiry();
    }
    this.maxTimestamp = maxTimestamp;
    this.logEndOffset = next;
    this.counters.produceRequests++;
    this.counters.produceRecords += next - baseOffset;
    if (this.faults.failsAfterCommit()) {
      await this.ctx.storage.sync();
      throw new Error("injected fault: failed after commit");
    }
    this.replicateLive({
      baseOffset,
      endOffset: next,
      chunks: request.chunks,
      sparse: false,
      maxTimestamp: request.maxTimestamp,
      producers,
    });
    this.maybeIncrementHighWatermark();
    if (isCompacted(state.configs)) void this.alarms.schedule(Date.now() + COMPACTION_INTERVAL_MS);
    if (state.configs["retention.bytes"] >= 0)
      void this.alarms.schedule(Date.now() + RETENTION_BYTES_CHECK_MS);
    else if (state.configs["retention.ms"] >= 0 && baseOffset === this.logStartOffset)
      void this.alarms.schedule(this.nextRetentionCheck()); // the first batch: when could it expire?
    if (request.acks !== "all")
      return ok({ baseOffset, logEndOffset: next, highWatermark: this.highWatermark });
    return this.awaitAcks(baseOffset, next, state.leaderEpoch);
  }

  /**
   * A producer's batch this partition already appended: its original offsets
   * (and default timestamp), once acknowledged as `acks` asks (the first attempt
   * may have timed out).
   */
  private async answerDuplicate(batch: ProducerBatch, acks: Acks): Promise<Result<AppendInfo>> {
    const end = batch.baseOffset + batch.count;
    const acked =
      acks === "all" && end > this.highWatermark
        ? await this.awaitAcks(batch.baseOffset, end, this.current.leaderEpoch)
        : ok({
            baseOffset: batch.baseOffset,
            logEndOffset: this.logEndOffset,
            highWatermark: this.highWatermark,
          });
    if (!acked.ok) return acked;
    return ok({ ...acked.value, baseOffset: batch.baseOffset, defaultTimestamp: batch.defaultTimestamp });
  }

  private armProducerExpiry(): void {
    this.producerExpiryArmed = true;
    void this.alarms.schedule(Date.now() + producerExpirationMs(this.env));
  }

  private async awaitAcks(baseOffset: number, end: number, leaderEpoch: number): Promise<Result<AppendInfo>> {
    const configs = this.current.configs;
    const deadline = Date.now() + configs["replica.ack.timeout.ms"];
    for (;;) {
      const state = this.state;
      // Not NOT_LEADER_OR_FOLLOWER: that promises nothing was appended, and the gateway would retry.
      if (state === null || !this.isLeader() || state.leaderEpoch !== leaderEpoch)
        return fail(
          "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
          `appended at offsets ${baseOffset}..${end - 1}, but this replica stopped leading before they were acknowledged`,
        );
      const minInsync = state.configs["min.insync.replicas"];
      if (copiesAtOrAbove(end, this.logEndOffset, this.followers) >= minInsync)
        return ok({ baseOffset, logEndOffset: this.logEndOffset, highWatermark: this.highWatermark });
      if (state.isr.length < minInsync)
        return fail(
          "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
          `appended at offsets ${baseOffset}..${end - 1}, but the ISR shrank to ${state.isr.length} of the ${minInsync} needed; replication is retried`,
        );
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0)
        return fail(
          "REQUEST_TIMED_OUT",
          `appended at offsets ${baseOffset}..${end - 1}, but not on ${minInsync} in-sync replicas within replica.ack.timeout.ms; replication is retried`,
        );
      await this.waitOn(this.ackWaiters, remainingMs);
    }
  }

  private maybeIncrementHighWatermark(): void {
    const state = this.state;
    if (state === null || !this.isLeader()) return;
    const followers = this.followers.map((f) => ({
      logEndOffset: Math.max(0, f.logEndOffset),
      inSync: f.inSync,
    }));
    const hw = highWatermarkFor(this.logEndOffset, followers, state.configs["min.insync.replicas"]);
    if (hw === null || hw <= this.highWatermark) return;
    this.highWatermark = hw;
    this.wake(this.fetchWaiters);
    for (const sessionId of this.watchers) this.notify(sessionId);
    if (this.checkpointTimer !== null) return;
    this.checkpointTimer = setTimeout(() => {
      this.checkpointTimer = null;
      if (this.state !== null) this.log.saveHighWatermark(this.highWatermark);
    }, HIGH_WATERMARK_CHECKPOINT_MS);
  }

  // ---- leader: replication to followers ----

  /** Sends a just-appended batch to every in-sync follower whose pipeline is at `baseOffset`. */
  private replicateLive(batch: ReplicaBatch): void {
    const { baseOffset, endOffset: end } = batch;
    const epoch = this.current.leaderEpoch;
    for (const f of this.followers) {
      if (!f.inSync || f.catchingUp) continue;
      if (f.sentOffset !== baseOffset || f.inFlight >= REPLICA_IN_FLIGHT_MAX) {
        // A broken pipeline (a gap, an unknown log) or too much in flight: catch up from its end.
        f.sentOffset = -1;
        if (f.inFlight === 0) void this.catchUp(f);
        continue;
      }
      f.sentOffset = end;
      f.inFlight++;
      const sentAtMs = Date.now();
      this.sendTo(f, batch).then(
        (logEndOffset) => {
          f.inFlight--;
          this.onFollowerProgress(f, epoch, logEndOffset, end, sentAtMs);
        },
        (error) => {
          f.inFlight--;
          this.onFollowerFailure(f, epoch, error);
        },
      );
    }
    if (this.followers.some((f) => f.inSync)) void this.alarms.schedule(Date.now() + this.lagMaxMs());
  }

  private lagMaxMs(): number {
    return this.current.configs["replica.lag.time.max.ms"];
  }

  private async sendTo(f: Follower, batch: ReplicaBatch): Promise<number> {
    // A failing or hung leader is down for its followers too: it sends nothing (as a crashed one).
    if (this.faults.active) throw new Error("injected fault: this replica is down");
    const state = this.current;
    const request: ReplicateRequest = {
      topicId: state.topicId,
      leader: state.replica,
      leaderEpoch: state.leaderEpoch,
      epochs: this.epochs,
      leaderLogEndOffset: this.logEndOffset,
      highWatermark: this.highWatermark,
      ...batch,
      logStartOffset: this.logStartOffset,
    };
    const version = this.watchersVersion;
    if (f.watchersSent !== version) request.watchers = [...this.watchers];
    const result = await withTimeout<Result<ReplicateResult>>(
      f.stub.replicate(request),
      this.lagMaxMs(),
      `replicate to replica ${f.replica}`,
    );
    if (result.ok) {
      if (request.watchers) f.watchersSent = Math.max(f.watchersSent, version);
      return result.value.logEndOffset;
    }
    if (result.error.code === "FENCED_LEADER_EPOCH" && result.error.leaderEpoch !== undefined)
      this.becomeFollower(result.error.leaderEpoch, -1); // a newer leader exists: step down
    throw new Error(`replica ${f.replica}: ${result.error.code} ${result.error.message}`);
  }

  private onFollowerProgress(
    f: Follower,
    epoch: number,
    logEndOffset: number,
    sentEnd: number,
    sentAtMs: number,
  ): void {
    if (!this.isLeader() || this.current.leaderEpoch !== epoch) return;
    f.logEndOffset = Math.max(f.logEndOffset, logEndOffset);
    f.backoffMs = 0;
    if (logEndOffset >= sentEnd) f.lastCaughtUpMs = Math.max(f.lastCaughtUpMs, sentAtMs);
    else f.sentOffset = -1; // it did not take the batch (a gap)
    // The pipeline broke and the last live batch has answered: catch up from what it has.
    if (f.sentOffset === -1 && f.inFlight === 0 && !f.catchingUp) void this.catchUp(f);
    if (!f.inSync && f.logEndOffset >= this.logEndOffset) this.changeIsr(f, true);
    this.maybeIncrementHighWatermark();
    this.wake(this.ackWaiters);
  }

  private onFollowerFailure(f: Follower, epoch: number, error: unknown): void {
    if (!this.isLeader() || this.current.leaderEpoch !== epoch) return;
    const state = this.current;
    // A stub is broken for good once its object resets or a call on it fails: make a new one.
    f.stub = replicaStub(this.env, state.topic, state.partition, f.replica);
    f.sentOffset = -1;
    if (f.inSync && this.mayLeaveIsr(f)) {
      console.warn(
        `${this.current.topic}/${this.current.partition}: replica ${f.replica} leaves the ISR:`,
        String(error),
      );
      this.changeIsr(f, false);
    }
    const now = Date.now();
    if (f.retryAtMs <= now) {
      f.backoffMs = nextBackoffMs(f.backoffMs, Math.random());
      f.retryAtMs = now + f.backoffMs;
    }
    void this.alarms.schedule(f.retryAtMs);
    this.wake(this.ackWaiters);
  }

  /**
   * Brings one follower up to the leader's log end in bounded chunks from its last
   * acknowledged offset (its first answer in an epoch also truncates a divergent
   * suffix). One at a time per follower; returns it to the ISR when caught up.
   */
  private async catchUp(f: Follower): Promise<void> {
    if (f.catchingUp || !this.isLeader()) return;
    f.catchingUp = true;
    const epoch = this.current.leaderEpoch;
    try {
      for (let round = 0; round < CATCH_UP_ROUNDS_MAX; round++) {
        // Never below logStartOffset: what retention deleted is not sent (the follower skips to it).
        const from = f.logEndOffset < 0 ? this.logEndOffset : Math.max(f.logEndOffset, this.logStartOffset);
        const end = Math.min(this.logEndOffset, from + REPLICA_FETCH_RECORDS_MAX);
        const part =
          from < end ? this.log.readChunks(from, end) : { chunks: [], count: 0, maxTimestamp: 0, next: end };
        const logEndOffset = await this.sendTo(f, {
          baseOffset: from,
          endOffset: part.next,
          chunks: part.chunks,
          sparse: true,
          maxTimestamp: part.maxTimestamp,
          producers: part.count > 0 ? this.log.producerBatchesIn(from, part.next) : [],
        });
        if (!this.isLeader() || this.current.leaderEpoch !== epoch) return;
        f.logEndOffset = logEndOffset; // authoritative: it may have truncated
        f.backoffMs = 0;
        f.retryAtMs = 0;
        if (logEndOffset >= this.logEndOffset) {
          f.sentOffset = this.logEndOffset;
          f.lastCaughtUpMs = Date.now();
          if (!f.inSync) this.changeIsr(f, true);
          this.maybeIncrementHighWatermark();
          this.wake(this.ackWaiters);
          return;
        }
        this.maybeIncrementHighWatermark();
        this.wake(this.ackWaiters);
      }
      void this.alarms.schedule(Date.now()); // more to send: continue in the next alarm run
    } catch (error) {
      this.onFollowerFailure(f, epoch, error);
    } finally {
      f.catchingUp = false;
    }
  }

  /**
   * Whether `f` may leave the ISR now (core `mayLeaveIsr`): not while the records below
   * the high watermark would be on too few of the remaining followers for an election
   * to be sure to find them — e.g. `f` and the leader acknowledged them and the other
   * follower is still catching up (found by the chaos checker). Until then `f` stays,
   * counted with the offsets it acknowledged and waited for by elections, and the
   * alarm asks again.
   */
  private mayLeaveIsr(f: Follower): boolean {
    const others = this.followers.filter((o) => o !== f);
    const may = mayLeaveIsr(this.highWatermark, others, this.current.configs["min.insync.replicas"]);
    if (!may) void this.alarms.schedule(Date.now() + this.lagMaxMs());
    return may;
  }

  /**
   * A follower leaves the ISR at once (the registry may still list it: elections then
   * wait for it too, which is safe), or rejoins through expandIsr.
   */
  private changeIsr(f: Follower, inSync: boolean): void {
    if (inSync) {
      void this.expandIsr(f);
      return;
    }
    const state = this.current;
    f.inSync = false;
    this.state = { ...state, isr: state.isr.filter((r) => r !== f.replica) };
    this.saveState();
    this.isrDirty = true;
    void this.pushIsr();
    this.maybeIncrementHighWatermark();
  }

  /**
   * A caught-up follower rejoins the ISR only once the registry has recorded it: the
   * high watermark and acks=all count a copy on it from then on, so an election (which
   * asks the registry's ISR) can never miss a replica holding acknowledged records.
   */
  private async expandIsr(f: Follower): Promise<void> {
    if (f.joining || f.inSync) return;
    f.joining = true;
    const epoch = this.current.leaderEpoch;
    let recorded = false;
    try {
      recorded = await this.sendIsr();
    } catch (error) {
      console.warn("ISR expansion not recorded by the registry; retried on the next catch-up", String(error));
    } finally {
      f.joining = false;
    }
    const state = this.state;
    if (!recorded || state === null || !this.isLeader() || state.leaderEpoch !== epoch) return;
    f.inSync = true;
    this.state = { ...state, isr: [...new Set([...state.isr, f.replica])].sort((a, b) => a - b) };
    this.saveState();
    this.maybeIncrementHighWatermark();
    this.wake(this.ackWaiters);
  }

  /**
   * Sends the registry this leader's ISR plus the followers joining it, one send at a
   * time in order, so the registry's ISR always holds every replica the high watermark
   * counts. True when the registry recorded it (false: this leader's epoch is over).
   */
  private sendIsr(): Promise<boolean> {
    const send = this.isrSends.then(() => {
      const state = this.state;
      if (state === null || !this.isLeader()) return false;
      const joining = this.followers.filter((f) => f.joining).map((f) => f.replica);
      const isr = [...new Set([...state.isr, ...joining])].sort((a, b) => a - b);
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
    const state = this.state;
    if (state === null || !this.isLeader() || !this.isrDirty) return;
    this.isrDirty = false;
    try {
      await this.sendIsr();
    } catch (error) {
      console.warn("ISR update to the registry failed; retrying by alarm", String(error));
      this.isrDirty = true;
      void this.alarms.schedule(Date.now() + 1_000);
    }
  }

  /**
   * Replication retries, catch-up and ISR shrinking for lag. Idempotent: all due
   * work is recomputed from the current state; re-armed only while work remains.
   */
  override async alarm(): Promise<void> {
    this.alarms.fired();
    if (this.faults.active) {
      await this.alarms.schedule(Date.now() + FAULTED_ALARM_MS);
      return;
    }
    if (this.state === null) return;
    const now = Date.now();
    // Every replica compacts its own log (as Kafka's brokers do); the same rule gives the same result.
    const compactionNextMs = this.compactStep(now);
    if (!this.isLeader()) {
      if (compactionNextMs < Number.POSITIVE_INFINITY) await this.alarms.schedule(compactionNextMs);
      return;
    }
    const retentionNextMs = this.applyRetention(now);
    const lagMaxMs = this.lagMaxMs();
    const work: Promise<void>[] = [];
    let nextMs = Math.min(retentionNextMs, this.expireProducers(now), compactionNextMs);
    for (const f of this.followers) {
      if (
        f.inSync &&
        f.logEndOffset < this.logEndOffset &&
        now - f.lastCaughtUpMs > lagMaxMs &&
        this.mayLeaveIsr(f)
      ) {
        console.warn(
          `${this.state.topic}/${this.state.partition}: replica ${f.replica} lags; leaves the ISR`,
        );
        this.changeIsr(f, false);
      }
      if (f.catchingUp) continue;
      if (!f.inSync || f.logEndOffset < 0) {
        if (f.retryAtMs <= now) work.push(this.catchUp(f));
        else nextMs = Math.min(nextMs, f.retryAtMs);
      } else if (f.logEndOffset < this.logEndOffset)
        nextMs = Math.min(nextMs, f.lastCaughtUpMs + lagMaxMs + 1);
    }
    if (this.isrDirty) work.push(this.pushIsr());
    await Promise.all(work);
    for (const f of this.followers)
      if (!f.inSync && !f.catchingUp) nextMs = Math.min(nextMs, Math.max(f.retryAtMs, Date.now() + 1));
    if (this.isrDirty) nextMs = Math.min(nextMs, Date.now() + 1_000);
    if (nextMs < Number.POSITIVE_INFINITY) await this.alarms.schedule(nextMs);
  }

  // ---- retention ----

  /**
   * Moves logStartOffset past what retention.ms / retention.bytes let go (whole
   * batches, never past the high watermark: only records every consumer could
   * have read expire) and deletes a bounded number of records below it. Offsets
   * are never reused. Answers when the next check is due (Infinity: none).
   */
  private applyRetention(now: number): number {
    const configs = this.current.configs;
    const deletes = deletesByRetention(configs); // cleanup.policy=compact alone keeps old records
    const retentionMs = deletes ? configs["retention.ms"] : -1;
    const cutoff = retentionMs >= 0 ? now - retentionMs : -1;
    const target = this.log.retentionStart(
      cutoff,
      deletes ? configs["retention.bytes"] : -1,
      this.logStartOffset,
      this.highWatermark,
    );
    if (target > this.logStartOffset) {
      this.logStartOffset = target;
      this.saveState();
    }
    if (this.log.deleteBelow(this.logStartOffset, RETENTION_DELETE_ROWS_MAX)) return now; // more to delete: continue at once
    return retentionMs >= 0 ? this.nextRetentionCheck() : Number.POSITIVE_INFINITY;
  }

  /**
   * One step of log compaction (cleanup.policy compact): a pass cleans from
   * logStartOffset up to the last record (never cleaned, so the log end survives a
   * restart), against the records below the high watermark when it started, COMPACTION_STEP_OFFSETS
   * offsets a step, each step one transaction. A pass starts when records arrived
   * since the last one or a kept tombstone's delete.retention.ms is up. Answers when
   * the next step is due (Infinity: nothing to do).
   */
  private compactStep(now: number): number {
    const configs = this.current.configs;
    if (!isCompacted(configs)) {
      this.compaction = null;
      return Number.POSITIVE_INFINITY;
    }
    if (this.compaction === null) {
      const bound = this.highWatermark;
      const end = Math.min(bound, this.logEndOffset - 1);
      if (end <= this.logStartOffset) return Number.POSITIVE_INFINITY;
      if (bound === this.lastCompactionBound && now < this.tombstoneDueMs) return this.tombstoneDueMs;
      this.compaction = { next: this.logStartOffset, end, bound };
    }
    const pass = this.compaction;
    const from = Math.max(pass.next, this.logStartOffset);
    const to = Math.min(pass.end, from + COMPACTION_STEP_OFFSETS);
    this.log.compact(from, to, pass.bound, now - configs["delete.retention.ms"]);
    if (to < pass.end) {
      pass.next = to;
      return now; // more of this pass: the next alarm run, at once
    }
    this.compaction = null;
    this.lastCompactionBound = pass.bound;
    const oldest = this.log.oldestTombstone();
    this.tombstoneDueMs =
      oldest === null
        ? Number.POSITIVE_INFINITY
        : Math.max(now + COMPACTION_INTERVAL_MS, oldest + configs["delete.retention.ms"] + 1);
    return this.tombstoneDueMs;
  }

  /**
   * Forgets producers silent for producer.id.expiration.ms (a bounded number a run);
   * answers when the next one could expire (Infinity: none kept).
   */
  private expireProducers(now: number): number {
    const expirationMs = producerExpirationMs(this.env);
    if (this.log.expireProducers(now - expirationMs, PRODUCER_EXPIRY_MAX)) return now;
    const oldest = this.log.oldestProducerActivity();
    this.producerExpiryArmed = oldest !== null;
    return oldest === null ? Number.POSITIVE_INFINITY : oldest + expirationMs + 1;
  }

  /** When the oldest retained batch can expire by retention.ms (bounded by RETENTION_CHECK_MS_MAX). */
  private nextRetentionCheck(): number {
    const now = Date.now();
    // Nothing retained: the next append arms the check again.
    if (this.logStartOffset >= this.logEndOffset) return Number.POSITIVE_INFINITY;
    const oldest = this.log.oldestBatchTimestamp(this.logStartOffset);
    if (oldest === null) return Number.POSITIVE_INFINITY;
    const due = oldest + this.current.configs["retention.ms"] + 1;
    // Expired but held back by the high watermark (replicas behind): look again a little later, not in a loop.
    if (due <= now) return now + RETENTION_BLOCKED_RETRY_MS;
    return Math.min(due, now + RETENTION_CHECK_MS_MAX);
  }

  // ---- follower ----

  /**
   * A leader's records (or an empty probe). Refused from an older epoch; on the
   * first call of a newer epoch the log is truncated to where it agrees with the
   * leader's. Idempotent by offset: records this replica already has are skipped.
   */
  async replicate(request: ReplicateRequest): Promise<Result<ReplicateResult>> {
    await this.faults.gate();
    const state = this.state;
    if (state === null || state.topicId !== request.topicId) return this.unknownTopic();
    if (
      request.leaderEpoch < state.leaderEpoch ||
      (request.leaderEpoch === state.leaderEpoch && this.isLeader())
    )
      return fail(
        "FENCED_LEADER_EPOCH",
        `leader epoch ${request.leaderEpoch} is stale; this replica knows ${state.leaderEpoch}`,
        {
          leaderEpoch: state.leaderEpoch,
        },
      );
    this.becomeFollower(request.leaderEpoch, request.leader);
    if (request.watchers) {
      this.watchers = new Set(request.watchers);
      this.log.replaceWatchers(request.watchers);
    }
    if (this.reconciledEpoch !== request.leaderEpoch) {
      const agreed = divergenceOffset(
        this.epochs,
        this.logEndOffset,
        request.epochs,
        request.leaderLogEndOffset,
      );
      if (agreed < this.logEndOffset) this.truncateTo(agreed);
      this.reconciledEpoch = request.leaderEpoch;
    }
    if (request.logStartOffset > this.logStartOffset) {
      this.logStartOffset = request.logStartOffset;
      // What this follower lacks below the leader's logStartOffset is gone everywhere: go on from there.
      if (this.logEndOffset < this.logStartOffset) this.logEndOffset = this.logStartOffset;
      this.saveState();
      this.retentionPending = true;
    }
    if (this.retentionPending)
      this.retentionPending = this.log.deleteBelow(this.logStartOffset, RETENTION_DELETE_ROWS_MAX);
    if (request.baseOffset <= this.logEndOffset && request.endOffset > this.logEndOffset) {
      const maxTimestamp = Math.max(this.maxTimestamp, request.maxTimestamp);
      if (request.sparse) {
        if (request.chunks.length > 0) this.log.appendAt(request.chunks, this.logEndOffset, maxTimestamp);
        this.logEndOffset = request.endOffset;
      } else
        this.logEndOffset = this.log.append(
          request.baseOffset,
          request.chunks,
          maxTimestamp,
          this.logEndOffset - request.baseOffset,
        );
      this.maxTimestamp = maxTimestamp;
      for (const b of request.producers) if (b.baseOffset < this.logEndOffset) this.log.saveProducerBatch(b);
      if (isCompacted(state.configs)) void this.alarms.schedule(Date.now() + COMPACTION_INTERVAL_MS);
      const mirrored = epochsBelow(request.epochs, this.logEndOffset);
      if (!sameEpochs(mirrored, this.epochs)) {
        this.epochs = mirrored;
        this.log.saveEpochs(mirrored);
      }
      this.highWatermark = Math.max(this.highWatermark, Math.min(request.highWatermark, this.logEndOffset));
      this.log.saveHighWatermark(this.highWatermark);
      if (this.faults.failsAfterCommit()) {
        await this.ctx.storage.sync();
        throw new Error("injected fault: failed after commit");
      }
    }
    return ok({ logEndOffset: this.logEndOffset });
  }

  private truncateTo(offset: number): void {
    this.log.truncateTo(offset);
    this.logEndOffset = Math.max(offset, this.logStartOffset);
    this.highWatermark = Math.min(this.highWatermark, this.logEndOffset);
    this.maxTimestamp = this.log.maxTimestamp();
    this.epochs = epochsBelow(this.epochs, this.logEndOffset);
    this.saveState();
  }

  // ---- leader: fetch ----

  /**
   * Reads records from a position, never at or above the high watermark, bounded
   * by maxRecords and maxBytes. With waitMs it parks until the high watermark
   * passes the start or the time is up. Answers the fetch body of API.md as JSON text.
   */
  async fetchRecords(request: FetchRequest): Promise<Result<string>> {
    const fetched = await this.collect(request, "");
    if (!fetched.ok) return fetched;
    const f = fetched.value;
    return ok(
      `{"records":[${f.records}],"nextOffset":${f.nextOffset},"highWatermark":${f.highWatermark},"logStartOffset":${f.logStartOffset}}`,
    );
  }

  /** The same read for a consumer group: each record object also names its topic and partition. */
  async fetchForConsumer(request: FetchRequest): Promise<Result<FetchedRecords>> {
    const state = this.state;
    const prefix = state ? `"topic":${JSON.stringify(state.topic)},"partition":${state.partition},` : "";
    const { position } = request;
    // A group position is only ever taken from reads below a high watermark, so one above it
    // but within the log means a newly elected leader has not yet learnt how far its
    // followers got: nothing to read yet. Answering OFFSET_OUT_OF_RANGE would reset the
    // member to its autoOffsetReset and re-deliver the log (found by the chaos checker).
    if (
      position.kind === "offset" &&
      position.offset > this.highWatermark &&
      position.offset <= this.logEndOffset
    ) {
      await this.faults.gate();
      const refused = this.leaderCheck(request.topicId, request.leaderEpoch);
      if (refused) return refused;
      return ok({
        records: "",
        count: 0,
        nextOffset: position.offset,
        highWatermark: this.highWatermark,
        logStartOffset: this.logStartOffset,
      });
    }
    return this.collect(request, prefix);
  }

  private async collect(request: FetchRequest, prefix: string): Promise<Result<FetchedRecords>> {
    await this.faults.gate();
    const refused = this.leaderCheck(request.topicId, request.leaderEpoch);
    if (refused) return refused;
    this.counters.fetchRequests++;
    const start = this.resolve(request.position);
    if (!start.ok) return start;
    if (
      start.value >= this.highWatermark &&
      request.waitMs > 0 &&
      this.fetchWaiters.size < FETCH_WAITERS_MAX
    ) {
      await this.waitOn(this.fetchWaiters, request.waitMs);
      const gone = this.leaderCheck(request.topicId, request.leaderEpoch);
      if (gone) return gone;
      // Retention may have moved logStartOffset past the start while we waited.
      if (start.value < this.logStartOffset) return this.collect({ ...request, waitMs: 0 }, prefix);
    }
    const { text, records, next } = this.log.recordsText(
      start.value,
      this.highWatermark,
      request.maxRecords,
      request.maxBytes,
      prefix,
    );
    this.counters.fetchRecords += records;
    return ok({
      records: text,
      count: records,
      nextOffset: next,
      highWatermark: this.highWatermark,
      logStartOffset: this.logStartOffset,
    });
  }

  private resolve(position: FetchPosition): Result<number> {
    const offsets = { logStartOffset: this.logStartOffset, highWatermark: this.highWatermark };
    return resolveFetchOffset(position, offsets, (t) => this.log.offsetForTimestamp(t, this.logStartOffset));
  }

  /** Where a position points now (for admin offset resets), with the log's bounds. */
  async resolveOffset(
    topicId: string,
    leaderEpoch: number,
    position: FetchPosition,
  ): Promise<Result<ResolvedOffset>> {
    await this.faults.gate();
    const refused = this.leaderCheck(topicId, leaderEpoch);
    if (refused) return refused;
    const offset = this.resolve(position);
    if (!offset.ok) return offset;
    return ok({
      offset: offset.value,
      logStartOffset: this.logStartOffset,
      highWatermark: this.highWatermark,
    });
  }

  private waitOn(waiters: Set<() => void>, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      waiters.add(wake);
    });
  }

  private wake(waiters: Set<() => void>): void {
    for (const wake of [...waiters]) wake();
  }

  // ---- push to WebSocket sessions ----

  /** A session tails this partition: it is told whenever the high watermark moves. */
  async watch(topicId: string, sessionId: string): Promise<Result<{ highWatermark: number }>> {
    const state = this.state;
    if (state === null || state.topicId !== topicId) return this.unknownTopic();
    if (!this.isLeader()) return fail("NOT_LEADER_OR_FOLLOWER", "watch the partition's leader");
    if (!this.watchers.has(sessionId) && this.watchers.size >= PARTITION_WATCHERS_MAX)
      return fail(
        "THROTTLING_QUOTA_EXCEEDED",
        `partition already has ${PARTITION_WATCHERS_MAX} WebSocket subscribers`,
      );
    if (!this.watchers.has(sessionId)) {
      this.watchers.add(sessionId);
      this.log.addWatcher(sessionId);
      this.watchersVersion++;
    }
    return ok({ highWatermark: this.highWatermark });
  }

  async unwatch(sessionId: string): Promise<void> {
    if (!this.watchers.delete(sessionId)) return;
    this.log.removeWatcher(sessionId);
    this.watchersVersion++;
  }

  /**
   * Tells one session the high watermark moved. At most one notification per
   * session is under way; moves meanwhile are folded into one more afterwards,
   * so a busy partition costs each session what it can take, never a backlog.
   */
  private notify(sessionId: string): void {
    if (this.notifying.has(sessionId)) {
      this.renotify.add(sessionId);
      return;
    }
    const state = this.state;
    if (state === null) return;
    this.notifying.add(sessionId);
    const session = wsSession(this.env, sessionId);
    session
      .onHighWatermark(state.topic, state.partition, this.highWatermark)
      .then(
        (alive) => {
          if (!alive) void this.unwatch(sessionId);
        },
        (error) => console.warn(`notify session ${sessionId} failed`, String(error)),
      )
      .finally(() => {
        this.notifying.delete(sessionId);
        if (this.renotify.delete(sessionId) && this.watchers.has(sessionId)) this.notify(sessionId);
      });
  }

  // ---- visibility and tests ----

  /** Offsets, leader and ISR of this replica's view; null for another incarnation. */
  async describe(topicId: string): Promise<PartitionInfo | null> {
    if (this.state?.topicId !== topicId) return null;
    return this.info();
  }

  async metrics(topicId: string): Promise<PartitionMetrics | null> {
    if (this.state?.topicId !== topicId) return null;
    return { ...this.info(), replicationFactor: this.state.replicationFactor, ...this.counters };
  }

  private info(): PartitionInfo {
    const state = this.current;
    return {
      partition: state.partition,
      replica: state.replica,
      leader: state.leader,
      leaderEpoch: state.leaderEpoch,
      isr: state.isr,
      logStartOffset: this.logStartOffset,
      logEndOffset: this.logEndOffset,
      highWatermark: this.highWatermark,
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
