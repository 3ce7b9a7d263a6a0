import { Edgelog } from "@edgelog/client";
import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
// The worked example, run as a user would run it, against what `npm start` runs.
import { prepareOrders, readCommitted, runPipeline } from "../../examples/exactly-once/pipeline.mjs";
import { LocalServer, tempStateDir } from "./server";

const ORDERS = 400;
/** Output records written before each SIGKILL: the crashes land while batches are in flight. */
const CRASH_AT_OUTPUT = [60, 160, 280];
const PIPELINE_MS = 150_000;

describe("exactly-once consume-transform-produce (examples/exactly-once)", () => {
  const server = new LocalServer(tempStateDir());
  afterAll(() => server.stop("SIGKILL"));

  it(`${ORDERS} orders through the pipeline while the server is SIGKILLed three times: every order exactly once in the read_committed output`, async () => {
    await server.start();
    const edgelog = new Edgelog({ url: server.url, WebSocket });
    const [input, output, group] = ["orders", "orders-doubled", "doubler"];
    await prepareOrders(edgelog, input, output, ORDERS);

    const restarts: string[] = [];
    let crashes = 0;
    const crashing = (async () => {
      for (const at of CRASH_AT_OUTPUT) {
        for (;;) {
          const ends = (await edgelog.admin.describeTopic(output).catch(() => null))?.partitionInfo ?? [];
          if (ends.reduce((n: number, p: { logEndOffset: number }) => n + p.logEndOffset, 0) >= at) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await server.stop("SIGKILL");
        crashes++;
        await server.start();
      }
    })();
    const result = await runPipeline({
      edgelog,
      input,
      output,
      group,
      transactionalId: "doubler",
      deadlineMs: Date.now() + PIPELINE_MS,
      log: (line: string) => restarts.push(line),
    });
    await crashing;
    expect(crashes).toBe(CRASH_AT_OUTPUT.length);

    const out = await readCommitted(edgelog, output);
    const ids = out.map((r: any) => r.value.id).sort((a: number, b: number) => a - b);
    expect(ids).toEqual(Array.from({ length: ORDERS }, (_, i) => i));
    expect(out.every((r: any) => r.value.amount === r.value.id * 2)).toBe(true);
    // Each order's output is in the partition its key maps to, once; aborted attempts stay invisible.
    const committedOffsets = await edgelog.admin.groupOffsets(group);
    expect(committedOffsets.map((o) => o.committedOffset).reduce((a, b) => a + b, 0)).toBe(ORDERS);
    console.log(`exactly-once: ${result.restarts} pipeline restarts (${restarts.slice(0, 3).join(" | ")})`);
  }, 240_000);
});
