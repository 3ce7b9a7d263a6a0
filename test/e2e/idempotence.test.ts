import { afterAll, describe, expect, it } from "vitest";
import { LocalServer, tempStateDir } from "./server";

/**
 * Issue 6: the same idempotent produce request sent again after the whole server
 * restarted (clean stop and kill -9) appends nothing and answers the original
 * offsets; the producer goes on with its next sequence.
 */
describe("idempotent producer across real server restarts", () => {
  const server = new LocalServer(tempStateDir());
  afterAll(() => server.stop("SIGKILL"));

  it("a repeat after a restart and after kill -9 answers the original results and appends nothing", async () => {
    await server.start();
    const topic = "e2e-idempotent";
    const created = await server.request("POST", "/v1/topics", {
      name: topic,
      partitions: 3,
      replicationFactor: 3,
    });
    expect(created.status).toBe(201);
    const producer = (await server.request("POST", "/v1/producers", { transactionalId: "e2e-billing" })).body;
    const records = (s: number) => [
      { key: `a-${s}`, value: s },
      { value: `keyless-${s}` },
      { partition: 2, value: `p2-${s}` },
    ];
    const send = (sequence: number) =>
      server.request("POST", `/v1/topics/${topic}/records?acks=all`, {
        records: records(sequence),
        producer: { ...producer, sequence },
      });
    const first = await send(0);
    expect(first.status).toBe(200);
    const total = async () =>
      (await server.request("GET", `/v1/topics/${topic}`)).body.partitionInfo.reduce(
        (n: number, p: { logEndOffset: number }) => n + p.logEndOffset,
        0,
      );
    expect(await total()).toBe(3);

    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      await server.stop(signal);
      await server.start();
      const again = await send(0);
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      expect(await total()).toBe(3);
    }
    // The producer's state survived too: the next sequence is 1, and 2 would be a gap.
    expect((await send(2)).body.error.code).toBe("OUT_OF_ORDER_SEQUENCE_NUMBER");
    const next = await send(1);
    expect(next.status).toBe(200);
    expect(await total()).toBe(6);
    // The same transactionalId after the restarts: same id, next epoch, the old one fenced.
    const bumped = (await server.request("POST", "/v1/producers", { transactionalId: "e2e-billing" })).body;
    expect(bumped).toEqual({ id: producer.id, epoch: producer.epoch + 1 });
    const zombie = await send(2);
    expect(zombie.body.error.code).toBe("PRODUCER_FENCED");
  });
});
