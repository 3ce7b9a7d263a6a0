import { partitionForKey } from "../../core/partitioner";
import { BACKOFF_DEFAULT, type Backoff, backoffMs, sleep } from "./backoff";
import { EdgelogError } from "./errors";
import { call, type Transport } from "./http";
import type { Acks, ProducerRecord, RecordMetadata } from "./types";

/**
 * A producer as Kafka's Java client behaves by default: acks=all, idempotent,
 * records batched per partition for `lingerMs`, retriable errors retried with
 * back-off and jitter until `deliveryTimeoutMs`, order kept per partition.
 *
 * Requests go out on `maxInFlight` lanes; a partition always uses the same lane
 * and a lane sends one request at a time, so records of a partition are appended
 * in send order whatever is retried. An idempotent lane is one idempotent
 * producer of the gateway (its own id, epoch and request sequence): a request
 * whose outcome is unknown (a network error, a crash, a 503) is sent again with
 * the same sequence and the same body, and the gateway appends it at most once.
 */
export type ProducerOptions = {
  acks?: Acks;
  /** Default: true unless acks=0 (the gateway has nothing to repeat with acks=0). */
  idempotent?: boolean;
  lingerMs?: number;
  batchMaxRecords?: number;
  batchMaxBytes?: number;
  maxInFlight?: number;
  deliveryTimeoutMs?: number;
  /** Records waiting to be sent at most; `send()` waits for room past it (Kafka's buffer.memory). */
  bufferMaxRecords?: number;
  backoff?: Backoff;
};

/** API.md: at most 10,000 records a request; the gateway's body limit is 1 MiB by default. */
const REQUEST_RECORDS_MAX = 10_000;
const DEFAULTS = {
  acks: "all" as Acks,
  lingerMs: 5,
  batchMaxRecords: 1_000,
  batchMaxBytes: 512 * 1024,
  maxInFlight: 5,
  deliveryTimeoutMs: 120_000,
  bufferMaxRecords: 100_000,
};
/** How long a topic's partition count is trusted (a partition added later is used after this). */
const METADATA_TTL_MS = 60_000;

type WireRecord = {
  /** Absent: the gateway places the record (by key, else sticky). */
  partition?: number;
  key?: string | null;
  value?: unknown;
  valueBase64?: string;
  headers?: Record<string, string>;
  timestamp: number;
};
type Pending = {
  topic: string;
  wire: WireRecord;
  json: string;
  bytes: number;
  enqueuedMs: number;
  deadlineMs: number;
  resolve: (m: RecordMetadata) => void;
  reject: (e: Error) => void;
};
type ProducerId = { id: string; epoch: number; sequence: number };
type Lane = {
  queue: Pending[];
  busy: boolean;
  timer: ReturnType<typeof setTimeout> | null;
  producer: ProducerId | null;
};
type ProduceAnswer = {
  topic: string;
  results: (
    | { partition: number; offset: number; timestamp: number }
    | { partition: number; error: { code: string; message: string; retriable: boolean } }
  )[];
};

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** A record as a produce body carries it (bytes as valueBase64; the timestamp defaults to `now`). */
export function wireRecord(record: ProducerRecord, partition: number | undefined, now: number): WireRecord {
  const wire: WireRecord = { timestamp: record.timestamp ?? now };
  if (partition !== undefined) wire.partition = partition;
  if (record.key !== undefined) wire.key = record.key;
  if (record.value instanceof Uint8Array) wire.valueBase64 = base64(record.value);
  else wire.value = record.value;
  if (record.headers) wire.headers = record.headers;
  return wire;
}

export class Producer {
  private readonly options: typeof DEFAULTS & { idempotent: boolean; backoff: Backoff };
  private readonly lanes: Lane[];
  private readonly partitionCounts = new Map<
    string,
    { count: Promise<number>; atMs: number; known?: number }
  >();
  private readonly sticky = new Map<string, { partition: number; left: number }>();
  private waiting = 0;
  private roomWaiters: (() => void)[] = [];
  private flushing = 0;
  private closed = false;

  constructor(
    private readonly transport: Transport,
    options: ProducerOptions = {},
  ) {
    const acks = options.acks ?? DEFAULTS.acks;
    const idempotent = options.idempotent ?? acks !== "0";
    if (idempotent && acks === "0") throw new Error("an idempotent producer needs acks '1' or 'all'");
    this.options = {
      ...DEFAULTS,
      ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
      acks,
      idempotent,
      backoff: options.backoff ?? BACKOFF_DEFAULT,
    };
    const o = this.options;
    if (!(o.batchMaxRecords >= 1 && o.batchMaxRecords <= REQUEST_RECORDS_MAX))
      throw new Error(`batchMaxRecords must be 1 to ${REQUEST_RECORDS_MAX}`);
    if (!(o.maxInFlight >= 1)) throw new Error("maxInFlight must be at least 1");
    this.lanes = Array.from({ length: o.maxInFlight }, () => ({
      queue: [],
      busy: false,
      timer: null,
      producer: null,
    }));
  }

