import type { ErrorInfo } from "../core/errors";
import type { FetchPosition, LogOffsets } from "../core/fetch-position";
import type { ProducerBatch, ProducerRef } from "../core/idempotence";
import type { Isolation } from "../core/partition-transactions";
import type { AppendChunk } from "../core/record-codec";
import type { EpochEntry } from "../core/replication";
import type { Expiry, ForkRequest, ProducerClaim } from "../core/stream-headers";
import type { TopicConfigs } from "../core/topic-config";
import type { TransactionMarker } from "../core/transaction-coordinator";
import type { TransactionEvents } from "./partition-transaction-store";

/**
 * The contract of the objects' RPC: what the gateway, the registry and the
 * replicas send each other and answer. One shape per concept; the objects and
 * the routes import them from here.
 */

export type { LogOffsets } from "../core/fetch-position";
export type { TopicPartition } from "../core/partition-key";
export type { CreateTopicRequest } from "../schemas/topic";

export type Acks = "0" | "1" | "all";

// ---- the registry ----

/** Who leads a partition, in which epoch, and which replicas the leader last reported in sync. */
export type PartitionLeadership = { leader: number; leaderEpoch: number; isr: number[] };

/** What the registry knows of a topic. `topicId` names one incarnation of the name. */
export type TopicMetadata = {
  name: string;
  topicId: string;
  partitions: number;
  replicationFactor: number;
  configs: TopicConfigs;
  leaders: PartitionLeadership[];
  /** A large topic's partitions not initialised yet (PartitionInit): they hold nothing so far. */
  pending?: number[];
};

/** What a replica is: set by the registry at creation (`init`), changed by elections. */
export type ReplicaState = {
  topic: string;
  partition: number;
  topicId: string;
  configs: TopicConfigs;
  replica: number;
  replicationFactor: number;
  leader: number;
  leaderEpoch: number;
  isr: number[];
};

/** What the registry asks candidates during an election. */
export type ElectionState = { replica: number; leaderEpoch: number; lastEpoch: number; logEndOffset: number };

// ---- produce: the gateway (or a producer object) to a partition leader ----

export type AppendRequest = {
  topicId: string;
  leaderEpoch: number;
  chunks: AppendChunk[];
  maxTimestamp: number;
  acks: Acks;
  /** An idempotent producer's request: a batch this partition already appended is answered, not appended. */
  producer?: ProducerRef;
  /** With `producer`: the gateway's clock for records without a timestamp (kept with the batch). */
  defaultTimestamp?: number;
  /**
   * The producer object knows the sequence was applied: answer the kept batch or
   * DUPLICATE_SEQUENCE_NUMBER, never append (a repeat must not become a new batch).
   */
  repeat?: boolean;
  /**
   * With `producer`: the records belong to the producer's open transaction, of this
   * number (Transaction.number), begun here by the first.
   */
  transactionNumber?: number;
  /** A conditional append: only if the log ends at this offset (else OFFSET_MISMATCH), atomically with the write. */
  expectedOffset?: number;
};

/** A restarted producer object asking a leader how far its epoch got here. */
export type ProducerSequenceRequest = {
  topicId: string;
  leaderEpoch: number;
  producerId: string;
  producerEpoch: number;
};

/** A transaction coordinator's marker for one partition (takes an offset; never returned to readers). */
export type MarkerRequest = {
  topicId: string;
  leaderEpoch: number;
  producerId: string;
  marker: TransactionMarker;
};

export type AppendInfo = {
  baseOffset: number;
  logEndOffset: number;
  highWatermark: number;
  /** A duplicate's original default timestamp (see ProducerBatch): the answer's timestamps are rebuilt from it. */
  defaultTimestamp?: number;
};

// ---- fetch: the gateway, a group or a WebSocket session to a partition leader ----

export type FetchRequest = {
  topicId: string;
  leaderEpoch: number;
  position: FetchPosition;
  maxRecords: number;
  maxBytes: number;
  waitMs: number;
  /** read_committed: nothing at or past the last stable offset, nothing aborted (default read_uncommitted). */
  isolation?: Isolation;
};

