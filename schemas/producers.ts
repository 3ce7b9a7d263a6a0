import { TRANSACTIONAL_ID_LENGTH_MAX } from "../core/limits";
import { expectObject, invalid, rejectUnknownFields, typeName } from "./input";

/** `POST /v1/producers` body: empty, `{}`, or `{ "transactionalId": "…" }`. */
export function parseInitProducer(body: unknown): { transactionalId: string | null } {
  if (body === undefined) return { transactionalId: null };
  const request = expectObject(body, "body");
  rejectUnknownFields(request, ["transactionalId"], "body");
  const id = request.transactionalId;
  if (id === undefined || id === null) return { transactionalId: null };
  if (typeof id !== "string") invalid(`body.transactionalId must be a string, got ${typeName(id)}`);
  if (id.length === 0 || id.length > TRANSACTIONAL_ID_LENGTH_MAX)
    invalid(`body.transactionalId must be 1 to ${TRANSACTIONAL_ID_LENGTH_MAX} characters long`);
  return { transactionalId: id };
}
