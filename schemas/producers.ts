import {
  PRODUCER_EPOCH_MAX,
  TRANSACTION_TIMEOUT_MS_DEFAULT,
  TRANSACTION_TIMEOUT_MS_MAX,
  TRANSACTION_TIMEOUT_MS_MIN,
  TRANSACTIONAL_ID_LENGTH_MAX,
} from "../core/limits";
import { type CommitRequest, checkGroupId, checkMemberId, parseOffsetList } from "./groups";
import { expectInt, expectObject, expectString, invalid, rejectUnknownFields, typeName } from "./input";

/** Producer ids are the ids of their Durable Objects (POST /v1/producers hands them out): 64 hex digits. */
export const PRODUCER_ID = /^[0-9a-f]{64}$/;

export type InitProducer = { transactionalId: string | null; transactionTimeoutMs: number };

/** `POST /v1/producers` body: empty, `{}`, or `{ "transactionalId": "…", "transactionTimeoutMs"? }`. */
export function parseInitProducer(body: unknown): InitProducer {
  if (body === undefined)
    return { transactionalId: null, transactionTimeoutMs: TRANSACTION_TIMEOUT_MS_DEFAULT };
  const request = expectObject(body, "body");
  rejectUnknownFields(request, ["transactionalId", "transactionTimeoutMs"], "body");
  const id = request.transactionalId;
  const timeout = request.transactionTimeoutMs;
  if (id === undefined || id === null) {
    if (timeout !== undefined) invalid("body.transactionTimeoutMs needs body.transactionalId");
    return { transactionalId: null, transactionTimeoutMs: TRANSACTION_TIMEOUT_MS_DEFAULT };
  }
  return {
    transactionalId: checkTransactionalId(id, "body.transactionalId"),
    transactionTimeoutMs:
      timeout === undefined
        ? TRANSACTION_TIMEOUT_MS_DEFAULT
        : expectInt(
            timeout,
            "body.transactionTimeoutMs",
            TRANSACTION_TIMEOUT_MS_MIN,
            TRANSACTION_TIMEOUT_MS_MAX,
          ),
  };
}

/** A transactionalId (a body field or a path segment): 1 to 249 characters, as Kafka's transactional.id. */
export function checkTransactionalId(id: unknown, path: string): string {
  if (typeof id !== "string") invalid(`${path} must be a string, got ${typeName(id)}`);
  if (id.length === 0 || id.length > TRANSACTIONAL_ID_LENGTH_MAX)
    invalid(`${path} must be 1 to ${TRANSACTIONAL_ID_LENGTH_MAX} characters long`);
  return id;
}

/** `producer: { id, epoch }` of a transaction request. */
export type TransactionProducer = { id: string; epoch: number };

function parseTransactionProducer(value: unknown): TransactionProducer {
  const producer = expectObject(value, "body.producer");
  rejectUnknownFields(producer, ["id", "epoch"], "body.producer");
  if (typeof producer.id !== "string" || !PRODUCER_ID.test(producer.id))
    invalid("body.producer.id must be an id from POST /v1/producers (64 hexadecimal digits)");
  return { id: producer.id, epoch: expectInt(producer.epoch, "body.producer.epoch", 0, PRODUCER_EPOCH_MAX) };
}

/**
 * `POST /v1/transactions/{transactionalId}/commit` and `/abort` body. `producer.sequence`
 * (optional): one past the last sequence the producer sent; an end sent before the
 * open transaction's first write (a late repeat of an earlier one) is then refused.
 */
export function parseEndTransaction(body: unknown): {
  producer: TransactionProducer;
  sequence: number | null;
} {
  const request = expectObject(body, "body");
  rejectUnknownFields(request, ["producer"], "body");
  const producer = expectObject(request.producer, "body.producer");
  const { sequence, ...rest } = producer;
  return {
    producer: parseTransactionProducer(rest),
    sequence:
      sequence === undefined
        ? null
        : expectInt(sequence, "body.producer.sequence", 0, Number.MAX_SAFE_INTEGER),
  };
}

/** `POST /v1/transactions/{transactionalId}/offsets` body: a group commit sent to the transaction. */
export function parseTransactionOffsets(body: unknown): {
  producer: TransactionProducer;
  group: string;
  commit: CommitRequest;
} {
  const request = expectObject(body, "body");
  rejectUnknownFields(request, ["producer", "group", "memberId", "generation", "offsets"], "body");
  return {
    producer: parseTransactionProducer(request.producer),
    group: checkGroupId(expectString(request.group, "body.group")),
    commit: {
      memberId: checkMemberId(expectString(request.memberId, "body.memberId"), "body.memberId"),
      generation: expectInt(request.generation, "body.generation", 0, Number.MAX_SAFE_INTEGER),
      offsets: parseOffsetList(request.offsets, "body.offsets"),
    },
  };
}
