import { EdgelogError } from "./errors";
import { call, type Transport, webSocketUrl } from "./http";
import { type Frame, FrameSocket, type WebSocketConstructor } from "./socket";
import type { TransactionOffsets } from "./transactions";
import type { ConsumedRecord, PartitionRef } from "./types";

/**
 * A consumer-group member (API.md "Consumer groups"), as an async iterator of
 * batches. Commits are manual by default and come after processing (`commit()`
 * commits what the iterator has handed out so far: at-least-once); `autoCommit`
 * commits a batch when the loop asks for the next one. HTTP members heartbeat on
 * a timer; WebSocket members are pushed records within their credits and return
 * credits as the loop takes batches. `close()` leaves the group.
 */
export type ConsumerOptions = {
  group: string;
  topics: string[];
  autoOffsetReset?: "earliest" | "latest";
  transport?: "http" | "websocket";
  sessionTimeoutMs?: number;
  /** Records a batch holds at most. */
  maxRecords?: number;
  /** How long an HTTP poll waits for records. */
  waitMs?: number;
  autoCommit?: boolean;
  /** read_committed: only committed transactions' records, up to the last stable offset (default read_uncommitted). */
  isolation?: "read_uncommitted" | "read_committed";
  /** Called with the partitions this member owns whenever that changes (join and every rebalance). */
  onAssigned?: (assignments: PartitionRef[], generation: number) => void;
};

export type Batch = { records: ConsumedRecord[]; generation: number };

/** Errors after which the member's uncommitted positions belong to another member now. */
const REBALANCED = [
  "ILLEGAL_GENERATION",
  "REBALANCE_IN_PROGRESS",
  "PARTITION_NOT_ASSIGNED",
  "UNKNOWN_MEMBER_ID",
];
const SESSION_TIMEOUT_MS_DEFAULT = 30_000;

export class Consumer implements AsyncIterable<Batch> {
  private memberId: string | null = null;
  private generation = -1;
  private assignments: PartitionRef[] = [];
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private socket: FrameSocket | null = null;
  /** Next offset per partition of what was handed out and not yet committed. */
  private readonly uncommitted = new Map<string, { topic: string; partition: number; offset: number }>();
  private handedOut = 0;
  private commitId = 0;
  private closed = false;
  private readonly options: Required<Omit<ConsumerOptions, "onAssigned" | "autoOffsetReset" | "isolation">> &
    Pick<ConsumerOptions, "onAssigned" | "autoOffsetReset" | "isolation">;

  constructor(
    private readonly transport: Transport,
    options: ConsumerOptions,
    private readonly WebSocketCtor: () => WebSocketConstructor,
  ) {
    this.options = {
      transport: "http",
      sessionTimeoutMs: SESSION_TIMEOUT_MS_DEFAULT,
      maxRecords: 500,
      waitMs: 1_000,
      autoCommit: false,
      ...options,
    };
  }

  private path(suffix = ""): string {
    return `/v1/groups/${encodeURIComponent(this.options.group)}${suffix}`;
  }

  private assigned(assignments: PartitionRef[], generation: number): void {
    if (generation === this.generation && JSON.stringify(assignments) === JSON.stringify(this.assignments))
      return;
    this.generation = generation;
    this.assignments = assignments;
    this.options.onAssigned?.(assignments, generation);
  }

  private joinBody() {
    const body: Record<string, unknown> = {
      topics: this.options.topics,
      sessionTimeoutMs: this.options.sessionTimeoutMs,
    };
    if (this.options.autoOffsetReset) body.autoOffsetReset = this.options.autoOffsetReset;
    if (this.options.isolation) body.isolation = this.options.isolation;
    return body;
  }

  private async join(): Promise<void> {
    if (this.options.transport === "websocket") {
      this.socket = await FrameSocket.open(this.WebSocketCtor(), webSocketUrl(this.transport));
      this.socket.send({
        op: "subscribe",
        id: 1,
        group: this.options.group,
        ...this.joinBody(),
        credits: this.options.maxRecords,
      });
      return;
    }
    const joined = await call<{ memberId: string; generation: number; assignments: PartitionRef[] }>(
      this.transport,
      "POST",
      this.path("/members"),
      this.joinBody(),
    );
    this.memberId = joined.memberId;
    this.assigned(joined.assignments, joined.generation);
    this.heartbeat = setInterval(() => void this.beat(), Math.max(100, this.options.sessionTimeoutMs / 3));
  }

