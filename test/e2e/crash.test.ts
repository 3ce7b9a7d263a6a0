import { afterAll, describe, expect, it } from "vitest";
import { LocalServer, tempStateDir, until } from "./server";

type Acked = { partition: number; offset: number; value: string };

/** Requests one background producer sends at most; the crash normally stops it far earlier. */
const REQUESTS_MAX = 2_000;
/** How long replication may take to re-establish the high watermark after the restart. */
const HEAL_TIMEOUT_MS = 30_000;

describe("kill -9 of the whole server during acks=1 and acks=all produce", () => {
  const server = new LocalServer(tempStateDir());
  afterAll(() => server.stop("SIGKILL"));

  it("loses no acknowledged record, and offsets continue densely after the restart", async () => {
    await server.start();
    const topic = "crash-orders";
    const created = await server.request("POST", "/v1/topics", {
      name: topic,
      partitions: 2,
      replicationFactor: 3,
      configs: { "min.insync.replicas": 2 },
    });
    expect(created.status).toBe(201);

    const acked: Acked[] = [];
    let crashed = false;
    const producer = async (id: number, acks: "1" | "all") => {
      for (let request = 0; request < REQUESTS_MAX && !crashed; request++) {
        const records = Array.from({ length: 5 }, (_, k) => ({
          value: `${acks}-${id}-${request}-${k}`,
          partition: id % 2,
        }));
        let res: { status: number; body: any };
        try {
          res = await server.request("POST", `/v1/topics/${topic}/records?acks=${acks}`, { records });
        } catch {
          return; // the server is gone: this request's outcome is unknown
        }
        if (res.status !== 200) continue;
        for (const [k, r] of (res.body.results as any[]).entries())
          acked.push({ partition: r.partition, offset: r.offset, value: records[k]!.value });
      }
    };
    const producers = [producer(0, "1"), producer(1, "1"), producer(2, "all"), producer(3, "all")];
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    crashed = true;
    await server.stop("SIGKILL"); // no shutdown: wrangler and workerd die mid-request
    await Promise.all(producers);
    expect(acked.filter((a) => a.value.startsWith("all-")).length).toBeGreaterThan(0);
    expect(acked.filter((a) => a.value.startsWith("1-")).length).toBeGreaterThan(0);

    await server.start();
    for (let p = 0; p < 2; p++) {
      // After the restart the leader re-learns its followers' logs; wait until all it has is readable.
      let info: any;
      await until(async () => {
        info = (await server.request("GET", `/v1/topics/${topic}`)).body.partitionInfo[p];
        return info.highWatermark >= info.logEndOffset;
      }, HEAL_TIMEOUT_MS);
      expect(info.highWatermark).toBe(info.logEndOffset);
      const log: any[] = [];
      for (let offset = 0; offset < info.highWatermark; ) {
        const res = await server.request(
          "GET",
          `/v1/topics/${topic}/partitions/${p}/records?offset=${offset}&maxRecords=10000`,
        );
        log.push(...res.body.records);
        offset = res.body.nextOffset;
      }
      expect(log.map((r) => r.offset)).toEqual(log.map((_, i) => i)); // dense from 0
      for (const a of acked.filter((x) => x.partition === p)) expect(log[a.offset]?.value).toBe(a.value);
      const after = await server.request("POST", `/v1/topics/${topic}/records?acks=all`, {
        records: [{ value: "after", partition: p }],
      });
      expect(after.status).toBe(200);
      expect(after.body.results[0].offset).toBe(info.logEndOffset);
    }
  });
});
