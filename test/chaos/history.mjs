// What the chaos clients saw, and the checks that can be made while they run:
// every answer is classified against the contract, every record read is kept by
// (topic, partition, offset) so two different values at one offset are caught.
import { request } from "undici";

/**
 * Error codes of the contract (shared/API.md, and the additions the README documents)
 * with their statuses. An answer with any other code, or a code at another status,
 * is `unexpected`; so is a 500 or a body that is not the error envelope.
 */
export const CONTRACT_CODES = {
  INVALID_REQUEST: 400,
  INVALID_TOPIC_EXCEPTION: 400,
  INVALID_PARTITIONS: 400,
  INVALID_REPLICATION_FACTOR: 400,
  INVALID_CONFIG: 400,
  UNKNOWN_TOPIC_OR_PARTITION: 404,
  UNKNOWN_MEMBER_ID: 404,
  GROUP_ID_NOT_FOUND: 404,
  UNKNOWN_PRODUCER_ID: 404,
  NOT_FOUND: 404,
  PARTITION_NOT_ASSIGNED: 409,
  NON_EMPTY_GROUP: 409,
  TOPIC_ALREADY_EXISTS: 409,
  ILLEGAL_GENERATION: 409,
  REBALANCE_IN_PROGRESS: 409,
  FENCED_INSTANCE_ID: 409,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 409,
  DUPLICATE_SEQUENCE_NUMBER: 409,
  PRODUCER_FENCED: 409,
  INVALID_PRODUCER_EPOCH: 409,
  OFFSET_OUT_OF_RANGE: 416,
  RECORD_TOO_LARGE: 413,
  MESSAGE_TOO_LARGE: 413,
  INVALID_RECORD: 422,
  THROTTLING_QUOTA_EXCEEDED: 429,
  NOT_ENOUGH_REPLICAS: 503,
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: 503,
  LEADER_NOT_AVAILABLE: 503,
  COORDINATOR_NOT_AVAILABLE: 503,
  NOT_LEADER_OR_FOLLOWER: 503,
  REQUEST_TIMED_OUT: 504,
};

/** Kinds of finding; the summary line prints one count each. */
export const FINDINGS = ["lost", "duplicated", "inconsistent", "aboveHW", "regressions", "unexpected"];

/** Findings of one kind printed in full at most (the counts stay exact). */
const FINDINGS_PRINTED_PER_KIND = 6;
/** A request unanswered this long is given up on (outcome unknown); long-polls add their waitMs. */
export const REQUEST_TIMEOUT_MS = 40_000;

export class History {
  /** @param {number} seed */
  constructor(seed) {
    this.seed = seed;
    this.ops = 0;
    this.crashes = 0;
    this.faults = 0;
    this.cuts = 0;
    /** @type {Record<string, number>} */
    this.counts = Object.fromEntries(FINDINGS.map((k) => [k, 0]));
    /** @type {string[]} */
    this.printed = [];
    /** What the nemesis did, with the time since the start: printed when something was found. */
    this.events = [];
    /** What the server printed, one entry per server life. */
    this.serverLog = [];
    this.startedAt = Date.now();
    /** Acknowledged writes the final log must hold: { topic, partition, offset, value, how }. */
    this.acked = [];
    /** Every value ever sent (acks=0 and unknown outcomes too): no value may be stored twice. */
    this.sent = new Set();
    /** `topic/partition/offset` → value, from every read. */
    this.observed = new Map();
    /** `group/topic/partition` → offsets a client tried to commit (accepted or outcome unknown). */
    this.commitAttempts = new Map();
    /** `group/generation/topic/partition` → the member that was told it owns it. */
    this.owners = new Map();
    /** Transactions of the transactional clients: { name, values, outcome: committed | aborted | unknown }. */
    this.transactions = [];
  }

  /** Records a finding of `kind`, printed with the seed so it can be replayed. */
  find(/** @type {string} */ kind, /** @type {string} */ message) {
    this.counts[kind] += 1;
    if (this.counts[kind] <= FINDINGS_PRINTED_PER_KIND) {
      const line = `chaos seed=${this.seed} ${kind}: ${message}`;
      this.printed.push(line);
      console.error(line);
    }
  }

