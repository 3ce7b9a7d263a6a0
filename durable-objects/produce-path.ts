import { EdgelogError, type ErrorInfo, type Result, unwrap } from "../core/errors";
import { keylessPartition, type ProducerRef } from "../core/idempotence";
import { partitionForKey, StickyPartitioner } from "../core/partitioner";
import { type AppendChunk, encodeAppendChunks } from "../core/record-codec";
import type { ProduceRecord } from "../schemas/produce";
import type { Acks, AppendInfo, TopicMetadata } from "./contract";
import type { Env } from "./env";
import { callLeader, LEADER_CALL_SLACK_MS } from "./leader-call";
import { producerStub } from "./stubs";
import type { TopicCache } from "./topic-cache";

const sticky = new StickyPartitioner();

/** The records of one request that go to one partition, in request order. */
export type PartitionBatch = {
  partition: number;
  indices: number[];
  records: ProduceRecord[];
  timestamps: number[];
  /** The clock given to records without a timestamp. */
  defaultTimestamp: number;
};

/**
 * Chooses every record's partition (API.md): explicit, else murmur2 of the key,
 * else sticky — or, in an idempotent producer's request, fixed by its sequence so
 * that a retry goes where the original went.
 */
export function groupByPartition(
  topic: TopicMetadata,
  records: readonly ProduceRecord[],
  now: number,
  producer?: ProducerRef,
) {
  const batches = new Map<number, PartitionBatch>();
  let stickyPartition = -1;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    let partition = record.partition;
    if (partition === undefined) {
      if (record.key !== null) partition = partitionForKey(record.key, topic.partitions);
      else {
        if (stickyPartition < 0)
          stickyPartition = producer
            ? keylessPartition(producer, topic.partitions)
            : sticky.partitionFor(topic.name, topic.partitions);
        partition = stickyPartition;
      }
    }
    let batch = batches.get(partition);
    if (!batch) {
      batch = { partition, indices: [], records: [], timestamps: [], defaultTimestamp: now };
      batches.set(partition, batch);
    }
    batch.indices.push(i);
    batch.records.push(record);
    batch.timestamps.push(record.timestamp ?? now);
  }
  return [...batches.values()];
}

/**
 * A partition's records encoded for its leader (once, in the gateway): what crosses
 * to a producer object and on to the leader, as text rather than an object per record.
 */
export type EncodedBatch = {
  partition: number;
  chunks: AppendChunk[];
  maxTimestamp: number;
  /** The clock given to records without a timestamp (kept for a duplicate's answer). */
  defaultTimestamp: number;
};

export function encodeBatch(batch: PartitionBatch): EncodedBatch {
  let maxTimestamp = 0;
  for (const t of batch.timestamps) if (t > maxTimestamp) maxTimestamp = t;
  return {
    partition: batch.partition,
    chunks: encodeAppendChunks(batch.records, batch.timestamps),
    maxTimestamp,
    defaultTimestamp: batch.defaultTimestamp,
  };
}

/** A request of an idempotent producer, as its producer object orders and applies it. */
export type IdempotentProduceRequest = {
  epoch: number;
  sequence: number;
  topic: TopicMetadata;
  batches: EncodedBatch[];
  acks: Acks;
  /** The records belong to the producer's transaction (a transactionalId producer only). */
  transactional: boolean;
  /** A conditional append (one partition): only where the log ends at this offset. */
  expectedOffset?: number;
};

/**
 * A producer object's answer: each batch's leader answer, in request order; a success
 * carries the batch's default timestamp, so a repeat answers the original timestamps.
 */
export type BatchAnswers = Result<AppendInfo>[];

/** What an append carries besides its records (AppendRequest): an idempotent producer's, a condition. */
export type AppendOptions = {
  producer?: ProducerRef;
  repeat?: boolean;
  transactionNumber?: number;
  expectedOffset?: number;
};

