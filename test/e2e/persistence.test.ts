import { afterAll, describe, expect, it } from "vitest";
import { LocalServer, tempStateDir } from "./server";

type Acked = { partition: number; offset: number; key: string; value: unknown };

async function produceMany(
  server: LocalServer,
  topic: string,
  requests: number,
  tag: string,
): Promise<Acked[]> {
  const acked: Acked[] = [];
  for (let r = 0; r < requests; r++) {
    const records = Array.from({ length: 5 }, (_, i) => ({
      key: `key-${(r * 5 + i) % 17}`,
      value: { tag, r, i },
    }));
    const acks = r % 2 === 0 ? "1" : "all";
    const res = await server.request("POST", `/v1/topics/${topic}/records?acks=${acks}`, { records });
    expect(res.status).toBe(200);
    for (const [i, result] of res.body.results.entries()) acked.push({ ...result, ...records[i]! });
  }
  return acked;
}

async function readPartition(server: LocalServer, topic: string, partition: number): Promise<any[]> {
  const res = await server.request(
    "GET",
    `/v1/topics/${topic}/partitions/${partition}/records?offset=0&maxRecords=10000`,
  );
  expect(res.status).toBe(200);
  expect(res.body.nextOffset).toBe(res.body.highWatermark);
  return res.body.records;
}

/** Every acknowledged record is at its acknowledged offset, and offsets are dense from 0. */
async function expectAllPresent(server: LocalServer, topic: string, partitions: number, acked: Acked[]) {
  for (let p = 0; p < partitions; p++) {
    const log = await readPartition(server, topic, p);
    expect(log.map((r) => r.offset)).toEqual(log.map((_, i) => i));
    const mine = acked.filter((a) => a.partition === p);
    expect(log).toHaveLength(mine.length);
    for (const a of mine) expect(log[a.offset]).toMatchObject({ key: a.key, value: a.value });
  }
}

describe("the real npm start server keeps acknowledged records across restarts", () => {
  const server = new LocalServer(tempStateDir());
  afterAll(() => server.stop("SIGKILL"));

  it("after a clean restart and after kill -9, every acknowledged record is still there", async () => {
    await server.start();
    const topic = "e2e-orders";
    expect(
      (await server.request("POST", "/v1/topics", { name: topic, partitions: 3, replicationFactor: 1 }))
        .status,
    ).toBe(201);
    const acked = await produceMany(server, topic, 20, "first");

    await server.stop("SIGTERM");
    await server.start();
    await expectAllPresent(server, topic, 3, acked);
    expect((await server.request("GET", "/v1/topics")).body.topics).toContainEqual({
      name: topic,
      partitions: 3,
      replicationFactor: 1,
    });

    // Offsets continue densely after the restart.
    acked.push(...(await produceMany(server, topic, 10, "second")));
    await server.stop("SIGKILL"); // a crash: no shutdown of any kind
    await server.start();
    await expectAllPresent(server, topic, 3, acked);
    const describe = await server.request("GET", `/v1/topics/${topic}`);
    const total = describe.body.partitionInfo.reduce((n: number, p: any) => n + p.logEndOffset, 0);
    expect(total).toBe(acked.length);
  });
});

describe("the gateway's body limit is configurable", () => {
  const server = new LocalServer(tempStateDir(), { EDGELOG_MAX_REQUEST_BYTES: "2048" });
  afterAll(() => server.stop("SIGKILL"));

  it("refuses a body over EDGELOG_MAX_REQUEST_BYTES with 413 and accepts one under it", async () => {
    await server.start();
    expect((await server.request("POST", "/v1/topics", { name: "small", replicationFactor: 1 })).status).toBe(
      201,
    );
    const over = await server.request("POST", "/v1/topics/small/records", {
      records: [{ value: "x".repeat(3000) }],
    });
    expect(over.status).toBe(413);
    expect(over.body.error.code).toBe("MESSAGE_TOO_LARGE");
    const under = await server.request("POST", "/v1/topics/small/records", {
      records: [{ value: "x".repeat(1000) }],
    });
    expect(under.status).toBe(200);
    expect(under.body.results[0].offset).toBe(0);
    const health = await server.request("GET", "/healthz");
    expect(health).toEqual({ status: 200, body: { status: "ok" } });
  });
});
