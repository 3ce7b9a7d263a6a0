import { describe, expect, it } from "vitest";
import { createTopic, describePartition, eventually, fault, produce, readAll } from "./helpers";

type Outcome = { value: string; partition: number; status: "acked" | "refused" | "unknown"; offset?: number };

/** Requests one producer sends at most. */
const REQUESTS_MAX = 400;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A history check (DESIGN.md invariants 1, 2, 3 and 6): concurrent acks=all
 * producers while replicas fail, hang and fail after committing, and a leader
 * fails over. Afterwards every acknowledged record is readable exactly once at
 * its acknowledged offset, offsets are dense, and nothing refused appears.
 */
describe("replication history under faults", () => {
  it("keeps every acknowledged record exactly once, dense offsets, no refused record", async () => {
    const partitions = 2;
    const topic = await createTopic({
      partitions,
      replicationFactor: 3,
      configs: { "min.insync.replicas": 2, "replica.lag.time.max.ms": 800, "replica.ack.timeout.ms": 1200 },
    });
    const outcomes: Outcome[] = [];
    let stop = false;

    const producer = async (id: number) => {
      // Until the chaos is over, bounded in count (REQUESTS_MAX) whatever happens.
      for (let request = 0; request < REQUESTS_MAX && !stop; request++) {
        const partition = (id + request) % partitions;
        const size = 1 + ((id * 7 + request) % 4);
        const records = Array.from({ length: size }, (_, k) => ({
          value: `p${id}-${request}-${k}`,
          partition,
        }));
        const res = await produce(topic, records, "all");
        records.forEach((record, k) => {
          const result = res.body?.results?.[k];
          if (res.status === 200)
            outcomes.push({ value: record.value, partition, status: "acked", offset: result.offset });
          else if (result?.error?.code === "NOT_ENOUGH_REPLICAS")
            outcomes.push({ value: record.value, partition, status: "refused" });
          else outcomes.push({ value: record.value, partition, status: "unknown" });
        });
        await sleep(10);
      }
    };

    const chaos = async () => {
      await sleep(100);
      await fault(topic, 0, 2, "fail"); // a follower down: acks=all goes on with 2 of 3
      await sleep(300);
      await fault(topic, 1, 1, "hang"); // a follower hangs: leaves the ISR by lag
      await sleep(300);
      await fault(topic, 0, 1, "fail"); // p0 down to its leader: NOT_ENOUGH_REPLICAS
      await sleep(300);
      await fault(topic, 0, 1, "none");
      await fault(topic, 0, 2, "none");
      await fault(topic, 1, 1, "none");
      await sleep(300);
      const leader = (await describePartition(topic, 1)).leader;
      await fault(topic, 1, leader, "failAfterCommit"); // p1's leader stores a batch, then dies
      await sleep(150);
      await fault(topic, 1, leader, "fail");
      await sleep(600); // producers hit it, the registry elects another leader
      await fault(topic, 1, leader, "none");
    };

    const producers = Array.from({ length: 6 }, (_, id) => producer(id));
    await chaos();
    await sleep(300); // some traffic at the new leader
    stop = true;
    await Promise.all(producers);

    // Let replication heal: every partition back to a full ISR.
    for (let p = 0; p < partitions; p++) {
      const info = await eventually(
        () => describePartition(topic, p),
        (i) => i.isr.length === 3 && i.highWatermark === i.logEndOffset,
      );
      expect(info.isr).toEqual([0, 1, 2]);
    }
    expect((await describePartition(topic, 1)).leaderEpoch).toBeGreaterThanOrEqual(1); // a failover happened

    const acked = outcomes.filter((o) => o.status === "acked");
    const refused = outcomes.filter((o) => o.status === "refused");
    expect(acked.length).toBeGreaterThan(50);
    expect(refused.length).toBeGreaterThan(0); // the chaos really refused some

    for (let p = 0; p < partitions; p++) {
      const log = await readAll(topic, p);
      expect(log.map((r) => r.offset)).toEqual(log.map((_, i) => i)); // dense from 0
      const where = new Map<string, number>();
      for (const record of log) {
        expect(where.has(record.value)).toBe(false); // nothing appears twice
        where.set(record.value, record.offset);
      }
      for (const o of outcomes.filter((x) => x.partition === p)) {
        if (o.status === "acked") expect(where.get(o.value)).toBe(o.offset);
        if (o.status === "refused") expect(where.has(o.value)).toBe(false);
      }
      // Everything in the log was sent by some producer.
      const sent = new Set(outcomes.filter((x) => x.partition === p).map((x) => x.value));
      for (const value of where.keys()) expect(sent.has(value)).toBe(true);
    }
  }, 60_000);
});
