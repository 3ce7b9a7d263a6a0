import { describe, expect, it } from "vitest";
import { EdgelogError } from "../../core/errors";
import { resolveTopicConfigs } from "../../core/topic-config";
import { topicNameProblem } from "../../core/topic-name";
import { parseAlterConfigs, parseCreateTopic } from "../../schemas/topic";

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof EdgelogError) return error.info.code;
    throw error;
  }
  return "no error";
}

describe("topic names (Kafka's rule)", () => {
  it.each(["orders", "a", "A.b_c-9", "x".repeat(249), "..."])("accepts %j", (name) => {
    expect(topicNameProblem(name)).toBeNull();
  });
  it.each(["", ".", "..", "x".repeat(250), "a/b", "a b", "ä", "a%2F", "a\n"])("refuses %j", (name) => {
    expect(topicNameProblem(name)).toEqual(expect.any(String));
  });
});

describe("create-topic body", () => {
  it("applies API.md defaults", () => {
    expect(parseCreateTopic({ name: "t" })).toEqual({
      name: "t",
      partitions: 1,
      replicationFactor: 3,
      configs: {
        "min.insync.replicas": 2,
        "retention.ms": 604800000,
        "retention.bytes": -1,
        "max.message.bytes": 1048576,
        "replica.lag.time.max.ms": 10000,
        "replica.ack.timeout.ms": 5000,
        "cleanup.policy": "delete",
        "delete.retention.ms": 86400000,
      },
    });
  });

  it("caps the default min.insync.replicas at the replication factor", () => {
    expect(parseCreateTopic({ name: "t", replicationFactor: 1 }).configs["min.insync.replicas"]).toBe(1);
  });

  it.each([
    [{ name: "t", partitions: 0 }, "INVALID_PARTITIONS"],
    [{ name: "t", partitions: 1025 }, "INVALID_PARTITIONS"],
    [{ name: "t", partitions: 1.5 }, "INVALID_PARTITIONS"],
    [{ name: "t", partitions: "3" }, "INVALID_REQUEST"],
    [{ name: "t", replicationFactor: 0 }, "INVALID_REPLICATION_FACTOR"],
    [{ name: "t", replicationFactor: 6 }, "INVALID_REPLICATION_FACTOR"],
    [{ name: "t", configs: { "min.insync.replicas": 4 } }, "INVALID_CONFIG"],
    [{ name: "t", configs: { "retention.ms": 0 } }, "INVALID_CONFIG"],
    [{ name: "t", configs: { "retention.ms": -2 } }, "INVALID_CONFIG"],
    [{ name: "t", configs: { "retention.bytes": "1" } }, "INVALID_CONFIG"],
    [{ name: "t", configs: { "max.message.bytes": 2_000_000 } }, "INVALID_CONFIG"],
    [{ name: "t", configs: { "cleanup.policy": "forever" } }, "INVALID_CONFIG"],
    [{ name: "t", configs: { "segment.bytes": 1 } }, "INVALID_CONFIG"],
    [{ name: "t", configs: [] }, "INVALID_CONFIG"],
    [{ name: "a/b" }, "INVALID_TOPIC_EXCEPTION"],
    [{ name: 7 }, "INVALID_REQUEST"],
    [{}, "INVALID_REQUEST"],
    [{ name: "t", extra: 1 }, "INVALID_REQUEST"],
    [[], "INVALID_REQUEST"],
    [null, "INVALID_REQUEST"],
    [undefined, "INVALID_REQUEST"],
  ])("%j → %s", (body, code) => {
    expect(codeOf(() => parseCreateTopic(body))).toBe(code);
  });

  it("accepts unlimited (-1) retention and every cleanup policy", () => {
    for (const policy of ["delete", "compact", "compact,delete", "delete,compact"]) {
      const topic = parseCreateTopic({
        name: "t",
        configs: { "retention.ms": -1, "cleanup.policy": policy },
      });
      expect(topic.configs["cleanup.policy"]).toBe(policy);
      expect(topic.configs["retention.ms"]).toBe(-1);
    }
  });
});

describe("alter configs", () => {
  it("merges changes and resets a config given as null", () => {
    const base = parseCreateTopic({ name: "t", configs: { "retention.ms": 1000 } }).configs;
    const changed = resolveTopicConfigs({ "retention.bytes": 4096, "retention.ms": null }, 3, base);
    expect(changed.ok && changed.configs["retention.bytes"]).toBe(4096);
    expect(changed.ok && changed.configs["retention.ms"]).toBe(604800000);
  });

  it("refuses a body without configs or of the wrong shape", () => {
    expect(codeOf(() => parseAlterConfigs({}))).toBe("INVALID_REQUEST");
    expect(codeOf(() => parseAlterConfigs({ configs: 1 }))).toBe("INVALID_CONFIG");
    expect(codeOf(() => parseAlterConfigs({ configs: {}, x: 1 }))).toBe("INVALID_REQUEST");
  });
});
