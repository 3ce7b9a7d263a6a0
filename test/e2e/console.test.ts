import type { Browser, HTTPRequest, Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client } from "./auth-client";
import { CHROMIUM, chromiumInstalled, launchChromium } from "./browser";
import { LocalServer, tempStateDir, until } from "./server";

/**
 * The web console (/console/) in a real browser (Debian's chromium, headless) against the
 * server `npm start` runs, credentials on: every page loads with no console error and no
 * request leaving the gateway; a user creates a topic, produces a record and sees it in
 * the live tail; a group's lag falls on screen as it commits; a topic is deleted only
 * after its name is typed. At 1280×800 and at a phone's width, every control is named.
 */

const ADMIN = `console-admin-${Date.now()}`;
const PAGES = [
  "#/topics",
  "#/topics/shop",
  "#/messages/shop/0",
  "#/groups",
  "#/groups/shop-readers",
  "#/health",
];

describe("the web console in a browser (headless Chromium)", () => {
  let gateway: LocalServer;
  let admin: ReturnType<typeof client>;
  let browser: Browser;
  let tab: Page;
  const problems: string[] = [];

  const text = () => tab.evaluate(() => document.getElementById("page")!.innerText);
  const notice = () => tab.evaluate(() => document.getElementById("notice")!.innerText);
  /** Waits (bounded) until the page's text contains `wanted`. */
  const shows = async (wanted: string | RegExp, timeoutMs = 10_000) => {
    await until(async () => {
      const now = await text();
      return typeof wanted === "string" ? now.includes(wanted) : wanted.test(now);
    }, timeoutMs);
    return text();
  };
  const open = async (hash: string) => {
    await tab.goto(`${gateway.url}/console/${hash}`, { waitUntil: "networkidle0" });
  };
  /** Clicks `selector` once the page has rendered it. */
  const click = async (selector: string) => {
    await tab.waitForSelector(selector, { timeout: 10_000 });
    await tab.click(selector);
  };

  beforeAll(async () => {
    expect(chromiumInstalled(), `${CHROMIUM} (apt-get install chromium; .ci/run does)`).toBe(true);
    gateway = new LocalServer(tempStateDir(), { EDGELOG_AUTH: "required", EDGELOG_ADMIN_TOKEN: ADMIN });
    await gateway.start();
    admin = client(gateway.url, ADMIN);
    browser = await launchChromium();
    tab = await browser.newPage();
    await tab.setViewport({ width: 1280, height: 800 });
    tab.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warn") problems.push(`console ${m.type()}: ${m.text()}`);
    });
    tab.on("pageerror", (e) => problems.push(`page error: ${e}`));
    tab.on("request", (r: HTTPRequest) => {
      if (!r.url().startsWith(`${gateway.url}/`) && !r.url().startsWith("data:"))
        problems.push(`left the gateway: ${r.url()}`);
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop("SIGKILL");
  });

  it("asks for a token first, then keeps it for the tab only", async () => {
    await open("#/topics");
    expect(await shows("A token is needed")).toContain("Token box");
    await tab.type("#token", ADMIN);
    await click("#token-form button[type=submit]");
    expect(await shows("No topics yet")).toContain("No topics yet: create one above.");
    expect(await tab.evaluate(() => sessionStorage.getItem("edgelog.token"))).toBe(ADMIN);
    expect(await tab.evaluate(() => localStorage.length)).toBe(0);
  });

  it("creates a topic, produces a record and shows it in the live tail", async () => {
    await tab.waitForSelector("form[aria-label='Create a topic'] input[name=name]");
    await tab.type("form[aria-label='Create a topic'] input[name=name]", "shop");
    await click("form[aria-label='Create a topic'] button[type=submit]");
    expect(await shows("Topic shop")).toMatch(/High watermark/);
    await open("#/messages/shop/0");
    await click("xpath/.//button[contains(., 'Start live tail')]");
    await shows(/Tailing shop\/0 from offset 0/);
    await tab.waitForSelector("form[aria-label='Produce a record'] input[name=key]");
    await tab.type("form[aria-label='Produce a record'] input[name=key]", "k1");
    await tab.type("form[aria-label='Produce a record'] textarea[name=value]", '{"item":"book"}');
    await click("form[aria-label='Produce a record'] button[type=submit]");
    await until(async () => (await notice()).includes("Produced to shop/0 at offset 0"), 10_000);
    expect(await notice()).toContain("Produced to shop/0 at offset 0");
    const tail = await shows('{"item":"book"}');
    expect(tail).toMatch(/Live: 1 records/);
    // And what the console produced is what the API stored.
    const fetched = await admin("GET", "/v1/topics/shop/partitions/0/records?offset=0");
    expect(fetched.body.records).toMatchObject([{ offset: 0, key: "k1", value: { item: "book" } }]);
  });

  it("shows a group's lag fall as it commits", async () => {
    const values = Array.from({ length: 4 }, (_, i) => ({ value: { n: i } }));
    await admin("POST", "/v1/topics/shop/records?acks=all", {
      records: values.map((r) => ({ ...r, partition: 0 })),
    });
    const joined = await admin("POST", "/v1/groups/shop-readers/members", {
      topics: ["shop"],
      autoOffsetReset: "earliest",
    });
    expect(joined.status).toBe(201);
    const commit = (offset: number) =>
      admin("POST", "/v1/groups/shop-readers/offsets", {
        memberId: joined.body.memberId,
        generation: joined.body.generation,
        offsets: [{ topic: "shop", partition: 0, offset }],
      });
    expect((await commit(1)).status).toBe(200);
    await open("#/groups/shop-readers");
    const totalLag = () =>
      tab.evaluate(() =>
        Number(document.querySelector("[data-total-lag]")?.getAttribute("data-total-lag") ?? -1),
      );
    await until(async () => (await totalLag()) === 4, 15_000);
    expect(await totalLag()).toBe(4);
    expect(await text()).toContain(joined.body.memberId);
    expect((await commit(5)).status).toBe(200);
    await until(async () => (await totalLag()) === 0, 15_000);
    expect(await totalLag()).toBe(0);
  }, 40_000);

  it("loads every page at 1280×800 and at a phone's width with named controls, no errors, nothing from elsewhere", async () => {
    for (const width of [1280, 390]) {
      await tab.setViewport({ width, height: width === 1280 ? 800 : 844 });
      for (const hash of PAGES) {
        await open(hash);
        await until(async () => (await text()).trim().length > 0, 5_000);
        const layout = await tab.evaluate(() => {
          const controls = Array.from(
            document.querySelectorAll("input, select, textarea, button"),
          ) as HTMLElement[];
          const unnamed = controls.filter((c) => {
            const labelled = (c as HTMLInputElement).labels?.length || c.getAttribute("aria-label");
            return !labelled && !(c.tagName === "BUTTON" && c.textContent!.trim());
          });
          return {
            unnamed: unnamed.map((c) => c.outerHTML.slice(0, 80)),
            overflow: document.documentElement.scrollWidth - window.innerWidth,
            main: !!document.querySelector("main"),
            nav: !!document.querySelector("nav[aria-label]"),
          };
        });
        expect(layout.unnamed, `${hash} at ${width}px`).toEqual([]);
        expect(layout.overflow, `${hash} scrolls sideways at ${width}px`).toBeLessThanOrEqual(0);
        expect(layout.main && layout.nav).toBe(true);
      }
    }
    await tab.setViewport({ width: 1280, height: 800 });
    await open("#/health");
    expect(await shows("Under-replicated partitions")).toContain("None: every partition's ISR");
    expect(problems).toEqual([]);
  }, 60_000);

  it("renders the API reference (/docs) from /openapi.json with its own files only", async () => {
    const document = await (await fetch(`${gateway.url}/openapi.json`)).json();
    const operations = Object.values(document.paths as Record<string, object>).flatMap((m) =>
      Object.keys(m),
    ).length;
    await tab.goto(`${gateway.url}/docs/`, { waitUntil: "networkidle0" });
    await tab.waitForSelector(".opblock", { timeout: 10_000 });
    expect(await tab.evaluate(() => document.querySelectorAll(".opblock").length)).toBe(operations);
    expect(await tab.evaluate(() => document.querySelector(".info .title")?.textContent)).toContain(
      "edgelog",
    );
    expect(problems).toEqual([]);
  });

  it("browses by offset and by time, alters a config, resets an Empty group's offsets", async () => {
    await open("#/messages/shop/0");
    const read = async (from: "offset" | "time", at?: string) => {
      await tab.waitForSelector("form[aria-label='Browse records'] select[name=from]");
      await tab.select("form[aria-label='Browse records'] select[name=from]", from);
      if (at !== undefined)
        await tab.$eval(
          "form[aria-label='Browse records'] input[name=time]",
          (input, value) => {
            (input as HTMLInputElement).value = value as string;
          },
          at,
        );
      await click("form[aria-label='Browse records'] button[type=submit]");
    };
    await read("offset");
    expect(await shows("5 records")).toContain('{"item":"book"}');
    await read("time", "2000-01-01T00:00:00");
    expect(await shows("5 records")).toMatch(/next offset 5/);
    await read("time", "2999-01-01T00:00:00");
    expect(await shows("No records there.")).toContain("0 records");

    await open("#/topics/shop");
    await tab.waitForSelector("form[aria-label='Alter configs'] input[name='retention.ms']");
    await tab.$eval("form[aria-label='Alter configs'] input[name='retention.ms']", (input) => {
      (input as HTMLInputElement).value = "3600000";
    });
    await click("form[aria-label='Alter configs'] button[type=submit]");
    await until(async () => (await notice()).includes("altered"), 10_000);
    expect(await notice()).toBe("Configs of shop altered: retention.ms.");
    expect((await admin("GET", "/v1/topics/shop")).body.configs["retention.ms"]).toBe(3_600_000);

    const group = (await admin("GET", "/v1/groups/shop-readers")).body;
    expect(
      (await admin("DELETE", `/v1/groups/shop-readers/members/${group.members[0].memberId}`)).status,
    ).toBe(204);
    await open("#/groups/shop-readers");
    await tab.waitForSelector("form[aria-label='Reset offsets'] select[name=to]");
    await tab.select("form[aria-label='Reset offsets'] select[name=to]", "earliest");
    await click("form[aria-label='Reset offsets'] button[type=submit]");
    await until(async () => (await notice()).includes("reset"), 10_000);
    expect(await notice()).toBe("Offsets of shop-readers on shop reset (1 partition).");
    const offsets = (await admin("GET", "/v1/groups/shop-readers/offsets")).body.offsets;
    expect(offsets).toMatchObject([{ topic: "shop", partition: 0, committedOffset: 0 }]);
    expect(problems).toEqual([]);
  });

  it("deletes a topic only after its name is typed, and shows the API's error envelope", async () => {
    await open("#/topics/shop");
    const deleteButton = "xpath/.//button[contains(., 'Delete topic shop')]";
    await click(deleteButton);
    await tab.waitForSelector("dialog input");
    await tab.type("dialog input", "shop-wrong");
    await click("xpath/.//dialog//button[contains(., 'Delete')]");
    expect((await admin("GET", "/v1/topics/shop")).status).toBe(200);
    await click(deleteButton);
    await tab.waitForSelector("dialog input");
    await tab.type("dialog input", "shop");
    await click("xpath/.//dialog//button[contains(., 'Delete')]");
    await until(async () => (await admin("GET", "/v1/topics/shop")).status === 404, 10_000);
    expect((await admin("GET", "/v1/topics/shop")).status).toBe(404);
    // A refusal is shown as the envelope's code and message.
    await open("#/topics/shop");
    await until(async () => (await notice()).length > 0, 5_000);
    expect(await notice()).toMatch(/^UNKNOWN_TOPIC_OR_PARTITION: /);
  });
});
