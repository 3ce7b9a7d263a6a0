/**
 * The single error table (as Kafka's Errors.java): every operating error has a
 * stable code, the HTTP status the gateway answers with, and a retriable flag.
 * Codes use Apache Kafka's error names where one exists (shared/API.md).
 */
export const ERRORS = {
  INVALID_REQUEST: { status: 400, retriable: false },
  INVALID_TOPIC_EXCEPTION: { status: 400, retriable: false },
  INVALID_PARTITIONS: { status: 400, retriable: false },
  INVALID_REPLICATION_FACTOR: { status: 400, retriable: false },
  INVALID_CONFIG: { status: 400, retriable: false },
  UNAUTHENTICATED: { status: 401, retriable: false },
  TOPIC_AUTHORIZATION_FAILED: { status: 403, retriable: false },
  GROUP_AUTHORIZATION_FAILED: { status: 403, retriable: false },
  CLUSTER_AUTHORIZATION_FAILED: { status: 403, retriable: false },
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: { status: 403, retriable: false },
  /** A browser page whose Origin is not in EDGELOG_CORS_ORIGINS opened a WebSocket. */
  ORIGIN_NOT_ALLOWED: { status: 403, retriable: false },
  /** With EDGELOG_AUTH=none, a Host that is not loopback (a DNS-rebinding page): refused. */
  HOST_NOT_ALLOWED: { status: 403, retriable: false },
  UNKNOWN_TOPIC_OR_PARTITION: { status: 404, retriable: false },
  UNKNOWN_MEMBER_ID: { status: 404, retriable: false },
  GROUP_ID_NOT_FOUND: { status: 404, retriable: false },
  /** GET /v1/transactions/{id} of an id no producer was started with. */
  TRANSACTIONAL_ID_NOT_FOUND: { status: 404, retriable: false },
  /** DELETE of an API key the principal does not have. */
  API_KEY_NOT_FOUND: { status: 404, retriable: false },
  /** GET or DELETE /v1/alerts/{name} of a rule that does not exist. */
  ALERT_NOT_FOUND: { status: 404, retriable: false },
  /** An unknown route (not a Kafka error; added so every answer has the envelope). */
  NOT_FOUND: { status: 404, retriable: false },
  PARTITION_NOT_ASSIGNED: { status: 409, retriable: false },
  NON_EMPTY_GROUP: { status: 409, retriable: false },
  TOPIC_ALREADY_EXISTS: { status: 409, retriable: false },
  ILLEGAL_GENERATION: { status: 409, retriable: false },
  REBALANCE_IN_PROGRESS: { status: 409, retriable: true },
  FENCED_INSTANCE_ID: { status: 409, retriable: false },
  OUT_OF_ORDER_SEQUENCE_NUMBER: { status: 409, retriable: false },
  DUPLICATE_SEQUENCE_NUMBER: { status: 409, retriable: false },
  PRODUCER_FENCED: { status: 409, retriable: false },
  /** A transaction request its state does not allow (commit with none open, abort after commit). */
  INVALID_TXN_STATE: { status: 409, retriable: false },
  /** The transaction is still completing (markers being written): retry. */
  CONCURRENT_TRANSACTIONS: { status: 409, retriable: true },
  /** An epoch newer than the producer's current one: never handed out by POST /v1/producers. */
  INVALID_PRODUCER_EPOCH: { status: 409, retriable: false },
  /** A producer id never handed out, or expired after producer.id.expiration.ms of silence. */
  UNKNOWN_PRODUCER_ID: { status: 404, retriable: false },
  OFFSET_OUT_OF_RANGE: { status: 416, retriable: false },
  // The Durable Streams protocol (/v1/stream/*) answers with its own statuses (PROTOCOL.md §5).
  /** No stream at this path (never created, deleted, or expired). */
  STREAM_NOT_FOUND: { status: 404, retriable: false },
  /** The stream was deleted (or expired) while forks still read it: only its forks remain. */
  STREAM_GONE: { status: 410, retriable: false },
  /** A PUT of a stream that exists with another content type, expiry, closure or fork origin. */
  STREAM_ALREADY_EXISTS: { status: 409, retriable: false },
  /** An append whose content type differs from the stream's, or whose Stream-Seq does not grow. */
  STREAM_CONFLICT: { status: 409, retriable: false },
  /** An append to a closed stream (Stream-Closed and Stream-Next-Offset say where it ended). */
  STREAM_CLOSED: { status: 409, retriable: false },
  /** A Producer-Epoch older than the stream knows: a zombie (Producer-Epoch says the current one). */
  STREAM_PRODUCER_FENCED: { status: 403, retriable: false },
  /** A Producer-Seq past the next one (Producer-Expected-Seq says which). */
  STREAM_SEQUENCE_GAP: { status: 409, retriable: false },
  /** A conditional append (`expectedOffset`) whose partition ends elsewhere: nothing appended. */
  OFFSET_MISMATCH: { status: 412, retriable: false },
  RECORD_TOO_LARGE: { status: 413, retriable: false },
  MESSAGE_TOO_LARGE: { status: 413, retriable: false },
  INVALID_RECORD: { status: 422, retriable: false },
  THROTTLING_QUOTA_EXCEEDED: { status: 429, retriable: true },
  /** A bug: an assertion failed. Never a 4xx. */
  UNKNOWN_SERVER_ERROR: { status: 500, retriable: false },
  NOT_ENOUGH_REPLICAS: { status: 503, retriable: true },
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: { status: 503, retriable: true },
  LEADER_NOT_AVAILABLE: { status: 503, retriable: true },
  /** The producer object did not answer: the outcome is unknown, and repeating the same sequence is safe. */
  COORDINATOR_NOT_AVAILABLE: { status: 503, retriable: true },
  /** The object asked is not the partition's current leader (stale metadata or a fenced leader). */
  NOT_LEADER_OR_FOLLOWER: { status: 503, retriable: true },
  /** A replication request from a leader whose epoch is older than the replica's. */
  FENCED_LEADER_EPOCH: { status: 409, retriable: false },
  REQUEST_TIMED_OUT: { status: 504, retriable: true },
} as const satisfies Record<string, { status: number; retriable: boolean }>;