/** One RPC to a partition's leader (through failover handling); answers that leader's result. */
export async function appendToLeader(
  env: Env,
  topics: TopicCache,
  topic: TopicMetadata,
  batch: EncodedBatch,
  acks: Acks,
  options: AppendOptions = {},
): Promise<Result<AppendInfo>> {
  const timeoutMs = topic.configs["replica.ack.timeout.ms"] + LEADER_CALL_SLACK_MS;
  return callLeader(
    env,
    topics,
    { topic, partition: batch.partition, timeoutMs, retrySafe: false },
    (leader, leaderEpoch) =>
      leader.append({
        topicId: topic.topicId,
        leaderEpoch,
        chunks: batch.chunks,
        maxTimestamp: batch.maxTimestamp,
        acks,
        producer: options.producer,
        defaultTimestamp: options.producer ? batch.defaultTimestamp : undefined,
        repeat: options.repeat,
        transactionNumber: options.transactionNumber,
        expectedOffset: options.expectedOffset,
      }),
  );
}

export type ProduceResult =
  | { partition: number; offset: number; timestamp: number }
  | { partition: number; error: ErrorInfo };

export type ProduceOutcome = { results: ProduceResult[]; firstError: ErrorInfo | null };

/** Per-record results in request order; `firstError` is the first failed record's error, if any. */
export function produceResults(
  recordCount: number,
  batches: readonly PartitionBatch[],
  answers: readonly Result<AppendInfo>[],
): ProduceOutcome {
  const results = new Array<ProduceResult>(recordCount);
  let firstError: ErrorInfo | null = null;
  let firstErrorIndex = recordCount;
  batches.forEach((batch, b) => {
    const answer = answers[b]!;
    batch.indices.forEach((index, position) => {
      if (answer.ok) {
        results[index] = {
          partition: batch.partition,
          offset: answer.value.baseOffset + position,
          // A duplicate answers the original timestamps: the records' own, else the original clock.
          timestamp:
            answer.value.defaultTimestamp === undefined
              ? batch.timestamps[position]!
              : (batch.records[position]!.timestamp ?? answer.value.defaultTimestamp),
        };
      } else {
        results[index] = { partition: batch.partition, error: answer.error };
        if (index < firstErrorIndex) {
          firstErrorIndex = index;
          firstError = answer.error;
        }
      }
    });
  });
  return { results, firstError };
}

/**
 * Sends a validated produce request on its way (HTTP and WebSocket share it): plain
 * requests straight to the partition leaders, an idempotent producer's through its
 * producer object. Throws a bad request before anything is sent.
 */
export function startProduce(
  env: Env,
  topics: TopicCache,
  topic: TopicMetadata,
  records: readonly ProduceRecord[],
  acks: Acks,
  producer: ProducerRef | undefined,
  { transactional = false, expectedOffset }: { transactional?: boolean; expectedOffset?: number } = {},
): Promise<ProduceOutcome> {
  if (producer && acks === "0")
    throw new EdgelogError(
      "INVALID_REQUEST",
      "an idempotent producer needs acks=1 or acks=all: acks=0 answers no offsets to repeat",
    );
  const batches = groupByPartition(topic, records, Date.now(), producer);
  const encoded = batches.map(encodeBatch);
  if (!producer)
    return Promise.all(
      encoded.map((batch) => appendToLeader(env, topics, topic, batch, acks, { expectedOffset })),
    ).then((answers) => produceResults(records.length, batches, answers));
  const request = {
    epoch: producer.epoch,
    sequence: producer.sequence,
    topic,
    batches: encoded,
    acks,
    transactional,
    expectedOffset,
  };
  return producerStub(env, producer.id)
    .produce(request)
    .then(
      (answer) => produceResults(records.length, batches, unwrap<BatchAnswers>(answer)),
      (error): never => {
        throw new EdgelogError(
          "COORDINATOR_NOT_AVAILABLE",
          `the producer object did not answer (${String(error)}); send the same sequence again`,
        );
      },
    );
}
