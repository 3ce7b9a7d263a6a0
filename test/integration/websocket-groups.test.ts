import { describe, expect, it } from "vitest";
import { createTopic, openSocket, produce, values } from "./helpers";

describe("group subscriptions over WebSocket", () => {
  const subscribeGroup = async (group: string, topic: string, extra: Record<string, unknown> = {}) => {
    const s = await openSocket();
    s.send({ op: "subscribe", id: "g", group, topics: [topic], autoOffsetReset: "earliest", ...extra });
    const assigned = await s.next((f) => f.op === "assigned");
    return { s, assigned };
  };
  const latestAssignment = (s: Awaited<ReturnType<typeof openSocket>>, generation: number, label: string) =>
    s.next(
      (f) => f.op === "assigned" && f.generation === generation,
      10_000,
      `${label}: assigned generation ${generation}`,
    );

  it("3 sockets share a 6-partition topic; a socket closing rebalances with at-least-once delivery", async () => {
    const topic = await createTopic({ partitions: 6 });
    const group = `ws-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
    const a = await subscribeGroup(group, topic);
    expect(a.assigned).toMatchObject({ id: "g", generation: 1 });
    expect(a.assigned.assignments).toHaveLength(6);
    const b = await subscribeGroup(group, topic);
    const c = await subscribeGroup(group, topic);
    expect(c.assigned.generation).toBe(3);
    // Every socket is told of generation 3; together they own each partition once.
    const views = [await latestAssignment(a.s, 3, "a"), await latestAssignment(b.s, 3, "b"), c.assigned];
    const owned = views.flatMap((v) => v.assignments.map((tp: any) => `${tp.topic}/${tp.partition}`)).sort();
    expect(owned).toEqual(Array.from({ length: 6 }, (_, p) => `${topic}/${p}`).sort());

    for (let p = 0; p < 6; p++)
      await produce(
        topic,
        values(3, `p${p}`).map((v) => ({ ...v, partition: p })),
      );
    const received = new Map<string, string[]>();
    const collect = async (name: string, s: typeof a.s, expected: number) => {
      const got: string[] = [];
      while (got.length < expected)
        got.push(...(await s.next((f) => f.op === "records")).records.map((r: any) => r.value));
      received.set(name, got);
    };
    await Promise.all([
      collect("a", a.s, views[0].assignments.length * 3),
      collect("b", b.s, views[1].assignments.length * 3),
      collect("c", c.s, views[2].assignments.length * 3),
    ]);
    const all = [...received.values()].flat().sort();
    expect(all).toEqual(
      Array.from({ length: 6 }, (_, p) => values(3, `p${p}`).map((v) => v.value))
        .flat()
        .sort(),
    );

    // c commits what it got, then closes: a and b take its partitions over from the committed offsets.
    const cParts: { topic: string; partition: number }[] = views[2].assignments;
    c.s.send({ op: "commit", id: 5, offsets: cParts.map((tp) => ({ ...tp, offset: 3 })) });
    expect(await c.s.next((f) => f.id === 5)).toEqual({ op: "committed", id: 5 });
    c.s.ws.close(1000, "bye");
    const after = [await latestAssignment(a.s, 4, "a"), await latestAssignment(b.s, 4, "b")];
    expect(after.flatMap((v) => v.assignments).length).toBe(6);
    for (const tp of cParts)
      await produce(topic, [{ value: `late-${tp.partition}`, partition: tp.partition }]);
    const wanted = cParts.map((tp) => `late-${tp.partition}`).sort();
    // Read both sockets' frames as they arrive (bounded), without racing two waiters for one frame.
    const pushedValues = () =>
      [...a.s.frames, ...b.s.frames]
        .filter((f) => f.op === "records")
        .flatMap((f) => f.records.map((r: any) => r.value));
    const deadline = Date.now() + 10_000;
    while (!wanted.every((w) => pushedValues().includes(w)) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    const late = pushedValues();
    // Committed records of c's partitions are not delivered again; the new ones are.
    expect(late.filter((v) => v.startsWith("late-")).sort()).toEqual(wanted);
    for (const tp of cParts) expect(late).not.toContain(`p${tp.partition}-0`);
    a.s.ws.close(1000);
    b.s.ws.close(1000);
  });

  it("credits bound group pushes; a commit for a partition not owned is refused; reconnecting resumes from commits", async () => {
    const topic = await createTopic({ partitions: 2 });
    const group = `ws-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
    for (let p = 0; p < 2; p++)
      await produce(
        topic,
        values(5, `p${p}`).map((v) => ({ ...v, partition: p })),
      );
    const a = await subscribeGroup(group, topic, { credits: 4 });
    const first = await a.s.next((f) => f.op === "records");
    expect(first.records.length).toBeLessThanOrEqual(4);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const pushed = [first, ...a.s.frames.filter((f) => f.op === "records")].flatMap((f) => f.records);
    expect(pushed.length).toBe(4);
    a.s.send({ op: "commit", id: 1, offsets: [{ topic, partition: 9, offset: 0 }] });
    expect((await a.s.next((f) => f.id === 1)).error.code).toBe("PARTITION_NOT_ASSIGNED");
    const upTo = new Map<number, number>();
    for (const r of pushed) upTo.set(r.partition, r.offset + 1);
    a.s.send({
      op: "commit",
      id: 2,
      offsets: [...upTo].map(([partition, offset]) => ({ topic, partition, offset })),
    });
    expect(await a.s.next((f) => f.id === 2)).toEqual({ op: "committed", id: 2 });
    a.s.ws.close(1000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // A new socket in the same group starts at the committed offsets: exactly the 6 records not yet pushed.
    const again = await subscribeGroup(group, topic, { credits: 100 });
    const rest: any[] = [];
    while (rest.length < 6) rest.push(...(await again.s.next((f) => f.op === "records")).records);
    const seen = new Set(pushed.map((r: any) => r.value));
    for (const r of rest) expect(seen.has(r.value)).toBe(false);
    again.s.ws.close(1000);
  });
});
