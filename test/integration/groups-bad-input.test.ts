import { describe, expect, it } from "vitest";
import { api, commit, createTopic, heartbeat, join, produce, uniqueGroup } from "./helpers";

/** Members, generation and committed offsets of a group: what a refused request must not change. */
async function snapshot(group: string) {
  const described = await api("GET", `/v1/groups/${group}`);
  const offsets = await api("GET", `/v1/groups/${group}/offsets`);
  return {
    generation: described.body.generation,
    members: described.body.members.map((m: any) => m.memberId).sort(),
    offsets: offsets.body.offsets.map((o: any) => [o.topic, o.partition, o.committedOffset]),
  };
}

describe("consumer-group bad input gets its 4xx and changes nothing", async () => {
  const topic = await createTopic({ partitions: 2 });
  await produce(topic, [
    { value: 1, partition: 0 },
    { value: 2, partition: 1 },
  ]);
  const group = uniqueGroup();
  /** Groups that only refused requests name: none of them may come to exist. */
  const ghosts: string[] = [];
  const ghost = () => {
    ghosts.push(uniqueGroup());
    return ghosts[ghosts.length - 1]!;
  };
  const m = await join(group, { topics: [topic], autoOffsetReset: "earliest" });
  const generation = (await heartbeat(group, m.memberId)).body.generation;
  expect((await commit(group, m.memberId, generation, [{ topic, partition: 0, offset: 1 }])).status).toBe(
    200,
  );
  const members = `/v1/groups/${group}/members`;
  const offsets = `/v1/groups/${group}/offsets`;
  const memberPath = `${members}/${m.memberId}`;
  const commitBody = (o: unknown, extra: Record<string, unknown> = {}) => ({
    memberId: m.memberId,
    generation,
    offsets: o,
    ...extra,
  });

  type Case = [name: string, method: string, path: string, body: unknown, status: number, code: string];
  const cases: Case[] = [
    // join
    ["empty topics list", "POST", members, { topics: [] }, 400, "INVALID_REQUEST"],
    ["topics not an array", "POST", members, { topics: topic }, 400, "INVALID_REQUEST"],
    ["topic named twice", "POST", members, { topics: [topic, topic] }, 400, "INVALID_REQUEST"],
    ["invalid topic name", "POST", members, { topics: ["a/b"] }, 400, "INVALID_TOPIC_EXCEPTION"],
    ["unknown topic", "POST", members, { topics: ["no-such-topic-here"] }, 404, "UNKNOWN_TOPIC_OR_PARTITION"],
    [
      "unknown assignor",
      "POST",
      members,
      { topics: [topic], assignor: "cooperative" },
      400,
      "INVALID_REQUEST",
    ],
    [
      "other assignor than the group's",
      "POST",
      members,
      { topics: [topic], assignor: "sticky" },
      400,
      "INVALID_REQUEST",
    ],
    [
      "sessionTimeoutMs too small",
      "POST",
      members,
      { topics: [topic], sessionTimeoutMs: 999 },
      400,
      "INVALID_REQUEST",
    ],
    [
      "sessionTimeoutMs too large",
      "POST",
      members,
      { topics: [topic], sessionTimeoutMs: 300_001 },
      400,
      "INVALID_REQUEST",
    ],
    [
      "sessionTimeoutMs a string",
      "POST",
      members,
      { topics: [topic], sessionTimeoutMs: "30000" },
      400,
      "INVALID_REQUEST",
    ],
    [
      "bad autoOffsetReset",
      "POST",
      members,
      { topics: [topic], autoOffsetReset: "none" },
      400,
      "INVALID_REQUEST",
    ],
    ["bad instanceId", "POST", members, { topics: [topic], instanceId: "has space" }, 400, "INVALID_REQUEST"],
    [
      "unknown join field",
      "POST",
      members,
      { topics: [topic], rebalanceTimeoutMs: 1 },
      400,
      "INVALID_REQUEST",
    ],
    ["malformed JSON", "POST", members, "{", 400, "INVALID_REQUEST"],
    [
      "invalid group id",
      "POST",
      "/v1/groups/bad%20group/members",
      { topics: [topic] },
      400,
      "INVALID_REQUEST",
    ],
    // heartbeat, poll, leave
    [
      "heartbeat of unknown member",
      "POST",
      `${members}/member-nobody/heartbeat`,
      undefined,
      404,
      "UNKNOWN_MEMBER_ID",
    ],
    [
      "heartbeat with a body field",
      "POST",
      `${memberPath}/heartbeat`,
      { generation: 1 },
      400,
      "INVALID_REQUEST",
    ],
    [
      "heartbeat of invalid member id",
      "POST",
      `${members}/bad%20id/heartbeat`,
      undefined,
      400,
      "INVALID_REQUEST",
    ],
    [
      "poll of unknown member",
      "GET",
      `${members}/member-nobody/records`,
      undefined,
      404,
      "UNKNOWN_MEMBER_ID",
    ],
    ["poll maxRecords 0", "GET", `${memberPath}/records?maxRecords=0`, undefined, 400, "INVALID_REQUEST"],
    [
      "poll maxRecords too large",
      "GET",
      `${memberPath}/records?maxRecords=10001`,
      undefined,
      400,
      "INVALID_REQUEST",
    ],
    ["poll waitMs too long", "GET", `${memberPath}/records?waitMs=30001`, undefined, 400, "INVALID_REQUEST"],
    ["poll maxBytes negative", "GET", `${memberPath}/records?maxBytes=-1`, undefined, 400, "INVALID_REQUEST"],
    ["poll unknown parameter", "GET", `${memberPath}/records?offset=0`, undefined, 400, "INVALID_REQUEST"],
    ["leave of unknown member", "DELETE", `${members}/member-nobody`, undefined, 404, "UNKNOWN_MEMBER_ID"],
    [
      "poll of unknown group",
      "GET",
      `/v1/groups/${ghost()}/members/${m.memberId}/records`,
      undefined,
      404,
      "UNKNOWN_MEMBER_ID",
    ],
    // commit
    [
      "generation a string",
      "POST",
      offsets,
      { memberId: m.memberId, generation: "1", offsets: [{ topic, partition: 0, offset: 1 }] },
      400,
      "INVALID_REQUEST",
    ],
    [
      "generation negative",
      "POST",
      offsets,
      { memberId: m.memberId, generation: -1, offsets: [{ topic, partition: 0, offset: 1 }] },
      400,
      "INVALID_REQUEST",
    ],
    [
      "generation missing",
      "POST",
      offsets,
      { memberId: m.memberId, offsets: [{ topic, partition: 0, offset: 1 }] },
      400,
      "INVALID_REQUEST",
    ],
    [
      "memberId missing",
      "POST",
      offsets,
      { generation, offsets: [{ topic, partition: 0, offset: 1 }] },
      400,
      "INVALID_REQUEST",
    ],
    [
      "negative offset",
      "POST",
      offsets,
      commitBody([{ topic, partition: 0, offset: -1 }]),
      400,
      "INVALID_REQUEST",
    ],
    [
      "fractional offset",
      "POST",
      offsets,
      commitBody([{ topic, partition: 0, offset: 0.5 }]),
      400,
      "INVALID_REQUEST",
    ],
    [
      "huge offset",
      "POST",
      offsets,
      commitBody([{ topic, partition: 0, offset: 2 ** 60 }]),
      400,
      "INVALID_REQUEST",
    ],
    [
      "offset beyond the high watermark",
      "POST",
      offsets,
      commitBody([{ topic, partition: 0, offset: 2 }]),
      416,
      "OFFSET_OUT_OF_RANGE",
    ],
    ["empty offsets", "POST", offsets, commitBody([]), 400, "INVALID_REQUEST"],
    [
      "partition twice",
      "POST",
      offsets,
      commitBody([
        { topic, partition: 0, offset: 0 },
        { topic, partition: 0, offset: 1 },
      ]),
      400,
      "INVALID_REQUEST",
    ],
    [
      "unknown offset field",
      "POST",
      offsets,
      commitBody([{ topic, partition: 0, offset: 0, metadata: "x" }]),
      400,
      "INVALID_REQUEST",
    ],
    [
      "partition of another topic",
      "POST",
      offsets,
      commitBody([{ topic: "other-topic", partition: 0, offset: 0 }]),
      409,
      "PARTITION_NOT_ASSIGNED",
    ],
    [
      "partition not in the topic",
      "POST",
      offsets,
      commitBody([{ topic, partition: 7, offset: 0 }]),
      409,
      "PARTITION_NOT_ASSIGNED",
    ],
    [
      "stale generation",
      "POST",
      offsets,
      commitBody([{ topic, partition: 0, offset: 0 }], { generation: generation - 1 }),
      409,
      "ILLEGAL_GENERATION",
    ],
    [
      "future generation",
      "POST",
      offsets,
      commitBody([{ topic, partition: 0, offset: 0 }], { generation: generation + 1 }),
      409,
      "ILLEGAL_GENERATION",
    ],
    [
      "commit by unknown member",
      "POST",
      offsets,
      commitBody([{ topic, partition: 0, offset: 0 }], { memberId: "member-nobody" }),
      404,
      "UNKNOWN_MEMBER_ID",
    ],
    // reset, delete, describe
    ["reset while members", "POST", `${offsets}/reset`, { topic, to: "earliest" }, 409, "NON_EMPTY_GROUP"],
    ["reset to nonsense", "POST", `${offsets}/reset`, { topic, to: "yesterday" }, 400, "INVALID_REQUEST"],
    [
      "reset to two targets",
      "POST",
      `${offsets}/reset`,
      { topic, to: { offset: 1, timestamp: 1 } },
      400,
      "INVALID_REQUEST",
    ],
    [
      "reset negative offset",
      "POST",
      `${offsets}/reset`,
      { topic, to: { offset: -1 } },
      400,
      "INVALID_REQUEST",
    ],
    ["reset without topic", "POST", `${offsets}/reset`, { to: "earliest" }, 400, "INVALID_REQUEST"],
    ["delete non-empty group", "DELETE", `/v1/groups/${group}`, undefined, 409, "NON_EMPTY_GROUP"],
    ["describe unknown group", "GET", `/v1/groups/${ghost()}`, undefined, 404, "GROUP_ID_NOT_FOUND"],
    [
      "offsets of unknown group",
      "GET",
      `/v1/groups/${ghost()}/offsets`,
      undefined,
      404,
      "GROUP_ID_NOT_FOUND",
    ],
    ["delete unknown group", "DELETE", `/v1/groups/${ghost()}`, undefined, 404, "GROUP_ID_NOT_FOUND"],
    [
      "reset of unknown topic",
      "POST",
      `/v1/groups/${ghost()}/offsets/reset`,
      { topic: "no-such-topic-here", to: "earliest" },
      404,
      "UNKNOWN_TOPIC_OR_PARTITION",
    ],
  ];

  it.each(cases)("%s (%s %s)", async (_name, method, path, body, status, code) => {
    const before = await snapshot(group);
    const res = await api(method, path, body);
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.message.length).toBeGreaterThan(10);
    expect(await snapshot(group)).toEqual(before);
  });

  it("refused requests created no groups", async () => {
    const names = (await api("GET", "/v1/groups")).body.groups.map((g: any) => g.group);
    expect(names).toContain(group);
    expect(ghosts.length).toBe(5);
    for (const name of ghosts) {
      expect(names).not.toContain(name);
      expect((await api("GET", `/v1/groups/${name}`)).status).toBe(404);
    }
  });
});
