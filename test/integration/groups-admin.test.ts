import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { consumerGroup } from "../../durable-objects/stubs";
import {
  api,
  commit,
  committedOffsets,
  createTopic,
  eventually,
  fill,
  heartbeat,
  join,
  poll,
  produce,
  restartObject,
  uniqueGroup,
} from "./helpers";

describe("administration", () => {
  it("offsets reset: only while Empty, to earliest / latest / timestamp / offset; delete: only while Empty", async () => {
    const topic = await createTopic({ partitions: 2 });
    for (let p = 0; p < 2; p++)
      await produce(
        topic,
        Array.from({ length: 5 }, (_, i) => ({ value: i, partition: p, timestamp: 1000 + i * 100 })),
      );
    const group = uniqueGroup();
    const m = await join(group, { topics: [topic] });
    const refused = await api("POST", `/v1/groups/${group}/offsets/reset`, { topic, to: "earliest" });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("NON_EMPTY_GROUP");
    expect((await api("DELETE", `/v1/groups/${group}`)).body.error.code).toBe("NON_EMPTY_GROUP");
    expect(await committedOffsets(group)).toEqual({});
    await api("DELETE", `/v1/groups/${group}/members/${m.memberId}`);
    expect((await api("GET", `/v1/groups/${group}`)).body.state).toBe("Empty");

    const reset = async (to: unknown) =>
      (await api("POST", `/v1/groups/${group}/offsets/reset`, { topic, to })).body;
    expect((await reset("latest")).offsets.map((o: any) => o.committedOffset)).toEqual([5, 5]);
    expect((await reset("earliest")).offsets.map((o: any) => o.committedOffset)).toEqual([0, 0]);
    expect((await reset({ timestamp: 1250 })).offsets.map((o: any) => o.committedOffset)).toEqual([3, 3]);
    expect((await reset({ offset: 4 })).offsets.map((o: any) => o.committedOffset)).toEqual([4, 4]);
    const beyond = await api("POST", `/v1/groups/${group}/offsets/reset`, { topic, to: { offset: 6 } });
    expect(beyond.status).toBe(416);
    expect(await committedOffsets(group)).toEqual({ [`${topic}/0`]: 4, [`${topic}/1`]: 4 });
    // A member joining now starts at the reset offsets.
    const n = await join(group, { topics: [topic], autoOffsetReset: "latest" });
    expect((await poll(group, n.memberId)).body.records.map((r: any) => r.offset)).toEqual([4, 4]);
    await api("DELETE", `/v1/groups/${group}/members/${n.memberId}`);

    expect((await api("DELETE", `/v1/groups/${group}`)).status).toBe(204);
    expect((await api("GET", `/v1/groups/${group}`)).status).toBe(404);
    expect((await api("GET", `/v1/groups/${group}/offsets`)).body.error.code).toBe("GROUP_ID_NOT_FOUND");
    expect((await api("DELETE", `/v1/groups/${group}`)).body.error.code).toBe("GROUP_ID_NOT_FOUND");
    expect((await api("GET", "/v1/groups")).body.groups.map((g: any) => g.group)).not.toContain(group);
  });

  it("deleting a topic removes its groups' offsets for it", async () => {
    const topic = await createTopic({ partitions: 1 });
    const other = await createTopic({ partitions: 1 });
    await produce(topic, [{ value: 1 }]);
    const group = uniqueGroup();
    const m = await join(group, { topics: [topic, other] });
    const hb = (await heartbeat(group, m.memberId)).body;
    expect(
      (
        await commit(group, m.memberId, hb.generation, [
          { topic, partition: 0, offset: 1 },
          { topic: other, partition: 0, offset: 0 },
        ])
      ).status,
    ).toBe(200);
    expect((await api("DELETE", `/v1/topics/${topic}`)).status).toBe(204);
    expect(await committedOffsets(group)).toEqual({ [`${other}/0`]: 0 });
    const after = await eventually(
      () => heartbeat(group, m.memberId),
      (r) => r.body.assignments.every((a: any) => a.topic === other),
    );
    expect(after.body.assignments).toEqual([{ topic: other, partition: 0 }]);
  });

  it("/metrics exports group lag and committed offsets", async () => {
    const topic = await createTopic({ partitions: 1 });
    await fill(topic, 1, 4);
    const group = uniqueGroup();
    const m = await join(group, { topics: [topic], autoOffsetReset: "earliest" });
    await commit(group, m.memberId, m.generation, [{ topic, partition: 0, offset: 1 }]);
    const text = (await api("GET", "/metrics")).text;
    const labels = `{group="${group}",topic="${topic}",partition="0"}`;
    expect(text).toContain(`edgelog_consumergroup_lag${labels} 3\n`);
    expect(text).toContain(`edgelog_consumergroup_committed_offset${labels} 1\n`);
    expect(text).toContain(`edgelog_consumergroup_members{group="${group}",state="Stable"} 1\n`);
  });
});

describe("positions after a restart of the group object (found by the chaos checker)", () => {
  it("a member resumes at its committed offset when the last position checkpoint is older: the committed offset never moves back", async () => {
    const topic = await createTopic();
    await produce(
      topic,
      Array.from({ length: 20 }, (_, i) => ({ value: `r${i}` })),
    );
    const group = uniqueGroup();
    const m = await join(group, { topics: [topic], autoOffsetReset: "earliest", sessionTimeoutMs: 300_000 });
    const first = await poll(group, m.memberId, "maxRecords=10");
    expect(first.body.records.map((r: any) => r.offset)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    // Position 10 is checkpointed (every 100 ms) …
    await new Promise((resolve) => setTimeout(resolve, 300));
    // … then 10..19 are read and committed, and the object restarts before position 20 is checkpointed.
    const second = await poll(group, m.memberId, "maxRecords=10");
    expect(second.body.records.map((r: any) => r.offset)).toEqual(
      Array.from({ length: 10 }, (_, i) => 10 + i),
    );
    expect(
      (await commit(group, m.memberId, second.body.generation, [{ topic, partition: 0, offset: 20 }])).status,
    ).toBe(200);
    await restartObject(() => consumerGroup(env, group) as unknown as DurableObjectStub);
    await produce(topic, [{ value: "new" }]);
    const after = await poll(group, m.memberId, "maxRecords=10");
    expect(after.status).toBe(200);
    // Not 10..19 again (the stale checkpoint): from the committed offset 20.
    expect(after.body.records.map((r: any) => r.offset)).toEqual([20]);
    expect((await committedOffsets(group))[`${topic}/0`]).toBe(20);
  });
});