/** Fetched records as JSON objects joined by commas, and where fetching goes on. */
export type FetchedRecords = LogOffsets & {
  records: string;
  count: number;
  nextOffset: number;
  lastStableOffset: number;
};

/**
 * Records that just passed a leader's high watermark, [from, next), as a consumer
 * fetch answers them: pushed with its notification to the sessions tailing the
 * partition, so that a tail at `from` sends them without fetching them back.
 */
export type CommittedRecords = {
  topicId: string;
  from: number;
  next: number;
  count: number;
  records: string;
  highWatermark: number;
};

/** Where a fetch position points now (offset resets, WebSocket tails), with the log's offsets. */
export type ResolvedOffset = LogOffsets & { offset: number };

// ---- replication: a leader to its followers ----

/** A leader's call to a follower: records from `baseOffset` (possibly none: a probe). */
export type ReplicateRequest = ReplicaBatch & {
  topicId: string;
  leader: number;
  leaderEpoch: number;
  epochs: EpochEntry[];
  leaderLogEndOffset: number;
  highWatermark: number;
  /** The leader's logStartOffset: retention moves it; followers delete below it too. */
  logStartOffset: number;
  /** The leader's WebSocket watchers, sent only when they changed since this follower last heard. */
  watchers?: string[];
};

/** Records a leader sends a follower, with the producer batches among them. */
export type ReplicaBatch = {
  baseOffset: number;
  /** Where these records end: baseOffset + their count, or more when compaction left gaps. */
  endOffset: number;
  chunks: AppendChunk[];
  /** The records carry their own offsets (a catch-up read of a possibly compacted log). */
  sparse: boolean;
  maxTimestamp: number;
  /** Idempotent producers' batches among these records: producer state travels with the log. */
  producers: ProducerBatch[];
  /** Transactional records, transactions begun and markers in this range (absent: none). */
  transactions?: TransactionEvents;
};

/** A follower's answer: its log end offset after the call (it may have truncated). */
export type ReplicateResult = { logEndOffset: number };

// ---- visibility ----

export type PartitionInfo = LogOffsets & {
  partition: number;
  replica: number;
  leader: number;
  leaderEpoch: number;
  isr: number[];
  logEndOffset: number;
  /** Where read_committed reads stop (the first offset of the oldest open transaction, else the high watermark). */
  lastStableOffset: number;
};

export type PartitionMetrics = PartitionInfo & {
  replicationFactor: number;
  produceRequests: number;
  produceRecords: number;
  fetchRequests: number;
  fetchRecords: number;
};

// The Durable Streams protocol (/v1/stream/*): the RPC shapes of a DurableStream object.

export type StreamHeaders = Record<string, string>;
/** A write's answer: its status and protocol headers, or an error with headers of its own. */
export type StreamWrite =
  | { ok: true; status: 200 | 201 | 204; headers: StreamHeaders }
  | { ok: false; error: ErrorInfo; headers: StreamHeaders };

export type CreateStream = {
  contentType: string | null;
  expiry: Expiry;
  closed: boolean;
  body: Uint8Array | null;
  /** `from` is the source stream's name. */
  fork: ForkRequest | null;
};

export type AppendStream = {
  contentType: string | null;
  body: Uint8Array | null;
  close: boolean;
  producer: ProducerClaim | null;
  writerSeq: string | null;
};

/**
 * A read: the body of the appends from `start` (at most STREAM_READ_BYTES_MAX unless one
 * append is larger; core/stream-body.ts), how many appends it holds, and the state.
 */
export type StreamChunk = {
  instance: string;
  contentType: string;
  body: Uint8Array<ArrayBuffer>;
  appends: number;
  start: number;
  next: number;
  tail: number;
  closed: boolean;
};

export type StreamInfo = {
  instance: string;
  contentType: string;
  expiry: Expiry;
  tail: number;
  closed: boolean;
};

/** What a fork copies from its source (copy-on-fork: reads of a fork never reach the source). */
export type ForkData = {
  contentType: string;
  expiry: Expiry;
  position: number;
  messages: { end: number; data: Uint8Array }[];
  prefix: Uint8Array | null;
};
