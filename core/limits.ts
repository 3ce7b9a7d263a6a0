/**
 * Every limit of edgelog in one place, units last in the name. The public ones
 * are fixed by shared/API.md; the internal ones keep each object bounded.
 */

/** Default gateway request-body limit (API.md); `EDGELOG_MAX_REQUEST_BYTES` overrides it. */
export const REQUEST_BODY_BYTES_DEFAULT = 1024 * 1024;
/** Upper bound for the configurable body limit: Workers refuse larger bodies on most plans anyway. */
export const REQUEST_BODY_BYTES_MAX = 32 * 1024 * 1024;

/** Records in one produce request (API.md). */
export const PRODUCE_RECORDS_MAX = 10_000;

export const PARTITIONS_MIN = 1;
export const PARTITIONS_MAX = 1024;
export const REPLICATION_FACTOR_MIN = 1;
export const REPLICATION_FACTOR_MAX = 5;

/** Kafka's topic-name rule: legal characters and at most 249 of them. */
export const TOPIC_NAME_LENGTH_MAX = 249;
/** Topics one registry holds: bounds every listing and fan-out. */
export const TOPICS_MAX = 10_000;

export const FETCH_MAX_RECORDS_DEFAULT = 500;
export const FETCH_MAX_RECORDS_MAX = 10_000;
export const FETCH_MAX_BYTES_DEFAULT = 1024 * 1024;
export const FETCH_MAX_BYTES_MAX = 16 * 1024 * 1024;
export const FETCH_WAIT_MS_MAX = 30_000;
/** Long-polling fetches parked on one partition; past it a fetch answers at once (empty). */
export const FETCH_WAITERS_MAX = 1_000;

/** Consumer groups one registry lists; bounds listing, metrics and topic-deletion fan-out. */
export const GROUPS_MAX = 10_000;
/** Members of one group. */
export const GROUP_MEMBERS_MAX = 1_000;
/** Topics one member subscribes to. */
export const SUBSCRIBED_TOPICS_MAX = 100;
/** Offsets in one commit request. */
export const COMMIT_OFFSETS_MAX = 10_000;
/** Group ids, instance ids and member ids: Kafka-like names, bounded. */
export const GROUP_ID_LENGTH_MAX = 249;
export const MEMBER_ID_LENGTH_MAX = 300;
/** How often a group's alarm samples its partitions' high watermarks (API.md: lag is at most 5 s old). */
export const LAG_SAMPLE_INTERVAL_MS = 5_000;
/** Lag samples kept per group (one per sampling interval: 5 minutes). */
export const LAG_HISTORY_MAX = 60;

export const SESSION_TIMEOUT_MS_MIN = 1_000;
export const SESSION_TIMEOUT_MS_MAX = 300_000;
export const SESSION_TIMEOUT_MS_DEFAULT = 30_000;

/** Headers on one record, and the length of one header key. */
export const RECORD_HEADERS_MAX = 64;
export const RECORD_HEADER_KEY_LENGTH_MAX = 256;
/** Nesting of a record's JSON value; SQLite's JSON functions refuse depth > 1000. */
export const RECORD_VALUE_DEPTH_MAX = 64;
/** Largest timestamp accepted: the largest JavaScript Date (year 275760). */
export const TIMESTAMP_MAX = 8_640_000_000_000_000;
/** Largest offset a request may name: offsets are JSON numbers, exact up to 2^53. */
export const OFFSET_MAX = Number.MAX_SAFE_INTEGER;

/**
 * Bytes of records in one stored chunk: one SQLite bound parameter may not exceed
 * ~2 MB on Durable Objects, so a large batch is inserted as several chunks (one transaction).
 */
export const APPEND_CHUNK_BYTES_MAX = 1024 * 1024;

/** How long the gateway trusts its cached copy of a topic's metadata. */
export const TOPIC_METADATA_TTL_MS = 2_000;
/** Partitions `/metrics` and describe fan out to, in parallel, at once. */
export const FAN_OUT_CONCURRENCY_MAX = 64;

