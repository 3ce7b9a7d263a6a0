import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Result } from "../../core/errors";
import { encodeAppendChunks } from "../../core/record-codec";
import type { AppendInfo, AppendRequest } from "../../durable-objects/contract";
import type { GroupCommit } from "../../durable-objects/group-commit";
import type { Partition } from "../../durable-objects/partition";
import { replicaStub } from "../../durable-objects/stubs";
import {
  api,
  createTopic,
  eventually,
  fetchRecords,
  produce,
  readAll,
  replicaViews,
  restartObject,
} from "./helpers";

/** What a partition object's GroupCommit counted (a test reaching into the object). */
async function commitStats(topic: string, replica: number): Promise<{ commits: number; writes: number }> {
  const stub: DurableObjectStub = replicaStub(env, topic, 0, replica);
  return runInDurableObject(stub, (instance: unknown) => ({
    ...(instance as { commits: GroupCommit }).commits.stats,
  }));
}

describe("group commit", () => {
  it("appends arriving during a commit share the next one; every answer names its own offsets; followers get the group in one call", async () => {
    const topic = await createTopic({ replicationFactor: 3, configs: { "min.insync.replicas": 2 } });
    const meta = (await api("GET", `/v1/topics/${topic}`)).body;
    const leaderEpoch = meta.partitionInfo[0].leaderEpoch;
    const leader: DurableObjectStub = replicaStub(env, topic, 0, meta.partitionInfo[0].leader);
    // Ten appends submitted in one turn inside the leader: the first commits alone, the other nine together.
    const sizes = [1, 3, 1, 2, 5, 1, 1, 4, 2, 1];
    const followers = [0, 1, 2].filter((r) => r !== meta.partitionInfo[0].leader);
    const before = await commitStats(topic, meta.partitionInfo[0].leader);
    const followersBefore = await Promise.all(followers.map((r) => commitStats(topic, r)));
    const answers: Result<AppendInfo>[] = await runInDurableObject(
      leader,
      async (instance: unknown, state: DurableObjectState) => {
        const topicId = String(state.storage.sql.exec("SELECT topic_id FROM partition_state").one().topic_id);
        return Promise.all(
          sizes.map((n, i) => {
            const records = Array.from({ length: n }, (_, j) => ({
              key: null,
              valueJson: JSON.stringify(`r${i}.${j}`),
              valueBase64: null,
              headersJson: "[]",
              sizeBytes: 8,
            }));
            const request: AppendRequest = {
              topicId,
              leaderEpoch,
              chunks: encodeAppendChunks(
                records,
                records.map(() => 1_000 + i),
              ),
              maxTimestamp: 1_000 + i,
              acks: i % 2 === 0 ? "all" : "1",
            };
            return (instance as Partition).append(request);
          }),
        );
      },
    );
    expect(answers.every((a) => a.ok)).toBe(true);
    // Offsets in submission order, contiguous, each request its own.
    let expected = 0;
    sizes.forEach((n, i) => {
      expect(answers[i]!.ok && answers[i]!.value.baseOffset).toBe(expected);
      expected += n;
    });
    const after = await commitStats(topic, meta.partitionInfo[0].leader);
    expect(after.writes - before.writes).toBe(sizes.length);
    expect(after.commits - before.commits).toBe(2);
    // Every replica holds exactly the records, in order, and nothing else.
    const values = (await readAll(topic, 0)).map((r) => r.value);
    expect(values).toEqual(sizes.flatMap((n, i) => Array.from({ length: n }, (_, j) => `r${i}.${j}`)));
    const views = await eventually(
      () => replicaViews(topic, 0),
      (vs) => vs.every((v) => v?.logEndOffset === expected),
    );
    for (const v of views) expect(v.logEndOffset).toBe(expected);
    // Each group went to each follower as one call: two calls, where batch by batch (4 in
    // flight, the rest caught up) would take six.
    for (const [i, replica] of followers.entries()) {
      const stats = await commitStats(topic, replica);
      expect(stats.writes - followersBefore[i]!.writes).toBeLessThanOrEqual(3);
    }
  });

  it("concurrent produce requests through the gateway keep every record once, in one order, on every replica", async () => {
    const topic = await createTopic({ replicationFactor: 3, configs: { "min.insync.replicas": 2 } });
    const requests = Array.from({ length: 40 }, (_, i) =>
      produce(
        topic,
        Array.from({ length: 1 + (i % 3) }, (_, j) => ({ partition: 0, value: `c${i}.${j}` })),
        i % 2 === 0 ? "all" : "1",
      ),
    );
    const answers = await Promise.all(requests);
    const offsets = new Map<number, string>();
    answers.forEach((a, i) => {
      expect(a.status).toBe(200);
      a.body.results.forEach((o: { offset: number }, j: number) => {
        expect(offsets.has(o.offset)).toBe(false);
        offsets.set(o.offset, `c${i}.${j}`);
      });
    });
    const records = await readAll(topic, 0);
    expect(records.length).toBe(offsets.size);
    for (const r of records) expect(r.value).toBe(offsets.get(r.offset));
    const views = await eventually(
      () => replicaViews(topic, 0),
      (vs) => vs.every((v) => v?.logEndOffset === offsets.size),
    );
    for (const v of views) expect(v.logEndOffset).toBe(offsets.size);
  });

  it("a sole replica never writes its high watermark on its own and restarts at its log end; with followers the next append writes it, and a quiet partition within 1 s", async () => {
    const stored = (topic: string, replica: number) =>
      runInDurableObject(replicaStub(env, topic, 0, replica) as DurableObjectStub, (_i, state) =>
        Number(state.storage.sql.exec("SELECT high_watermark FROM partition_state").one().high_watermark),
      );
    const single = await createTopic();
    for (const value of ["a", "b", "c"]) expect((await produce(single, [{ value }])).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    expect(await stored(single, 0)).toBe(0); // neither an append nor a timer wrote it
    await restartObject(() => replicaStub(env, single, 0, 0) as DurableObjectStub);
    const read = await fetchRecords(single, 0, "offset=0");
    expect(read.body.records.map((r: any) => r.value)).toEqual(["a", "b", "c"]);
    expect(read.body.highWatermark).toBe(3);

    const replicated = await createTopic({ replicationFactor: 3, configs: { "min.insync.replicas": 2 } });
    const leader = (await api("GET", `/v1/topics/${replicated}`)).body.partitionInfo[0].leader;
    expect((await produce(replicated, [{ value: "x" }], "all")).status).toBe(200);
    // The next append's transaction writes the high watermark the first reached (the timer waits 1 s).
    expect((await produce(replicated, [{ value: "y" }], "all")).status).toBe(200);
    expect(await stored(replicated, leader)).toBeGreaterThanOrEqual(1);
    expect(
      await eventually(
        () => stored(replicated, leader),
        (hw) => hw === 2,
        3_000,
      ),
    ).toBe(2);
  });
});