export type ErrorCode = keyof typeof ERRORS;

/** The `error` member of every non-2xx answer; extra fields (e.g. offsets) may follow. */
export type ErrorInfo = {
  code: ErrorCode;
  message: string;
  retriable: boolean;
  logStartOffset?: number;
  highWatermark?: number;
  /** With OFFSET_MISMATCH: where the partition's log ends. */
  logEndOffset?: number;
  /** With FENCED_LEADER_EPOCH: the newer epoch the replica knows. */
  leaderEpoch?: number;
};

/** Operating-error result, the only error form that crosses Durable Object RPC intact. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorInfo };

export function errorInfo(code: ErrorCode, message: string, extra?: Partial<ErrorInfo>): ErrorInfo {
  return { code, message, retriable: ERRORS[code].retriable, ...extra };
}

export function fail(
  code: ErrorCode,
  message: string,
  extra?: Partial<ErrorInfo>,
): { ok: false; error: ErrorInfo } {
  return { ok: false, error: errorInfo(code, message, extra) };
}

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function statusOf(code: ErrorCode): number {
  return ERRORS[code].status;
}

/** Thrown inside the gateway to answer with an error envelope; never crosses RPC. */
export class EdgelogError extends Error {
  readonly info: ErrorInfo;
  constructor(code: ErrorCode, message: string, extra?: Partial<ErrorInfo>) {
    super(message);
    this.name = "EdgelogError";
    this.info = errorInfo(code, message, extra);
  }
}

/** Unwraps a Result in the gateway: an operating error becomes an EdgelogError. */
export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw new EdgelogError(result.error.code, result.error.message, result.error);
}

/** Invariant check: a failure is a bug (500), never a client error. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}
