import { afterAll, describe, expect, it } from "vitest";
import { LocalServer, tempStateDir } from "./server";

describe("consumer groups on a real server", () => {
  const server = new LocalServer(tempStateDir());
  afterAll(() => server.stop("SIGKILL"));

  it("commits and members survive a restart; a member resumes from the committed offsets", async () => {
    await server.start();
    const topic = "e2e-group-topic";
    expect(
      (await server.request("POST", "/v1/topics", { name: topic, partitions: 2, replicationFactor: 3 }))
        .status,
    ).toBe(201);
    for (let p = 0; p < 2; p++) {
      const records = Array.from({ length: 10 }, (_, i) => ({ value: `${p}-${i}`, partition: p }));
      expect((await server.request("POST", `/v1/topics/${topic}/records?acks=all`, { records })).status).toBe(
        200,
      );
    }
    const joined = await server.request("POST", "/v1/groups/e2e-group/members", {
      topics: [topic],
      autoOffsetReset: "earliest",
      sessionTimeoutMs: 60_000,
    });
    expect(joined.status).toBe(201);
    const { memberId, generation } = joined.body;
    const polled = await server.request(
      "GET",
      `/v1/groups/e2e-group/members/${memberId}/records?maxRecords=8`,
    );
    expect(polled.body.records).toHaveLength(8);
    const commit = await server.request("POST", "/v1/groups/e2e-group/offsets", {
      memberId,
      generation,
      offsets: [
        { topic, partition: 0, offset: 4 },
        { topic, partition: 1, offset: 4 },
      ],
    });
    expect(commit.status).toBe(200);

    await server.stop("SIGKILL");
    await server.start();
    const offsets = await server.request("GET", "/v1/groups/e2e-group/offsets");
    expect(offsets.body.offsets).toEqual([
      { topic, partition: 0, committedOffset: 4, highWatermark: 10, lag: 6 },
      { topic, partition: 1, committedOffset: 4, highWatermark: 10, lag: 6 },
    ]);
    // The member is still known (its session restarted with the object) and keeps its assignment.
    const hb = await server.request("POST", `/v1/groups/e2e-group/members/${memberId}/heartbeat`);
    expect(hb.status).toBe(200);
    expect(hb.body.assignments).toHaveLength(2);
    // It leaves; a new member starts from the committed offsets, not from its positions.
    expect((await server.request("DELETE", `/v1/groups/e2e-group/members/${memberId}`)).status).toBe(204);
    const next = await server.request("POST", "/v1/groups/e2e-group/members", { topics: [topic] });
    const records = (
      await server.request("GET", `/v1/groups/e2e-group/members/${next.body.memberId}/records`)
    ).body.records;
    for (let p = 0; p < 2; p++)
      expect(records.filter((r: any) => r.partition === p).map((r: any) => r.offset)).toEqual([
        4, 5, 6, 7, 8, 9,
      ]);
    const listed = await server.request("GET", "/v1/groups");
    expect(listed.body.groups).toContainEqual({
      group: "e2e-group",
      state: "Stable",
      generation: 3,
      members: 1,
    });
  });
});