/** WebSocket frames: at most 1 MiB each (API.md). */
export const WS_FRAME_BYTES_MAX = 1024 * 1024;
/** Consecutive non-JSON frames after which the socket is closed with 1008 (API.md). */
export const WS_NON_JSON_FRAMES_MAX = 3;
/** Credits a subscription may hold at once; more is "absurd" and refused. */
export const WS_CREDITS_MAX = 100_000;
/** Credits of a subscription when `credits` is omitted (API.md). */
export const WS_CREDITS_DEFAULT = 1_000;
/** Subscriptions one socket holds. */
export const WS_SUBSCRIPTIONS_MAX = 32;
/**
 * Frames a socket may send a second (token bucket), with bursts up to twice that.
 * About twice what a producer needs for 100k records/s at 100 records a frame (1,000/s).
 */
export const WS_FRAMES_PER_SECOND = 3_000;
/** Frames a socket may send at once after a quiet spell: two seconds' worth. */
export const WS_FRAMES_BURST = 2 * WS_FRAMES_PER_SECOND;
/** Bytes of records one push frame carries at most: half the frame limit leaves room for the envelope. */
export const WS_PUSH_BYTES_MAX = WS_FRAME_BYTES_MAX / 2;
/** Records one push frame carries at most (further ones follow while credits last). */
export const WS_PUSH_RECORDS_MAX = 1_000;
/** Sockets (sessions) one partition leader notifies. */
export const PARTITION_WATCHERS_MAX = 10_000;

/**
 * Sequences per producer whose results are kept (API.md: at least the last 5);
 * an older repeat answers DUPLICATE_SEQUENCE_NUMBER. Kafka keeps 5 batches too.
 */
export const PRODUCER_SEQUENCES_KEPT = 5;
/** Requests of one producer queued behind the one being applied (Kafka's max in-flight for idempotence). */
export const PRODUCER_QUEUE_MAX = 5;
/** Idle time after which a producer id and its per-partition state are forgotten (Kafka's producer.id.expiration.ms). */
export const PRODUCER_ID_EXPIRATION_MS_DEFAULT = 7 * 24 * 60 * 60 * 1000;
/** transactionTimeoutMs of POST /v1/producers (API.md): 1 s to 15 min, 1 min when omitted (Kafka's default). */
export const TRANSACTION_TIMEOUT_MS_MIN = 1_000;
export const TRANSACTION_TIMEOUT_MS_MAX = 900_000;
export const TRANSACTION_TIMEOUT_MS_DEFAULT = 60_000;
/** Partitions one transaction writes to: each gets a marker at commit, so the coordinator's work is bounded. */
export const TRANSACTION_PARTITIONS_MAX = 1_000;
/** Groups one transaction commits offsets of. */
export const TRANSACTION_GROUPS_MAX = 16;
/** Kafka's transactional.id: a name, bounded like a group id. */
export const TRANSACTIONAL_ID_LENGTH_MAX = 249;
/** Producer epochs and sequences are exact JSON integers. */
export const PRODUCER_EPOCH_MAX = Number.MAX_SAFE_INTEGER;

// ---- security (API.md "Security") ----

/** API.md: principal names match [a-zA-Z0-9._@-]{1,128}. */
export const PRINCIPAL_NAME_LENGTH_MAX = 128;
/** Principals the cluster knows (with keys, ACLs or quotas): the gateway caches views of them. */
export const PRINCIPALS_MAX = 10_000;
/** Live API keys per principal: enough to rotate without downtime, few enough to audit. */
export const API_KEYS_PER_PRINCIPAL_MAX = 20;
/** ACLs one principal holds: every decision scans them (once per resource and 4 s, then cached). */
export const ACLS_PER_PRINCIPAL_MAX = 1_000;
/** ACLs in the cluster. */
export const ACLS_MAX = 100_000;
/** A resource name or prefix in an ACL: the longest name any resource may have (group ids, 249). */
export const ACL_RESOURCE_NAME_LENGTH_MAX = 249;
/** ACLs a scoped token lists: they ride in the token, which may ride in a URL (?access_token=). */
export const SCOPED_TOKEN_ACLS_MAX = 32;
/** API.md: a scoped token lives at most 24 h. */
export const SCOPED_TOKEN_TTL_S_MAX = 24 * 60 * 60;
/** A scoped token's lifetime when `expiresInS` is omitted. */
export const SCOPED_TOKEN_TTL_S_DEFAULT = 60 * 60;
/**
 * How long a gateway isolate trusts what it read about a principal (keys, ACLs,
 * quotas). API.md: a revoked key stops working within 5 s; 4 s leaves a second for
 * the lookup itself.
 */
