import type { Server } from "node:http";
import type { Browser, Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { client } from "./auth-client";
import { launchChromium, pageWithSecuredGateway } from "./browser";
import type { LocalServer } from "./server";

/**
 * API.md "Streams for the web" in a real browser (Debian's chromium, headless) on a
 * page of another origin, against the server `npm start` runs with credentials on:
 * a native EventSource tails a partition with ?access_token=, resumes by itself
 * after the server is killed (-9) and restarted, and never sees a record twice;
 * the page appends conditionally with fetch (expectedOffset).
 */

describe("web streams in a browser (headless Chromium)", () => {
  let page: Server;
  let browser: Browser;
  let tab: Page;
  let gateway: LocalServer;
  let admin: ReturnType<typeof client>;
  let token: string;

  beforeAll(async () => {
    let pagePort: number;
    ({ page, pagePort, gateway, admin, token } = await pageWithSecuredGateway("feed", "reader"));
    browser = await launchChromium();
    tab = await browser.newPage();
    await tab.goto(`http://localhost:${pagePort}/`);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    page?.close();
    await gateway?.stop("SIGKILL");
  });

  const produce = (values: unknown[]) =>
    admin("POST", "/v1/topics/feed/records?acks=1", { records: values.map((value) => ({ value })) });
  const seen = () => tab.evaluate(() => (window as any).seen as { id: string; values: unknown[] }[]);
  async function until(done: () => Promise<boolean>, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    while (!(await done()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  }

  it("an EventSource gets stored then live records and resumes by itself from Last-Event-ID after kill -9", async () => {
    expect((await produce(["a", "b"])).status).toBe(200);
    await tab.evaluate(
      (gw: string, t: string) => {
        const w = window as any;
        w.seen = [];
        w.errors = 0;
        const source = new EventSource(
          `${gw}/v1/topics/feed/partitions/0/records?offset=0&access_token=${encodeURIComponent(t)}`,
        );
        source.addEventListener("records", (event) => {
          const e = event as MessageEvent;
          w.seen.push({ id: e.lastEventId, values: JSON.parse(e.data).records.map((r: any) => r.value) });
        });
        source.onerror = () => {
          w.errors++;
        };
        w.source = source;
      },
      gateway.url,
      token,
    );
    await until(async () => (await seen()).length >= 1, 10_000);
    expect(await seen()).toEqual([{ id: "2", values: ["a", "b"] }]);
    expect((await produce(["c"])).status).toBe(200);
    await until(async () => (await seen()).length >= 2, 10_000);
    expect((await seen())[1]).toEqual({ id: "3", values: ["c"] });

    await gateway.stop("SIGKILL");
    await gateway.start();
    expect((await produce(["d", "e"])).status).toBe(200);
    // The browser reconnects (retry: 1000) with Last-Event-ID 3: only what came after.
    await until(async () => (await seen()).flatMap((s) => s.values).length >= 5, 20_000);
    const all = (await seen()).flatMap((s) => s.values);
    expect(all).toEqual(["a", "b", "c", "d", "e"]);
    expect(await tab.evaluate(() => (window as any).errors)).toBeGreaterThan(0); // it did lose the connection
    await tab.evaluate(() => (window as any).source.close());
  }, 60_000);

  it("appends conditionally from the page: expectedOffset wins once, a stale one reads 412 and logEndOffset", async () => {
    const answers = await tab.evaluate(
      async (gw: string, t: string) => {
        const append = (expected: number, value: string) =>
          fetch(`${gw}/v1/topics/feed/partitions/0/records?expectedOffset=${expected}`, {
            method: "POST",
            headers: { authorization: `Bearer ${t}`, "content-type": "application/json" },
            body: JSON.stringify({ records: [{ value }] }),
          }).then(async (res) => [res.status, await res.json()]);
        return [await append(5, "f"), await append(5, "stale")];
      },
      gateway.url,
      token,
    );
    expect(answers[0]![0]).toBe(200);
    expect(answers[0]![1].results[0].offset).toBe(5);
    expect(answers[1]![0]).toBe(412);
    expect(answers[1]![1]).toMatchObject({ error: { code: "OFFSET_MISMATCH" }, logEndOffset: 6 });
  });
});