  /** Something the nemesis did (a crash, a fault), for the report of a failed run. */
  event(/** @type {string} */ what) {
    this.events.push(`${((Date.now() - this.startedAt) / 1000).toFixed(1)}s ${what}`);
  }

  /** A record a client read: the same offset must always hold the same value. */
  observe(/** @type {string} */ topic, /** @type {number} */ partition, record, /** @type {string} */ by) {
    const key = `${topic}/${partition}/${record.offset}`;
    const value = JSON.stringify(record.value);
    const before = this.observed.get(key);
    if (before === undefined) this.observed.set(key, value);
    else if (before !== value)
      this.find("inconsistent", `${key} read as ${before} and later as ${value} (${by})`);
  }

  /** A member was told, in `generation`, that it owns these partitions: no one else may in that generation. */
  own(group, generation, memberId, assignments) {
    for (const tp of assignments) {
      const key = `${group}/${generation}/${tp.topic}/${tp.partition}`;
      const owner = this.owners.get(key);
      if (owner === undefined) this.owners.set(key, memberId);
      else if (owner !== memberId)
        this.find("regressions", `${key} assigned to both ${owner} and ${memberId} in one generation`);
    }
  }

  attemptCommit(group, offsets) {
    for (const o of offsets) {
      const key = `${group}/${o.topic}/${o.partition}`;
      if (!this.commitAttempts.has(key)) this.commitAttempts.set(key, new Set());
      this.commitAttempts.get(key).add(o.offset);
    }
  }

  summary() {
    const acked = this.acked.length;
    const counts = FINDINGS.map((k) => `${k}=${this.counts[k]}`).join(" ");
    const txns = ["committed", "aborted", "unknown"]
      .map((o) => this.transactions.filter((t) => t.outcome === o).length)
      .join("/");
    return `chaos seed=${this.seed} ops=${this.ops} crashes=${this.crashes} faults=${this.faults} cuts=${this.cuts} acked=${acked} transactions(committed/aborted/unknown)=${txns} ${counts}`;
  }

  get failed() {
    return FINDINGS.some((k) => this.counts[k] > 0);
  }
}

/**
 * One HTTP request, classified: `ok` (2xx), `error` (a contract error: `code` set),
 * or `unknown` (no answer: refused, reset, cut by the client, timed out). A 500, a
 * code outside the contract, or a body that is not the envelope is also reported.
 * @param {{ history: History, url: () => string }} ctx
 * @param {{ cut?: boolean, timeoutMs?: number, label?: string }} [options]
 */
export async function call(ctx, method, path, body, options = {}) {
  const { history } = ctx;
  history.ops += 1;
  const controller = new AbortController();
  const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  // A cut: the client drops the connection a moment after sending (mid-request for the server).
  if (options.cut) {
    history.cuts += 1;
    setTimeout(() => controller.abort(), Math.random() * 5);
  }
  let status;
  let text;
  try {
    const res = await request(`${ctx.url()}${path}`, {
      method,
      // Every POST says JSON, bodiless ones too (the gateway refuses a POST that does not).
      headers: body === undefined && method !== "POST" ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    status = res.statusCode;
    text = await res.body.text();
  } catch {
    return { kind: "unknown" };
  } finally {
    clearTimeout(timer);
  }
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (status >= 200 && status < 300) return { kind: "ok", status, body: json };
  // A produce that failed on some partitions answers its results, each failed one with its error (API.md).
  const error = json?.error ?? json?.results?.find((r) => r?.error)?.error;
  const code = error?.code;
  const label = options.label ?? `${method} ${path.split("?")[0]}`;
  if (typeof code !== "string" || typeof error.message !== "string") {
    history.find(
      "unexpected",
      `${label} answered ${status} without the error envelope: ${text.slice(0, 200)}`,
    );
    return { kind: "unknown" };
  }
  if (CONTRACT_CODES[code] !== status)
    history.find("unexpected", `${label} answered ${status} ${code}: ${error.message.slice(0, 200)}`);
  return { kind: "error", status, code, body: json };
}

/** Waits `ms` milliseconds. */
export const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));
