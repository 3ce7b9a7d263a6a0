import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { alertManager } from "../../durable-objects/stubs";
import {
  api,
  commit,
  createTopic,
  describePartition,
  eventually,
  fault,
  join,
  produce,
  uniqueGroup,
  uniqueTopic,
} from "./helpers";

/** API.md "Alerts": rules, their states as the alarm evaluates them, and webhook deliveries. */

/** A port nothing listens on: every delivery fails, so its tries and back-off show. */
const DEAD_WEBHOOK = "http://127.0.0.1:9/hook";

/**
 * One whole evaluation from now on (the alarm also runs by itself every second:
 * while it runs, none is scheduled to run now, so this waits for the next).
 */
async function evaluate(): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (
    !(await runDurableObjectAlarm(alertManager(env) as unknown as DurableObjectStub)) &&
    Date.now() < deadline
  )
    await new Promise((resolve) => setTimeout(resolve, 20));
}

async function alert(name: string) {
  const res = await api("GET", `/v1/alerts/${name}`);
  expect(res.status).toBe(200);
  return res.body;
}

async function laggingGroup(records: unknown[], committed: number) {
  const topic = await createTopic();
  expect((await produce(topic, records)).status).toBe(200);
  const group = uniqueGroup();
  const member = await join(group, { topics: [topic] });
  const offsets = [{ topic, partition: 0, offset: committed }];
  expect((await commit(group, member.memberId, member.generation, offsets)).status).toBe(200);
  return { topic, group, member };
}