export const SECURITY_CACHE_MS = 4_000;
/**
 * An API key unknown to an isolate's cached view makes it look again, but not more
 * often than this: a new key works everywhere within a second, and made-up key ids
 * cannot turn into a flood of lookups.
 */
export const SECURITY_REFRESH_MS = 1_000;
/** Credentials an isolate remembers as verified (bounded: a flood of distinct tokens evicts the oldest). */
export const CREDENTIAL_CACHE_ENTRIES_MAX = 10_000;
/** The largest quota figure (bytes or requests a second): 2^40, far above what one principal can send. */
export const QUOTA_RATE_MAX = 2 ** 40;
/** Alert rules in the cluster: each is evaluated every ALERT_EVALUATION_MS by one object. */
export const ALERT_RULES_MAX = 100;
/** An alert name follows the topic-name rule (it is a URL path segment and a webhook label). */
export const ALERT_NAME_LENGTH_MAX = 249;
/** The longest `forMs`: a day (a condition held longer is an incident already). */
export const ALERT_FOR_MS_MAX = 24 * 60 * 60 * 1000;
/** `forMs` when omitted (API.md's example). */
export const ALERT_FOR_MS_DEFAULT = 60_000;
/**
 * How often alert rules are evaluated: they read the lag groups sample (at most
 * LAG_SAMPLE_INTERVAL_MS old) and the leaders' ISR, so a second is as fresh as the facts.
 */
export const ALERT_EVALUATION_MS = 1_000;
/** A webhook URL's length (browsers' and proxies' common limit). */
export const WEBHOOK_URL_LENGTH_MAX = 2_048;
/** A webhook secret's length. */
export const WEBHOOK_SECRET_LENGTH_MAX = 256;
/** How long one webhook delivery may take before it counts as failed. */
export const WEBHOOK_TIMEOUT_MS = 10_000;
/** Delivery attempts kept per rule for GET /v1/alerts (the newest). */
export const ALERT_DELIVERIES_KEPT = 20;
/**
 * An SSE tail's heartbeat: a comment line when no record came for this long (it also
 * bounds how long the leader holds each long-poll, and how soon a gone client is noticed).
 * Under the 100 s an idle connection lasts behind Cloudflare's proxy.
 */
export const SSE_HEARTBEAT_MS = 15_000;

// Durable Streams (/v1/stream/*, issue 18).
/** A stream's name (the path after /v1/stream/): bytes, like a URL path a CDN keeps whole. */
export const STREAM_NAME_BYTES_MAX = 512;
/** Stream-TTL: ten years; a longer sliding window is no window. */
export const STREAM_TTL_S_MAX = 10 * 365 * 24 * 60 * 60;
/** Producer-Id: an id, not a payload. */
export const STREAM_PRODUCER_ID_BYTES_MAX = 256;
/** Stream-Seq: compared as a string on every append; kept short. */
export const STREAM_SEQ_BYTES_MAX = 256;
/** One catch-up read answers at most this much (more than one message only below it). */
export const STREAM_READ_BYTES_MAX = 1024 * 1024;
/** A long-poll waits this long for data before 204 (the protocol leaves it to the server). */
export const STREAM_LONG_POLL_MS = 10_000;
/** An SSE connection is closed after this long so CDNs can collapse readers (§10.2: ~60 s). */
export const STREAM_SSE_CONNECTION_MS = 60_000;
/** A fork copies its inherited data once (copy-on-fork): at most this much, one RPC's worth. */
export const STREAM_FORK_BYTES_MAX = 16 * 1024 * 1024;
/** Producer state of a stream is forgotten after this long unused (Kafka's producer.id.expiration.ms). */
export const STREAM_PRODUCER_IDLE_MS = 7 * 24 * 60 * 60 * 1000;
