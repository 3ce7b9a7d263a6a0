import type { Server } from "node:http";
import { join } from "node:path";
import type { Browser } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/local-server.mjs";
import { CHROMIUM, chromiumInstalled, launchChromium, pageServer } from "./browser";
import { LocalServer, tempStateDir } from "./server";

/**
 * The built SDK (client/dist/index.js, what `npm install` builds) imported by a
 * page in headless Chromium: the browser's own fetch and WebSocket, nothing else.
 */
describe("the SDK in a browser (headless Chromium)", () => {
  let page: Server;
  let pagePort: number;
  let browser: Browser;
  const gateway = new LocalServer(tempStateDir());

  beforeAll(async () => {
    expect(chromiumInstalled(), `${CHROMIUM} (apt-get install chromium; .ci/run does)`).toBe(true);
    pagePort = await freePort();
    const dist = join(process.cwd(), "client", "dist");
    page = await pageServer(pagePort, { "/sdk.js": join(dist, "index.js") });
    await gateway.start();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    page?.close();
    await gateway.stop("SIGKILL");
  });

  it("produces, consumes as a WebSocket group member with commits, and tails a partition", async () => {
    const tab = await browser.newPage();
    await tab.goto(`http://localhost:${pagePort}/`);
    // The page imports the SDK as an ES module, as an application would.
    await tab.addScriptTag({
      type: "module",
      content: 'import { Edgelog } from "/sdk.js"; window.Edgelog = Edgelog;',
    });
    await tab.waitForFunction(() => "Edgelog" in window);
    const result = await tab.evaluate(async (gw: string) => {
      const { Edgelog } = window as unknown as { Edgelog: any };
      const edgelog = new Edgelog({ url: gw });
      await edgelog.admin.createTopic("web", { partitions: 2, replicationFactor: 1 });
      const producer = edgelog.producer();
      const acks = await Promise.all(
        Array.from({ length: 300 }, (_, i) => producer.send({ topic: "web", key: `k${i % 3}`, value: i })),
      );
      await producer.close();
      const consumer = edgelog.consumer({
        group: "page",
        topics: ["web"],
        transport: "websocket",
        autoOffsetReset: "earliest",
        maxRecords: 50,
      });
      const seen: number[] = [];
      for await (const batch of consumer) {
        for (const r of batch.records) seen.push(r.value);
        await consumer.commit();
        if (seen.length >= 300) break;
      }
      await consumer.close();
      const tail = edgelog.subscribe({ topic: "web", partition: acks[0].partition, offset: "earliest" });
      const inPartition = acks.filter((a: { partition: number }) => a.partition === acks[0].partition).length;
      const tailedOffsets: number[] = [];
      for await (const records of tail) {
        tailedOffsets.push(...records.map((r: { offset: number }) => r.offset));
        if (tailedOffsets.length >= inPartition) break;
      }
      tail.close();
      const lag = (await edgelog.admin.groupOffsets("page")).reduce(
        (n: number, o: { lag: number }) => n + o.lag,
        0,
      );
      return { acked: acks.length, seen: seen.sort((a, b) => a - b), tailedOffsets, inPartition, lag };
    }, gateway.url);
    expect(result.acked).toBe(300);
    expect(result.seen).toEqual(Array.from({ length: 300 }, (_, i) => i));
    // The tail reads the partition from its first record to its last, each once, in order.
    expect(result.tailedOffsets).toEqual(Array.from({ length: result.inPartition }, (_, i) => i));
    expect(result.lag).toBe(0);
    await tab.close();
  });
});
