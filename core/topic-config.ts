import { type ErrorInfo, errorInfo } from "./errors";

/**
 * Topic configs: names, types, bounds and defaults (shared/API.md). Values are
 * JSON numbers or strings; a value outside its range is refused, never clamped.
 */

/** Largest `max.message.bytes`: a Durable Object's SQLite row holds at most 2 MB. */
export const MAX_MESSAGE_BYTES_MAX = 1_900_000;
const DAY_MS = 24 * 60 * 60 * 1000;

type IntSpec = { kind: "int"; min: number; max: number; unlimited?: true; default: number };
type EnumSpec = { kind: "enum"; values: readonly string[]; default: string };

export const TOPIC_CONFIG_SPECS = {
  /** Default 2, capped at the topic's replicationFactor. */
  "min.insync.replicas": { kind: "int", min: 1, max: 5, default: 2 },
  "retention.ms": { kind: "int", min: 1, max: Number.MAX_SAFE_INTEGER, unlimited: true, default: 7 * DAY_MS },
  "retention.bytes": { kind: "int", min: 1, max: Number.MAX_SAFE_INTEGER, unlimited: true, default: -1 },
  "max.message.bytes": { kind: "int", min: 1, max: MAX_MESSAGE_BYTES_MAX, default: 1024 * 1024 },
  /** A follower behind the leader's log end for longer than this leaves the ISR. */
  "replica.lag.time.max.ms": { kind: "int", min: 100, max: 600_000, default: 10_000 },
  /** How long an acks=all produce waits for min.insync.replicas copies before answering an error. */
  "replica.ack.timeout.ms": { kind: "int", min: 100, max: 60_000, default: 5_000 },
  "cleanup.policy": {
    kind: "enum",
    values: ["delete", "compact", "compact,delete", "delete,compact"],
    default: "delete",
  },
  /** How long a compacted topic keeps a tombstone (a key's latest record with value null), by its timestamp. */
  "delete.retention.ms": { kind: "int", min: 0, max: Number.MAX_SAFE_INTEGER, default: DAY_MS },
} as const satisfies Record<string, IntSpec | EnumSpec>;

export type TopicConfigName = keyof typeof TOPIC_CONFIG_SPECS;

export type TopicConfigs = {
  "min.insync.replicas": number;
  "retention.ms": number;
  "retention.bytes": number;
  "max.message.bytes": number;
  "replica.lag.time.max.ms": number;
  "replica.ack.timeout.ms": number;
  "cleanup.policy": string;
  "delete.retention.ms": number;
};

function defaults(replicationFactor: number): TopicConfigs {
  return {
    "min.insync.replicas": Math.min(TOPIC_CONFIG_SPECS["min.insync.replicas"].default, replicationFactor),
    "retention.ms": TOPIC_CONFIG_SPECS["retention.ms"].default,
    "retention.bytes": TOPIC_CONFIG_SPECS["retention.bytes"].default,
    "max.message.bytes": TOPIC_CONFIG_SPECS["max.message.bytes"].default,
    "replica.lag.time.max.ms": TOPIC_CONFIG_SPECS["replica.lag.time.max.ms"].default,
    "replica.ack.timeout.ms": TOPIC_CONFIG_SPECS["replica.ack.timeout.ms"].default,
    "cleanup.policy": TOPIC_CONFIG_SPECS["cleanup.policy"].default,
    "delete.retention.ms": TOPIC_CONFIG_SPECS["delete.retention.ms"].default,
  };
}

/** Stored configs with the defaults of configs added since they were stored. */
export function withDefaults(stored: Partial<TopicConfigs>, replicationFactor: number): TopicConfigs {
  return { ...defaults(replicationFactor), ...stored };
}

/** cleanup.policy compact or compact,delete: the log keeps the latest record per key. */
export function isCompacted(configs: TopicConfigs): boolean {
  return configs["cleanup.policy"].includes("compact");
}

/** cleanup.policy delete or compact,delete: retention.ms / retention.bytes delete old records. */
export function deletesByRetention(configs: TopicConfigs): boolean {
  return configs["cleanup.policy"].includes("delete");
}

function valueProblem(name: TopicConfigName, value: unknown): string | null {
  const spec: IntSpec | EnumSpec = TOPIC_CONFIG_SPECS[name];
  if (spec.kind === "enum") {
    if (typeof value !== "string" || !spec.values.includes(value))
      return `config '${name}' must be one of ${spec.values.map((v) => `"${v}"`).join(", ")}`;
    return null;
  }
  const range = `${spec.unlimited ? "-1 (unlimited) or " : ""}an integer from ${spec.min} to ${spec.max}`;
  if (typeof value !== "number" || !Number.isSafeInteger(value))
    return `config '${name}' must be ${range}, got ${JSON.stringify(value)}`;
  if (spec.unlimited && value === -1) return null;
  if (value < spec.min || value > spec.max) return `config '${name}' must be ${range}, got ${value}`;
  return null;
}

/**
 * Applies `changes` to `base` (a null value resets a config to its default) and
 * checks the result; the answer is either the new configs or an INVALID_CONFIG error.
 */
export function resolveTopicConfigs(
  changes: unknown,
  replicationFactor: number,
  base: TopicConfigs = defaults(replicationFactor),
): { ok: true; configs: TopicConfigs } | { ok: false; error: ErrorInfo } {
  if (changes === undefined) return { ok: true, configs: { ...base } };
  if (typeof changes !== "object" || changes === null || Array.isArray(changes))
    return {
      ok: false,
      error: errorInfo("INVALID_CONFIG", "configs must be an object of config name → value"),
    };
  const configs: Record<string, unknown> = { ...base };
  const fresh = defaults(replicationFactor);
  for (const [name, value] of Object.entries(changes)) {
    if (!Object.hasOwn(TOPIC_CONFIG_SPECS, name)) {
      const known = Object.keys(TOPIC_CONFIG_SPECS).join(", ");
      return { ok: false, error: errorInfo("INVALID_CONFIG", `unknown config '${name}'; known: ${known}`) };
    }
    const configName = name as TopicConfigName;
    if (value === null) {
      configs[configName] = fresh[configName];
      continue;
    }
    const problem = valueProblem(configName, value);
    if (problem) return { ok: false, error: errorInfo("INVALID_CONFIG", problem) };
    configs[configName] = value;
  }
  const result = configs as TopicConfigs;
  if (result["min.insync.replicas"] > replicationFactor) {
    const message = `config 'min.insync.replicas' (${result["min.insync.replicas"]}) cannot exceed replicationFactor (${replicationFactor})`;
    return { ok: false, error: errorInfo("INVALID_CONFIG", message) };
  }
  return { ok: true, configs: result };
}