  private async beat(): Promise<void> {
    if (this.memberId === null) return;
    try {
      const hb = await call<{ generation: number; assignments: PartitionRef[] }>(
        this.transport,
        "POST",
        this.path(`/members/${encodeURIComponent(this.memberId)}/heartbeat`),
      );
      this.assigned(hb.assignments, hb.generation);
    } catch {
      // the next poll or heartbeat says what happened (an expired member rejoins there)
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Batch> {
    while (!this.closed) {
      const batch = await this.poll();
      if (batch === null) return;
      if (batch.records.length === 0) continue;
      yield batch;
      if (this.options.autoCommit && !this.closed) await this.commit().catch(() => undefined);
    }
  }

  /**
   * The next batch (possibly empty); null once closed. `maxRecords` lowers the
   * batch size for this poll (HTTP; a WebSocket member's pushes follow its credits).
   */
  async poll(options: { maxRecords?: number } = {}): Promise<Batch | null> {
    if (this.memberId === null && this.socket === null) await this.join();
    const records = this.socket
      ? await this.pushed()
      : await this.polled(options.maxRecords ?? this.options.maxRecords);
    if (records === null) return null;
    for (const r of records)
      this.uncommitted.set(`${r.topic}\u0000${r.partition}`, {
        topic: r.topic,
        partition: r.partition,
        offset: r.offset + 1,
      });
    return { records, generation: this.generation };
  }

  private async polled(maxRecords: number): Promise<ConsumedRecord[] | null> {
    const { waitMs } = this.options;
    try {
      const answer = await call<{ generation: number; records: ConsumedRecord[] }>(
        this.transport,
        "GET",
        this.path(
          `/members/${encodeURIComponent(this.memberId!)}/records?maxRecords=${maxRecords}&waitMs=${waitMs}`,
        ),
      );
      if (answer.generation !== this.generation) await this.beat();
      return answer.records;
    } catch (error) {
      if (error instanceof EdgelogError && error.code === "UNKNOWN_MEMBER_ID" && !this.closed) {
        // The session expired (a long pause in the loop): join again; uncommitted positions are gone.
        this.uncommitted.clear();
        if (this.heartbeat) clearInterval(this.heartbeat);
        this.memberId = null;
        await this.join();
        return [];
      }
      throw error;
    }
  }

  private async pushed(): Promise<ConsumedRecord[] | null> {
    const socket = this.socket!;
    // Credits for what the loop has processed since the last batch.
    if (this.handedOut > 0) {
      socket.send({ op: "credit", subscription: 1, credits: this.handedOut });
      this.handedOut = 0;
    }
    for (;;) {
      // Frames a commit read past come first, in order.
      const frame = this.early.shift() ?? (await socket.next());
      if (frame === null) {
        if (this.closed) return null;
        throw new EdgelogError(0, {
          code: "NETWORK_EXCEPTION",
          message: `socket closed (${socket.closeInfo?.code})`,
          retriable: true,
        });
      }
      if (frame.op === "assigned") this.assigned(frame.assignments, frame.generation);
      else if (frame.op === "records") {
        this.handedOut += frame.records.length;
        return frame.records;
      } else if (frame.op === "error" && frame.id === 1) throw new EdgelogError(400, frame.error);
      else if (frame.op === "committed" || (frame.op === "error" && typeof frame.id === "string"))
        this.commitAnswers.push(frame);
    }
  }

  private readonly commitAnswers: Frame[] = [];

  /**
   * Commits the positions of everything handed out so far. Refused when the
   * group rebalanced meanwhile (those records are another member's now): the
   * error says so, and the positions are dropped.
   */
  /**
   * What the loop was handed since the last commit, for a transaction to commit
   * with the records computed from it (TransactionalProducer.sendOffsets): taken
   * out of what `commit()` would commit. If that transaction aborts, close this
   * consumer and join again: the group then starts from the committed offsets.
   */
  transactionOffsets(): TransactionOffsets {
    if (this.memberId === null) throw new Error("the consumer has not joined its group yet");
    const offsets = [...this.uncommitted.values()];
    this.uncommitted.clear();
    return { group: this.options.group, memberId: this.memberId, generation: this.generation, offsets };
  }

  async commit(): Promise<void> {
    if (this.uncommitted.size === 0) return;
    const offsets = [...this.uncommitted.values()];
    this.uncommitted.clear();
    try {
      if (this.socket) await this.commitOverSocket(offsets);
      else
        await call(this.transport, "POST", this.path("/offsets"), {
          memberId: this.memberId,
          generation: this.generation,
          offsets,
        });
    } catch (error) {
      if (error instanceof EdgelogError && REBALANCED.includes(error.code)) await this.beat();
      throw error;
    }
  }

  private async commitOverSocket(
    offsets: { topic: string; partition: number; offset: number }[],
  ): Promise<void> {
    const id = `commit-${++this.commitId}`;
    this.socket!.send({ op: "commit", id, subscription: 1, offsets });
    // The answer arrives between pushes: read frames until it does, keeping records for the loop.
    for (;;) {
      const answered = this.commitAnswers.findIndex((f) => "id" in f && f.id === id);
      if (answered >= 0) {
        const frame = this.commitAnswers.splice(answered, 1)[0]!;
        if (frame.op === "error") throw new EdgelogError(409, frame.error);
        return;
      }
      const frame = await this.socket!.next();
      if (frame === null)
        throw new EdgelogError(0, { code: "NETWORK_EXCEPTION", message: "socket closed", retriable: true });
      if ("id" in frame && frame.id === id) this.commitAnswers.push(frame);
      else this.early.push(frame);
    }
  }

  private readonly early: Frame[] = [];

  /** Leaves the group (after a last commit with autoCommit): its partitions go to the others at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.options.autoCommit) await this.commit().catch(() => undefined);
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.socket) this.socket.close();
    else if (this.memberId !== null)
      await call(this.transport, "DELETE", this.path(`/members/${encodeURIComponent(this.memberId)}`)).catch(
        () => undefined,
      );
  }

  /** The partitions this member owns now. */
  get assignment(): PartitionRef[] {
    return this.assignments;
  }
}
