import * as z from "zod";
import {
  PRODUCER_EPOCH_MAX,
  TRANSACTION_TIMEOUT_MS_DEFAULT,
  TRANSACTION_TIMEOUT_MS_MAX,
  TRANSACTION_TIMEOUT_MS_MIN,
  TRANSACTIONAL_ID_LENGTH_MAX,
} from "../core/limits";
import { CommitBody, type CommitRequest, GroupId } from "./groups";
import { parseInput, refusal } from "./validate";

/** Producer ids are the ids of their Durable Objects (POST /v1/producers hands them out): 64 hex digits. */
export const ProducerId = z
  .string()
  .regex(/^[0-9a-f]{64}$/, { error: "must be an id from POST /v1/producers (64 hexadecimal digits)" });

/** A transactionalId (a body field or a path segment): 1 to 249 characters, as Kafka's transactional.id. */
export const TransactionalId = z.string().min(1).max(TRANSACTIONAL_ID_LENGTH_MAX);

export type InitProducer = { transactionalId: string | null; transactionTimeoutMs: number };

export const InitProducerBody = z
  .strictObject({
    transactionalId: TransactionalId.nullable().optional(),
    transactionTimeoutMs: z.int().min(TRANSACTION_TIMEOUT_MS_MIN).max(TRANSACTION_TIMEOUT_MS_MAX).optional(),
  })
  .superRefine((request, context) => {
    if (request.transactionalId == null && request.transactionTimeoutMs !== undefined)
      refusal(context, "needs body.transactionalId", undefined, ["transactionTimeoutMs"]);
  })
  .optional()
  .meta({ id: "InitProducerRequest" });

/** `POST /v1/producers` body: empty, `{}`, or `{ "transactionalId": "…", "transactionTimeoutMs"? }`. */
export function parseInitProducer(body: unknown): InitProducer {
  const request = parseInput(InitProducerBody, body, "body");
  return {
    transactionalId: request?.transactionalId ?? null,
    transactionTimeoutMs: request?.transactionTimeoutMs ?? TRANSACTION_TIMEOUT_MS_DEFAULT,
  };
}

export function checkTransactionalId(id: unknown, path: string): string {
  return parseInput(TransactionalId, id, path);
}

/** `producer: { id, epoch }` of a transaction request. */
export type TransactionProducer = { id: string; epoch: number };
const TransactionProducerInput = z.strictObject({
  id: ProducerId,
  epoch: z.int().min(0).max(PRODUCER_EPOCH_MAX),
});

/**
 * `POST /v1/transactions/{transactionalId}/commit` and `/abort` body. `producer.sequence`
 * (optional): one past the last sequence the producer sent; an end sent before the
 * open transaction's first write (a late repeat of an earlier one) is then refused.
 */
export const EndTransactionBody = z
  .strictObject({ producer: TransactionProducerInput.extend({ sequence: z.int().min(0).optional() }) })
  .meta({ id: "EndTransactionRequest" });

export function parseEndTransaction(body: unknown): {
  producer: TransactionProducer;
  sequence: number | null;
} {
  const { id, epoch, sequence } = parseInput(EndTransactionBody, body, "body").producer;
  return { producer: { id, epoch }, sequence: sequence ?? null };
}

/** `POST /v1/transactions/{transactionalId}/offsets` body: a group commit sent to the transaction. */
export const TransactionOffsetsBody = CommitBody.extend({
  producer: TransactionProducerInput,
  group: GroupId,
}).meta({ id: "TransactionOffsetsRequest" });

export function parseTransactionOffsets(body: unknown): {
  producer: TransactionProducer;
  group: string;
  commit: CommitRequest;
} {
  const { producer, group, memberId, generation, offsets } = parseInput(TransactionOffsetsBody, body, "body");
  return { producer, group, commit: { memberId, generation, offsets } };
}