describe("alerts", () => {
  it("a lag rule fires, its delivery is retried with back-off, and it resolves after the group commits — deliveries in order", async () => {
    const { topic, group, member } = await laggingGroup(
      [1, 2, 3, 4, 5].map((value) => ({ value })),
      1,
    );
    const name = uniqueTopic("lag");
    const rule = {
      kind: "consumerLag",
      group,
      topic,
      maxLag: 2,
      forMs: 0,
      webhook: { url: DEAD_WEBHOOK, secret: "s3cret" },
    };
    const put = await api("PUT", `/v1/alerts/${name}`, rule);
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      name,
      kind: "consumerLag",
      group,
      topic,
      maxLag: 2,
      state: "inactive",
      webhook: { url: DEAD_WEBHOOK, signed: true },
    });
    expect(put.text).not.toContain("s3cret");

    await evaluate();
    const firing = await alert(name);
    expect(firing).toMatchObject({ state: "firing", value: 4 });
    expect(firing.firingSince).toEqual(expect.any(String));
    expect(firing.deliveries).toHaveLength(1);
    expect(firing.deliveries[0]).toMatchObject({ state: "firing", outcome: "pending", tries: 1 });
    expect(firing.deliveries[0].lastError).toEqual(expect.any(String));
    const retryAt = Date.parse(firing.deliveries[0].nextAttemptAt);
    expect(retryAt - Date.parse(firing.deliveries[0].lastAttemptAt)).toBeLessThanOrEqual(50);

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, retryAt - Date.now()) + 20));
    await evaluate();
    expect((await alert(name)).deliveries[0].tries).toBeGreaterThanOrEqual(2);

    const caughtUp = [{ topic, partition: 0, offset: 5 }];
    expect((await commit(group, member.memberId, member.generation, caughtUp)).status).toBe(200);
    await evaluate();
    const resolved = await alert(name);
    expect(resolved).toMatchObject({ state: "inactive", value: 0 });
    // Newest first: the resolved notification waits behind the firing one, which is still being retried.
    expect(resolved.deliveries.map((d: any) => d.state)).toEqual(["resolved", "firing"]);
    expect(resolved.deliveries[0]).toMatchObject({ outcome: "pending", tries: 0 });
    expect((await api("DELETE", `/v1/alerts/${name}`)).status).toBe(204);
    expect((await api("GET", `/v1/alerts/${name}`)).status).toBe(404);
  });

  it("holds a rule pending until its condition held forMs, and measures time lag from the oldest uncommitted record", async () => {
    const old = Date.now() - 10 * 60_000;
    const { group } = await laggingGroup([{ value: "old", timestamp: old }, { value: "new" }], 0);
    const pending = uniqueTopic("pending");
    const slow = uniqueTopic("slow");
    const webhook = { url: DEAD_WEBHOOK };
    expect(
      (
        await api("PUT", `/v1/alerts/${pending}`, {
          kind: "consumerLag",
          group,
          maxLag: 0,
          forMs: 3_600_000,
          webhook,
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await api("PUT", `/v1/alerts/${slow}`, {
          kind: "consumerLag",
          group,
          maxLagMs: 60_000,
          forMs: 0,
          webhook,
        })
      ).status,
    ).toBe(200);
    await evaluate();
    const held = await alert(pending);
    expect(held).toMatchObject({ state: "pending", value: 2, deliveries: [] });
    expect(held.activeSince).toEqual(expect.any(String));
    const late = await alert(slow);
    expect(late.state).toBe("firing");
    expect(late.value).toBeGreaterThanOrEqual(10 * 60_000);
    expect(late.value).toBeLessThan(11 * 60_000);
    // Listed together, names sorted, no secret anywhere.
    const listed = (await api("GET", "/v1/alerts")).body.alerts.map((a: any) => a.name);
    expect(listed).toEqual(expect.arrayContaining([pending, slow]));
    expect(listed).toEqual([...listed].sort());
  });

  it("an underReplicated rule fires while a replica is out of the ISR and resolves when it is back", async () => {
    const topic = await createTopic({ replicationFactor: 3, configs: { "min.insync.replicas": 2 } });
    const name = uniqueTopic("isr");
    expect(
      (
        await api("PUT", `/v1/alerts/${name}`, {
          kind: "underReplicated",
          topic,
          forMs: 0,
          webhook: { url: DEAD_WEBHOOK },
        })
      ).status,
    ).toBe(200);
    await evaluate();
    expect(await alert(name)).toMatchObject({ state: "inactive", value: 0 });
    await fault(topic, 0, 2, "fail");
    for (let i = 0; i < 3; i++) expect((await produce(topic, [{ value: i }], "all")).status).toBe(200);
    expect((await describePartition(topic)).isr).toEqual([0, 1]);
    await evaluate();
    expect(await alert(name)).toMatchObject({ state: "firing", value: 1 });
    await fault(topic, 0, 2, "none");
    await eventually(
      () => describePartition(topic),
      (p) => p.isr.length === 3,
    );
    await evaluate();
    const healed = await alert(name);
    expect(healed.state).toBe("inactive");
    expect(healed.deliveries.map((d: any) => d.state)).toEqual(["resolved", "firing"]);
  });

  it("refuses malformed, wrong-typed and out-of-range rules with a 400, creating nothing", async () => {
    const webhook = { url: "https://example.com/hook" };
    const lag = { kind: "consumerLag", group: "g", maxLag: 1, webhook };
    const cases: [string, unknown, string][] = [
      ["a", "not json", "JSON"],
      ["a", [], "JSON object"],
      ["a", { ...lag, kind: "diskFull" }, "body.kind"],
      ["a", { ...lag, extra: 1 }, "unknown field 'extra'"],
      ["a", { kind: "consumerLag", maxLag: 1, webhook }, "body.group"],
      ["a", { ...lag, group: "bad group" }, "illegal character"],
      ["a", { ...lag, maxLag: undefined }, "maxLag"],
      ["a", { ...lag, maxLag: -1 }, "body.maxLag"],
      ["a", { ...lag, maxLagMs: "1s" }, "body.maxLagMs"],
      ["a", { ...lag, forMs: 86_400_001 }, "body.forMs"],
      ["a", { ...lag, topic: "" }, "body.topic"],
      ["a", { ...lag, webhook: undefined }, "body.webhook"],
      ["a", { ...lag, webhook: { url: "ftp://example.com/x" } }, "http or https"],
      ["a", { ...lag, webhook: { url: "/relative" } }, "absolute URL"],
      ["a", { ...lag, webhook: { url: "https://user:pw@example.com/" } }, "credentials"],
      ["a", { ...lag, webhook: { url: `https://example.com/${"x".repeat(2_100)}` } }, "2048"],
      ["a", { ...lag, webhook: { ...webhook, secret: "" } }, "secret"],
      ["a", { ...lag, webhook: { ...webhook, secret: "s".repeat(257) } }, "secret"],
      ["a", { ...lag, webhook: { ...webhook, token: "x" } }, "unknown field 'token'"],
      ["x".repeat(250), lag, "alert name"],
      ["bad name!", lag, "illegal character"],
    ];
    const before = (await api("GET", "/v1/alerts")).body.alerts.length;
    for (const [name, body, says] of cases) {
      const res = await api("PUT", `/v1/alerts/${encodeURIComponent(name)}`, body);
      expect(res.status, `${name} ${JSON.stringify(body)?.slice(0, 80)}`).toBe(400);
      expect(res.body.error.message).toContain(says);
    }
    expect((await api("GET", "/v1/alerts")).body.alerts.length).toBe(before);
    expect((await api("GET", "/v1/alerts/never-made")).body.error.code).toBe("ALERT_NOT_FOUND");
    expect((await api("DELETE", "/v1/alerts/never-made")).status).toBe(404);
    expect((await api("GET", "/v1/alerts?x=1")).status).toBe(400);
  });
});
