import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { EAGER_INIT_REPLICAS_MAX } from "../../durable-objects/partition-init";
import { replicaStub, topicRegistry } from "../../durable-objects/stubs";
import { api, createTopic, eventually, fault, produce, readAll, uniqueTopic } from "./helpers";

/** Partitions of `topic` the registry has not initialised yet. */
async function pending(topic: string): Promise<number> {
  const registry: DurableObjectStub = topicRegistry(env);
  return runInDurableObject(registry, (_instance: unknown, state: DurableObjectState) =>
    Number(
      state.storage.sql
        .exec("SELECT count(*) AS n FROM partitions WHERE topic = ? AND ready = 0", topic)
        .one().n,
    ),
  );
}

/** Waits (bounded) for the registry's alarm to initialise every partition of `topic`. */
async function initialised(topic: string): Promise<void> {
  const left = await eventually(
    () => pending(topic),
    (n) => n === 0,
  );
  expect(left).toBe(0);
}

// Over EAGER_INIT_REPLICAS_MAX replicas: initialised after the create answers.
const PARTITIONS = 40;
const RF = 2;

describe("large topics (initialised after creation)", () => {
  it("answers the create at once; a partition is usable at once; the alarm initialises the rest in steps", async () => {
    expect(PARTITIONS * RF).toBeGreaterThan(EAGER_INIT_REPLICAS_MAX);
    const topic = await createTopic({ partitions: PARTITIONS, replicationFactor: RF });
    // The alarm takes a few partitions a step with a pause between steps: most are still pending.
    expect(await pending(topic)).toBeGreaterThan(PARTITIONS / 2);
    // First use initialises the partition on demand: produce, fetch.
    const res = await produce(topic, [{ partition: 37, value: "first" }], "all");
    expect(res.status).toBe(200);
    expect(res.body.results[0]).toMatchObject({ partition: 37, offset: 0 });
    expect((await readAll(topic, 37)).map((r) => r.value)).toEqual(["first"]);
    await initialised(topic);
    const described = (await api("GET", `/v1/topics/${topic}`)).body;
    expect(described.partitionInfo).toHaveLength(PARTITIONS);
    for (const p of described.partitionInfo) {
      expect(p.logEndOffset).toBe(p.partition === 37 ? 1 : 0);
      expect(p.isr).toEqual([0, 1]);
    }
    // The first record is still there, once, and a keyed produce reaches any partition.
    expect((await readAll(topic, 37)).map((r) => r.value)).toEqual(["first"]);
    const keyed = await produce(
      topic,
      Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: i })),
    );
    expect(keyed.status).toBe(200);
  });

  it("configs altered before a partition is initialised apply to it; delete and re-create start empty", async () => {
    const name = uniqueTopic("big");
    await createTopic({ name, partitions: PARTITIONS, replicationFactor: RF });
    const altered = await api("PATCH", `/v1/topics/${name}`, { configs: { "retention.ms": 123_456 } });
    expect(altered.status).toBe(200);
    expect((await produce(name, [{ partition: 5, value: "old" }])).status).toBe(200);
    const leader: DurableObjectStub = replicaStub(env, name, 5, 0);
    const configs = await runInDurableObject(leader, (_i: unknown, state: DurableObjectState) =>
      JSON.parse(String(state.storage.sql.exec("SELECT configs FROM partition_state").one().configs)),
    );
    expect(configs["retention.ms"]).toBe(123_456);
    expect((await api("DELETE", `/v1/topics/${name}`)).status).toBe(204);
    await createTopic({ name, partitions: PARTITIONS, replicationFactor: RF });
    expect(await readAll(name, 5)).toEqual([]);
    expect((await produce(name, [{ partition: 5, value: "new" }])).status).toBe(200);
    expect((await readAll(name, 5)).map((r) => r.value)).toEqual(["new"]);
    await initialised(name);
  });

  it("a replica that cannot be initialised makes the first use answer 503 LEADER_NOT_AVAILABLE (retriable), and a retry succeeds once it can", async () => {
    const topic = await createTopic({ partitions: PARTITIONS, replicationFactor: RF });
    const FAILING = 5;
    // Early in the alarm's order (it reaches it ~0.25 s after the create): set before that.
    await fault(topic, FAILING, 1, "fail");
    const refused = await produce(topic, [{ partition: FAILING, value: "x" }], "1");
    expect(refused.status).toBe(503);
    expect(refused.body.results[0].error).toMatchObject({ code: "LEADER_NOT_AVAILABLE", retriable: true });
    // The others are initialised meanwhile: a failing partition does not hold the alarm up.
    const others = await eventually(
      () => pending(topic),
      (n) => n === 1,
    );
    expect(others).toBe(1);
    await fault(topic, FAILING, 1, "none");
    await initialised(topic); // the alarm tries the failed one again
    const retried = await produce(topic, [{ partition: FAILING, value: "x" }], "1");
    expect(retried.status).toBe(200);
    expect((await readAll(topic, FAILING)).map((r) => r.value)).toEqual(["x"]);
  });

  it("a partition past the topic's count is still unknown (404), and a deleted topic's partition is not initialised", async () => {
    const topic = await createTopic({ partitions: PARTITIONS, replicationFactor: RF });
    const res = await produce(topic, [{ partition: PARTITIONS, value: "x" }]);
    expect(res.status).toBe(404);
    const fetched = await api("GET", `/v1/topics/${topic}/partitions/${PARTITIONS}/records?offset=0`);
    expect(fetched.status).toBe(404);
    expect((await api("DELETE", `/v1/topics/${topic}`)).status).toBe(204);
    expect(await pending(topic)).toBe(0); // its rows are gone: nothing left to initialise
    const registry = topicRegistry(env);
    expect(await registry.ensurePartition(topic, 3, "no-such-incarnation")).toBe(false);
  });
});
