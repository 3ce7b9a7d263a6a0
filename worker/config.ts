import { REQUEST_BODY_BYTES_DEFAULT, REQUEST_BODY_BYTES_MAX } from "../core/limits";
import type { Env } from "../durable-objects/env";

/**
 * The gateway's request-body limit from EDGELOG_MAX_REQUEST_BYTES. A value that
 * is not an integer in [1, REQUEST_BODY_BYTES_MAX] is a deployment mistake: it is
 * reported in the log and the default applies (never an unbounded body).
 */
export function maxRequestBytes(env: Env): number {
  const text = env.EDGELOG_MAX_REQUEST_BYTES;
  if (text === undefined || text === "") return REQUEST_BODY_BYTES_DEFAULT;
  const value = Number(text);
  if (Number.isSafeInteger(value) && value >= 1 && value <= REQUEST_BODY_BYTES_MAX) return value;
  console.error(
    `EDGELOG_MAX_REQUEST_BYTES='${text}' is not an integer from 1 to ${REQUEST_BODY_BYTES_MAX}; using ${REQUEST_BODY_BYTES_DEFAULT}`,
  );
  return REQUEST_BODY_BYTES_DEFAULT;
}