  /** Sends one record; resolves once it is acknowledged as `acks` says, rejects after deliveryTimeoutMs. */
  async send(record: ProducerRecord): Promise<RecordMetadata> {
    if (this.closed) throw new Error("the producer is closed");
    if (typeof record.topic !== "string" || record.topic === "") throw new Error("record.topic is required");
    while (this.waiting >= this.options.bufferMaxRecords)
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    const chosen = this.partitionOf(record);
    const partition = typeof chosen === "number" ? chosen : await chosen;
    const now = Date.now();
    const wire = wireRecord(record, partition, now);
    const lane = this.laneOf(record.topic, partition);
    // Encoded once: its size counts toward batchMaxBytes, and the request body joins these texts.
    const json = JSON.stringify(wire);
    const promise = new Promise<RecordMetadata>((resolve, reject) => {
      lane.queue.push({
        topic: record.topic,
        wire,
        json,
        bytes: json.length,
        enqueuedMs: now,
        deadlineMs: now + this.options.deliveryTimeoutMs,
        resolve,
        reject,
      });
    });
    this.waiting++;
    this.schedule(lane);
    return promise;
  }

  /** Sends everything waiting now, and resolves when all of it is settled. */
  async flush(): Promise<void> {
    this.flushing++;
    try {
      for (const lane of this.lanes) this.schedule(lane);
      while (this.waiting > 0) await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    } finally {
      this.flushing--;
    }
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  /** The record's partition: at once when it is explicit or the topic's partition count is known. */
  private partitionOf(record: ProducerRecord): number | Promise<number> {
    if (record.partition !== undefined) return record.partition;
    const cached = this.partitionCounts.get(record.topic);
    if (cached?.known !== undefined && Date.now() - cached.atMs < METADATA_TTL_MS)
      return this.choosePartition(record, cached.known);
    return this.partitionCount(record.topic).then((count) => this.choosePartition(record, count));
  }

  private choosePartition(record: ProducerRecord, count: number): number {
    if (record.key !== undefined && record.key !== null) return partitionForKey(record.key, count);
    // Keyless: stick to one partition per topic for a batch's worth of records, then move on
    // (Kafka's sticky partitioner): full batches, spread over the partitions and so the lanes.
    let sticky = this.sticky.get(record.topic);
    if (sticky === undefined || sticky.partition >= count || sticky.left === 0)
      sticky = {
        partition: sticky === undefined ? Math.floor(Math.random() * count) : (sticky.partition + 1) % count,
        left: this.options.batchMaxRecords,
      };
    sticky.left--;
    this.sticky.set(record.topic, sticky);
    return sticky.partition;
  }

  private partitionCount(topic: string): Promise<number> {
    const cached = this.partitionCounts.get(topic);
    if (cached && Date.now() - cached.atMs < METADATA_TTL_MS) return cached.count;
    const count = call<{ partitions: number }>(
      this.transport,
      "GET",
      `/v1/topics/${encodeURIComponent(topic)}`,
    ).then((t) => {
      entry.known = t.partitions;
      return t.partitions;
    });
    const entry: { count: Promise<number>; atMs: number; known?: number } = { count, atMs: Date.now() };
    this.partitionCounts.set(topic, entry);
    count.catch(() => this.partitionCounts.delete(topic));
    return count;
  }

  private laneOf(topic: string, partition: number): Lane {
    let h = partition;
    for (let i = 0; i < topic.length; i++) h = (Math.imul(h, 31) + topic.charCodeAt(i)) | 0;
    return this.lanes[Math.abs(h) % this.lanes.length]!;
  }

  /** Sends the lane's next batch when it is full, has lingered long enough, or a flush asks. */
  private schedule(lane: Lane): void {
    if (lane.busy || lane.queue.length === 0) return;
    const first = lane.queue[0]!;
    // A batch's worth waiting (of whatever topics): go now. Counting the first topic's alone would
    // scan the queue on every send.
    const full = lane.queue.length >= this.options.batchMaxRecords;
    const wait = first.enqueuedMs + this.options.lingerMs - Date.now();
    if (this.flushing === 0 && !full && wait > 0) {
      lane.timer ??= setTimeout(() => {
        lane.timer = null;
        this.schedule(lane);
      }, wait);
      return;
    }
    if (lane.timer) clearTimeout(lane.timer);
    lane.timer = null;
    lane.busy = true;
    void this.sendBatch(lane).finally(() => {
      lane.busy = false;
      this.schedule(lane);
    });
  }

  /** The next batch: the oldest record's topic, in queue order, within the record and byte limits. */
  private batchFrom(lane: Lane): Pending[] {
    const topic = lane.queue[0]!.topic;
    const batch: Pending[] = [];
    let bytes = 0;
    for (const p of lane.queue) {
      if (p.topic !== topic) continue;
      if (batch.length >= this.options.batchMaxRecords) break;
      if (batch.length > 0 && bytes + p.bytes > this.options.batchMaxBytes) break;
      batch.push(p);
      bytes += p.bytes;
    }
    return batch;
  }

  private async sendBatch(lane: Lane): Promise<void> {
    const batch = this.batchFrom(lane);
    if (lane.queue[batch.length - 1] === batch[batch.length - 1]) lane.queue.splice(0, batch.length);
    else {
      // Topics interleaved in this lane: take the batch's records out wherever they are.
      const taken = new Set(batch);
      lane.queue = lane.queue.filter((p) => !taken.has(p));
    }
    const topic = batch[0]!.topic;
    try {
      await this.deliver(lane, topic, batch);
    } catch (error) {
      for (const p of batch) p.reject(error as Error);
    } finally {
      this.waiting -= batch.length;
      for (const wake of this.roomWaiters.splice(0)) wake();
    }
  }

  /** Sends one batch until it is answered for good; resolves or rejects each record. */
  private async deliver(lane: Lane, topic: string, batch: Pending[]): Promise<void> {
    const deadline = Math.min(...batch.map((p) => p.deadlineMs));
    const path = `/v1/topics/${encodeURIComponent(topic)}/records?acks=${this.options.acks}`;
    const producer = this.options.idempotent ? await this.producerOf(lane, deadline) : null;
    const records = `[${batch.map((p) => p.json).join(",")}]`;
    const body = producer
      ? `{"records":${records},"producer":${JSON.stringify(producer)}}`
      : `{"records":${records}}`;
    for (let attempt = 0; ; attempt++) {
      let failure: EdgelogError;
      try {
        const answer = await call<ProduceAnswer | { accepted: number }>(this.transport, "POST", path, body);
        if (producer) producer.sequence++;
        this.settle(topic, batch, answer);
        return;
      } catch (error) {
        failure = error as EdgelogError;
      }
      const results = (failure.body as ProduceAnswer | undefined)?.results;
      const retriable =
        failure.retriable && (!results || results.some((r) => "error" in r && r.error.retriable));
      if (!retriable || Date.now() >= deadline) {
        // Settled for good without being applied: an idempotent lane starts over with a new
        // producer id (the next request must not reuse a sequence some partition may hold).
        lane.producer = null;
        if (results) this.settle(topic, batch, { topic, results }, failure);
        else throw failure;
        return;
      }
      const waitMs = backoffMs(this.options.backoff, attempt, (failure.retryAfterS ?? 0) * 1000);
      await sleep(Math.min(waitMs, Math.max(0, deadline - Date.now())));
    }
  }

  private settle(
    topic: string,
    batch: Pending[],
    answer: ProduceAnswer | { accepted: number },
    failure?: EdgelogError,
  ): void {
    if ("accepted" in answer) {
      for (const p of batch)
        p.resolve({ topic, partition: p.wire.partition ?? -1, offset: -1, timestamp: p.wire.timestamp });
      return;
    }
    batch.forEach((p, i) => {
      const r = answer.results[i];
      if (r && "offset" in r)
        p.resolve({ topic, partition: r.partition, offset: r.offset, timestamp: r.timestamp });
      else
        p.reject(r ? new EdgelogError(failure?.status ?? 500, r.error) : (failure ?? new Error("no result")));
    });
  }

  /** The lane's idempotent producer, started on first use (retried like a send until the deadline). */
  private async producerOf(lane: Lane, deadline: number): Promise<ProducerId> {
    for (let attempt = 0; lane.producer === null; attempt++) {
      try {
        const { id, epoch } = await call<{ id: string; epoch: number }>(
          this.transport,
          "POST",
          "/v1/producers",
        );
        lane.producer = { id, epoch, sequence: 0 };
      } catch (error) {
        const failure = error as EdgelogError;
        if (!failure.retriable || Date.now() >= deadline) throw failure;
        await sleep(backoffMs(this.options.backoff, attempt, (failure.retryAfterS ?? 0) * 1000));
      }
    }
    return lane.producer;
  }
}
