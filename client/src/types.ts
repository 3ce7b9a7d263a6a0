/**
 * The wire shapes of API.md the client speaks (its public types). The gateway's
 * own readers live in `schemas/`; these mirror the contract, not the code.
 */

export type Acks = "0" | "1" | "all";
export type Headers = Record<string, string>;

/** What `send()` takes: a record for one topic. `value` is any JSON, or bytes (sent as valueBase64). */
export type ProducerRecord = {
  topic: string;
  key?: string | null;
  value: unknown;
  headers?: Headers;
  partition?: number;
  timestamp?: number;
};

/** What `send()` resolves to once the record is acknowledged (offset -1 with acks=0, as Kafka's client). */
export type RecordMetadata = { topic: string; partition: number; offset: number; timestamp: number };

/** A record as fetched or polled. */
export type ConsumedRecord = {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value?: unknown;
  valueBase64?: string;
  headers: Headers;
};

export type PartitionRef = { topic: string; partition: number };

export type ErrorEnvelope = { code: string; message: string; retriable: boolean };

export type TopicDescription = {
  name: string;
  partitions: number;
  replicationFactor: number;
  configs: Record<string, unknown>;
  partitionInfo: {
    partition: number;
    leaderEpoch: number;
    replicas: number[];
    isr: number[];
    logStartOffset: number;
    highWatermark: number;
    logEndOffset: number;
  }[];
};

export type FetchResult = {
  records: ConsumedRecord[];
  nextOffset: number;
  highWatermark: number;
  /** Where read_committed reads stop: the first offset of the oldest open transaction, else the high watermark. */
  lastStableOffset: number;
  logStartOffset: number;
};
