import type { Server } from "node:http";
import type { Browser } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { client } from "./auth-client";
import { launchChromium, pageWithSecuredGateway } from "./browser";
import type { LocalServer } from "./server";

/**
 * A real browser (Debian's chromium, headless) on a page of another origin uses
 * the gateway with a scoped token: produce and fetch over HTTP (CORS preflights
 * included), a WebSocket tail with ?access_token=, and an error it can read. A
 * page on an origin not in EDGELOG_CORS_ORIGINS gets nothing.
 */

describe("a browser page on another origin (headless Chromium)", () => {
  let page: Server;
  let pagePort: number;
  let browser: Browser;
  let gateway: LocalServer;
  let token: string;
  let admin: ReturnType<typeof client>;

  beforeAll(async () => {
    ({ page, pagePort, gateway, admin, token } = await pageWithSecuredGateway("browser", "web"));
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    page?.close();
    await gateway?.stop("SIGKILL");
  });

  it("produces and fetches over HTTP, tails over a WebSocket, and reads an error's envelope", async () => {
    const tab = await browser.newPage();
    await tab.goto(`http://localhost:${pagePort}/`);
    const result = await tab.evaluate(
      async (gw: string, t: string) => {
        const auth = { authorization: `Bearer ${t}` };
        const produced = await fetch(`${gw}/v1/topics/browser/records?acks=all`, {
          method: "POST",
          headers: { ...auth, "content-type": "application/json" },
          body: JSON.stringify({ records: [{ key: "k", value: { from: "browser" } }] }),
        });
        const producedBody = await produced.json();
        const fetched = await fetch(`${gw}/v1/topics/browser/partitions/0/records?offset=0`, {
          headers: auth,
        });
        const fetchedBody = await fetched.json();
        // A refusal the page can read: status, envelope, and the exposed www-authenticate.
        const refused = await fetch(`${gw}/v1/topics/browser`, { headers: { authorization: "Bearer nope" } });
        const refusedBody = await refused.json();
        // WebSocket: subscribe from the start, produce one more over the socket, see both records.
        const ws = new WebSocket(`${gw.replace("http", "ws")}/v1/ws?access_token=${encodeURIComponent(t)}`);
        const values = await new Promise<unknown[]>((resolve, reject) => {
          const seen: unknown[] = [];
          const timer = setTimeout(() => reject(new Error(`ws: saw ${JSON.stringify(seen)}`)), 10_000);
          ws.onerror = () => reject(new Error("ws error"));
          ws.onopen = () =>
            ws.send(
              JSON.stringify({ op: "subscribe", id: 1, topic: "browser", partition: 0, offset: "earliest" }),
            );
          ws.onmessage = (event) => {
            const frame = JSON.parse(event.data);
            if (frame.op === "subscribed")
              ws.send(
                JSON.stringify({
                  op: "produce",
                  id: 2,
                  topic: "browser",
                  acks: "1",
                  records: [{ value: "over ws" }],
                }),
              );
            if (frame.op === "records") for (const r of frame.records) seen.push(r.value);
            if (seen.length >= 2) {
              clearTimeout(timer);
              ws.close();
              resolve(seen);
            }
          };
        });
        return {
          produced: [produced.status, producedBody],
          fetched: [fetched.status, fetchedBody.records.map((r: { value: unknown }) => r.value)],
          refused: [refused.status, refusedBody.error.code, refused.headers.get("www-authenticate")],
          values,
        };
      },
      gateway.url,
      token,
    );
    expect(result.produced[0]).toBe(200);
    expect(result.produced[1].results[0]).toMatchObject({ partition: 0, offset: 0 });
    expect(result.fetched).toEqual([200, [{ from: "browser" }]]);
    expect(result.refused).toEqual([401, "UNAUTHENTICATED", "Bearer"]);
    expect(result.values).toEqual([{ from: "browser" }, "over ws"]);
    await tab.close();
  });

  it("a page on an origin not in EDGELOG_CORS_ORIGINS can neither read answers nor open a WebSocket", async () => {
    const before = (await admin("GET", "/v1/topics/browser")).body.partitionInfo[0].logEndOffset;
    const tab = await browser.newPage();
    await tab.goto(`http://127.0.0.1:${pagePort}/`); // same port, another origin
    const result = await tab.evaluate(
      async (gw: string, t: string) => {
        const attempt = async (run: () => Promise<Response>) => {
          try {
            return `answered ${(await run()).status}`;
          } catch (error) {
            return `blocked ${(error as Error).name}`;
          }
        };
        const read = await attempt(() =>
          fetch(`${gw}/v1/topics/browser/partitions/0/records?offset=0`, {
            headers: { authorization: `Bearer ${t}` },
          }),
        );
        const write = await attempt(() =>
          fetch(`${gw}/v1/topics/browser/records?acks=1`, {
            method: "POST",
            headers: { authorization: `Bearer ${t}`, "content-type": "application/json" },
            body: JSON.stringify({ records: [{ value: "stolen" }] }),
          }),
        );
        const socket = await new Promise<string>((resolve) => {
          const ws = new WebSocket(`${gw.replace("http", "ws")}/v1/ws?access_token=${encodeURIComponent(t)}`);
          ws.onopen = () => resolve("opened");
          ws.onclose = (event) => resolve(`closed ${event.code}`);
        });
        return { read, write, socket };
      },
      gateway.url,
      token,
    );
    expect(result).toEqual({ read: "blocked TypeError", write: "blocked TypeError", socket: "closed 1006" });
    // The refused preflight kept the POST from being sent at all: nothing appended.
    expect((await admin("GET", "/v1/topics/browser")).body.partitionInfo[0].logEndOffset).toBe(before);
    await tab.close();
  });
});
