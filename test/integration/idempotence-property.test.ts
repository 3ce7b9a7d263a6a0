import { env, runDurableObjectAlarm } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { replicaStub } from "../../durable-objects/stubs";
import { testSeed } from "../seed";
import { api, createTopic, fetchRecords, restartObject } from "./helpers";

const PARTITIONS = 2;

type Command =
  | { kind: "produce"; keys: (string | null)[] }
  | { kind: "retry"; back: number; concurrent: boolean }
  | { kind: "gap"; ahead: number }
  | { kind: "restart" }
  | { kind: "delete"; bytes: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("produce" as const),
      keys: fc.array(fc.option(fc.constantFrom("a", "b", "c", "d")), { minLength: 1, maxLength: 4 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("retry" as const),
      back: fc.integer({ min: 0, max: 7 }),
      concurrent: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("gap" as const), ahead: fc.integer({ min: 1, max: 3 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("restart" as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("delete" as const), bytes: fc.integer({ min: 0, max: 60 }) }),
  },
);

/**
 * Random histories of idempotent produces, retries (some concurrent, some of
 * sequences no longer kept, some of the request in flight), gaps, producer
 * restarts and retention deletes, against the real gateway. Checked after every
 * step: a repeat answers the original results or DUPLICATE_SEQUENCE_NUMBER and
 * appends nothing; a gap appends nothing; each partition holds exactly the
 * applied records at their acknowledged offsets from logStartOffset on; offsets
 * are never reused after retention.
 */
const SEED = testSeed("idempotence-property");

describe("idempotent producer histories (property)", () => {
  it("every request is applied at most once, at the offsets first answered", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 5, maxLength: 20 }), async (commands) => {
        const topic = await createTopic({ partitions: PARTITIONS, replicationFactor: 1 });
        const producer = (await api("POST", "/v1/producers")).body as { id: string; epoch: number };
        const requests: { records: unknown[]; answer: unknown }[] = [];
        /** The model: per partition, offset → value. */
        const log = Array.from({ length: PARTITIONS }, () => new Map<number, string>());
        let highest = Array.from({ length: PARTITIONS }, () => 0);
        const send = (sequence: number, records: unknown[]) =>
          api("POST", `/v1/topics/${topic}/records?acks=1`, {
            records,
            producer: { ...producer, sequence },
          });
        for (const c of commands) {
          if (c.kind === "produce") {
            const sequence = requests.length;
            const records = c.keys.map((key, i) => ({ key, value: `s${sequence}-${i}` }));
            const res = await send(sequence, records);
            expect(res.status).toBe(200);
            for (const [i, r] of res.body.results.entries()) {
              // Offsets are never reused: every new record lands at or above the log's end.
              expect(r.offset).toBeGreaterThanOrEqual(highest[r.partition]!);
              log[r.partition]!.set(r.offset, `s${sequence}-${i}`);
            }
            for (const r of res.body.results)
              highest[r.partition] = Math.max(highest[r.partition]!, r.offset + 1);
            requests.push({ records, answer: res.body });
          } else if (c.kind === "retry") {
            const sequence = requests.length - 1 - c.back;
            if (sequence < 0) continue;
            const { records, answer } = requests[sequence]!;
            const tries = c.concurrent ? 3 : 1;
            const answers = await Promise.all(Array.from({ length: tries }, () => send(sequence, records)));
            for (const res of answers) {
              if (c.back < 5) expect(res.body).toEqual(answer);
              // API.md keeps the results of at least the last 5: an older one is refused whole, or (after a
              // restart, from the partitions' batches) answered exactly as the first time — never in part.
              else if (res.status === 200) expect(res.body).toEqual(answer);
              else {
                expect(res.status).toBe(409);
                expect(res.body.error.code).toBe("DUPLICATE_SEQUENCE_NUMBER");
              }
            }
          } else if (c.kind === "gap") {
            const res = await send(requests.length + c.ahead, [{ value: "never" }]);
            expect(res.status).toBe(409);
            expect(res.body.error.code).toBe("OUT_OF_ORDER_SEQUENCE_NUMBER");
          } else if (c.kind === "restart") {
            const id = env.PRODUCER.idFromString(producer.id);
            await restartObject(() => env.PRODUCER.get(id) as unknown as DurableObjectStub);
          } else {
            await api("PATCH", `/v1/topics/${topic}`, { configs: { "retention.bytes": c.bytes } });
            for (let p = 0; p < PARTITIONS; p++) {
              const leader = replicaStub(env, topic, p, 0);
              await runDurableObjectAlarm(leader);
            }
            await api("PATCH", `/v1/topics/${topic}`, { configs: { "retention.bytes": null } });
          }
          // The log holds exactly the applied records from logStartOffset on, and nothing else.
          for (let p = 0; p < PARTITIONS; p++) {
            const res = await fetchRecords(topic, p, "offset=earliest&maxRecords=10000");
            expect(res.status).toBe(200);
            expect(res.body.highWatermark).toBe(highest[p]);
            const stored = new Map(res.body.records.map((r: any) => [r.offset, r.value]));
            const expected = [...log[p]!].filter(([offset]) => offset >= res.body.logStartOffset);
            expect(stored).toEqual(new Map(expected));
          }
        }
        highest = [];
      }),
      // No shrinking: a failing history is reported as found (shrinking replays many histories).
      { numRuns: 10, endOnFailure: true, seed: SEED },
    );
  }, 180_000);
});
