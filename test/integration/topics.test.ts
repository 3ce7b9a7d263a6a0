import { describe, expect, it } from "vitest";
import { api, createTopic, logEndOffsets, produce, readAll, uniqueTopic } from "./helpers";

describe("topic lifecycle", () => {
  it("creates, lists, describes, alters and deletes a topic as API.md says", async () => {
    const name = uniqueTopic("life");
    const created = await api("POST", "/v1/topics", {
      name,
      partitions: 3,
      replicationFactor: 2,
      configs: { "retention.ms": 1000 },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name, partitions: 3, replicationFactor: 2 });
    expect(created.body.configs).toEqual({
      "min.insync.replicas": 2,
      "retention.ms": 1000,
      "retention.bytes": -1,
      "max.message.bytes": 1048576,
      "replica.lag.time.max.ms": 10000,
      "replica.ack.timeout.ms": 5000,
      "cleanup.policy": "delete",
      "delete.retention.ms": 86400000,
    });
    expect(created.body.partitionInfo).toHaveLength(3);
    for (const [p, info] of created.body.partitionInfo.entries()) {
      expect(info).toMatchObject({
        partition: p,
        leaderEpoch: 0,
        logStartOffset: 0,
        highWatermark: 0,
        logEndOffset: 0,
      });
      expect(info.replicas).toEqual([0, 1]);
      expect(info.leader).toBe(0);
      expect(info.isr).toEqual([0, 1]);
    }

    const list = await api("GET", "/v1/topics");
    expect(list.status).toBe(200);
    expect(list.body.topics).toContainEqual({ name, partitions: 3, replicationFactor: 2 });

    const patched = await api("PATCH", `/v1/topics/${name}`, {
      configs: { "retention.bytes": 4096, "retention.ms": null },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.configs["retention.bytes"]).toBe(4096);
    expect(patched.body.configs["retention.ms"]).toBe(604800000);
    expect((await api("GET", `/v1/topics/${name}`)).body.configs["retention.bytes"]).toBe(4096);

    expect((await api("DELETE", `/v1/topics/${name}`)).status).toBe(204);
    const gone = await api("GET", `/v1/topics/${name}`);
    expect(gone.status).toBe(404);
    expect(gone.body.error).toMatchObject({ code: "UNKNOWN_TOPIC_OR_PARTITION", retriable: false });
    expect((await api("GET", "/v1/topics")).body.topics.map((t: { name: string }) => t.name)).not.toContain(
      name,
    );
    expect((await api("DELETE", `/v1/topics/${name}`)).status).toBe(404);
  });

  it("refuses to create a topic twice, even concurrently, and keeps the first", async () => {
    const name = uniqueTopic("dup");
    const answers = await Promise.all(
      [1, 2, 3, 4, 5].map((partitions) =>
        api("POST", "/v1/topics", { name, partitions, replicationFactor: 1 }),
      ),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409]);
    const winner = answers.find((a) => a.status === 201)!;
    for (const loser of answers.filter((a) => a.status === 409))
      expect(loser.body.error.code).toBe("TOPIC_ALREADY_EXISTS");
    expect((await api("GET", `/v1/topics/${name}`)).body.partitions).toBe(winner.body.partitions);
  });

  it("deleting a topic removes its data: a re-created topic starts empty at offset 0", async () => {
    const name = await createTopic({ partitions: 2 });
    await produce(name, [
      { value: "old", partition: 0 },
      { value: "old", partition: 1 },
    ]);
    expect(await logEndOffsets(name)).toEqual([1, 1]);
    expect((await api("DELETE", `/v1/topics/${name}`)).status).toBe(204);
    // Produce and fetch to the deleted topic are refused, whatever the gateway cached.
    expect((await produce(name, [{ value: "x" }])).status).toBe(404);
    expect((await api("GET", `/v1/topics/${name}/partitions/0/records?offset=0`)).status).toBe(404);

    await createTopic({ name, partitions: 1 });
    expect(await logEndOffsets(name)).toEqual([0]);
    const res = await produce(name, [{ value: "new" }]);
    expect(res.body.results[0]).toMatchObject({ partition: 0, offset: 0 });
    expect((await readAll(name, 0)).map((r) => r.value)).toEqual(["new"]);
    expect((await api("GET", `/v1/topics/${name}/partitions/1/records?offset=0`)).status).toBe(404);
  });

  it("a refused create or alter changes nothing", async () => {
    const name = uniqueTopic("bad");
    for (const body of [
      { name, partitions: 0 },
      { name, replicationFactor: 9 },
      { name, configs: { "no.such.config": 1 } },
      { name, configs: { "min.insync.replicas": 3 }, replicationFactor: 2 },
    ]) {
      expect((await api("POST", "/v1/topics", body)).status).toBe(400);
    }
    expect((await api("GET", `/v1/topics/${name}`)).status).toBe(404);

    const existing = await createTopic({ configs: { "retention.ms": 5000 } });
    for (const body of [
      { configs: { "retention.ms": "soon" } },
      { configs: { "retention.ms": 10, bogus: 1 } },
      { configs: { "min.insync.replicas": 2 } }, // replicationFactor is 1
      { config: {} },
    ]) {
      const res = await api("PATCH", `/v1/topics/${existing}`, body);
      expect(res.status).toBe(400);
      expect(["INVALID_CONFIG", "INVALID_REQUEST"]).toContain(res.body.error.code);
    }
    expect((await api("GET", `/v1/topics/${existing}`)).body.configs["retention.ms"]).toBe(5000);
    expect((await api("PATCH", "/v1/topics/nope-never-made", { configs: {} })).status).toBe(404);
  });
});
