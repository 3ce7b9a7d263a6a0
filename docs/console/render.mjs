#!/usr/bin/env node
// Screenshots of the web console for the docs and the README: a real local server (npm start),
// a little history (topics, records, a group that commits as it goes so its lag falls over the
// alarm's 5-s samples, an alert rule), each page shot in headless Chromium at 1280×800 and the
// messages page at a phone's width too, saved as docs/console/*.png.
//   npm run screenshots
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromiumInstalled, launchChromium } from "../../scripts/chromium.mjs";
import { LocalServer, tempStateDir } from "../../scripts/local-server.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
/** Lag samples the group page shows (the group's alarm samples every 5 s). */
const ROUNDS = 6;
const ROUND_MS = 5_500;

if (!chromiumInstalled()) throw new Error("chromium is not installed (apt-get install chromium)");
const server = new LocalServer(tempStateDir());
await server.start();
const api = async (method, path, body) => {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined && method !== "POST" ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.status === 204 ? null : res.json();
};
const browser = await launchChromium();
try {
  await api("POST", "/v1/topics", { name: "orders", partitions: 3, configs: { "retention.ms": 86_400_000 } });
  await api("POST", "/v1/topics", { name: "payments", partitions: 2, replicationFactor: 1 });
  await api("POST", "/v1/topics", { name: "audit.log", configs: { "cleanup.policy": "compact" } });
  const order = (i) => ({
    key: `customer-${i % 7}`,
    value: { order: 1000 + i, total: (i * 7.5) % 90, items: 1 + (i % 4) },
    headers: { source: "shop" },
  });
  const joined = await api("POST", "/v1/groups/billing/members", {
    topics: ["orders"],
    autoOffsetReset: "earliest",
  });
  await api("PUT", "/v1/alerts/billing-lag", {
    kind: "consumerLag",
    group: "billing",
    maxLag: 200,
    forMs: 60_000,
    webhook: { url: "http://127.0.0.1:9/alerts" },
  });
  let produced = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Orders arrive faster than billing reads them at first; then billing catches up.
    const count = round < 3 ? 120 : 20;
    await api("POST", "/v1/topics/orders/records?acks=all", {
      records: Array.from({ length: count }, (_, i) => order(produced + i)),
    });
    produced += count;
    const beat = await api("POST", `/v1/groups/billing/members/${joined.memberId}/heartbeat`);
    if (!beat.assignments) throw new Error(`heartbeat: ${JSON.stringify(beat)}`);
    const { assignments } = beat;
    const described = await api("GET", "/v1/topics/orders");
    const share = round < 3 ? 0.4 : 1;
    await api("POST", "/v1/groups/billing/offsets", {
      memberId: joined.memberId,
      generation: joined.generation,
      offsets: assignments.map(({ topic, partition }) => ({
        topic,
        partition,
        offset: Math.floor(described.partitionInfo[partition].highWatermark * share),
      })),
    });
    await new Promise((resolve) => setTimeout(resolve, ROUND_MS));
  }
  const page = await browser.newPage();
  const shoot = async (hash, file, width = 1280, height = 800) => {
    await page.setViewport({ width, height });
    await page.goto(`${server.url}/console/${hash}`, { waitUntil: "networkidle0" });
    await new Promise((resolve) => setTimeout(resolve, 700));
    await page.screenshot({ path: join(HERE, file) });
    console.log(`docs/console/${file}`);
  };
  await shoot("#/topics", "topics.png");
  await shoot("#/topics/orders", "topic.png");
  await shoot("#/messages/orders/0", "messages.png");
  await page.evaluate(() => document.querySelector("form[aria-label='Browse records'] button").click());
  await new Promise((resolve) => setTimeout(resolve, 700));
  await page.evaluate(() => window.scrollTo(0, 260));
  await page.screenshot({ path: join(HERE, "messages.png") });
  await shoot("#/groups", "groups.png");
  await shoot("#/groups/billing", "group.png", 1280, 900);
  await shoot("#/health", "health.png");
  await shoot("#/messages/orders/0", "phone.png", 390, 844);
  const docs = await browser.newPage();
  await docs.setViewport({ width: 1280, height: 800 });
  await docs.goto(`${server.url}/docs/`, { waitUntil: "networkidle0" });
  await docs.screenshot({ path: join(HERE, "reference.png") });
  console.log("docs/console/reference.png");
} finally {
  await browser.close();
  await server.stop("SIGTERM");
}
