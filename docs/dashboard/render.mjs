#!/usr/bin/env node
// Renders docs/dashboard/grafana-dashboard.json as Grafana would, without Grafana: a real local
// server (npm start, fault injection compiled in) under a bounded workload, a real Prometheus
// scraping it, each panel's PromQL run as a range query, the series drawn with uPlot in headless
// Chromium, and the page saved as docs/dashboard/dashboard.png.
//   node docs/dashboard/render.mjs [--seconds 90]
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromiumInstalled, launchChromium } from "../../scripts/chromium.mjs";
import { freePort, LocalServer, tempStateDir } from "../../scripts/local-server.mjs";
import { Prometheus } from "../../scripts/prometheus.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..", "..");
const secondsArg = process.argv.indexOf("--seconds");
/** How long the workload runs (bounded: the loops below stop then). */
const SECONDS = secondsArg >= 0 ? Number(process.argv[secondsArg + 1]) : 90;
/** One produce round every TICK_MS. */
const TICK_MS = 100;
const STEP_S = 2;

if (!chromiumInstalled()) throw new Error("chromium is not installed (apt-get install chromium)");
const dashboard = JSON.parse(readFileSync(join(HERE, "grafana-dashboard.json"), "utf8"));
const server = new LocalServer(tempStateDir(), { EDGELOG_FAULTS: "1" });
const prometheus = new Prometheus();
await server.start();
try {
  await prometheus.start(new URL(server.url).host);
  const startS = Math.floor(Date.now() / 1000);
  await workload();
  const endS = Math.floor(Date.now() / 1000);
  const panels = [];
  for (const panel of dashboard.panels) {
    const series = [];
    for (const target of panel.targets) {
      const expr = target.expr.replaceAll("$topic", ".*");
      for (const s of await prometheus.queryRange(expr, startS, endS, STEP_S))
        series.push({ label: legend(target.legendFormat, s.metric), values: s.values });
    }
    panels.push({
      title: panel.title,
      unit: panel.fieldConfig.defaults.unit,
      gridPos: panel.gridPos,
      series,
    });
  }
  await screenshot(panels, join(HERE, "dashboard.png"));
  console.log(
    `rendered ${panels.length} panels from ${endS - startS} s of data to docs/dashboard/dashboard.png`,
  );
} finally {
  await prometheus.stop();
  await server.stop("SIGKILL");
}

/** Grafana's legendFormat: {{label}} replaced by the series' label value. */
function legend(format, metric) {
  return format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name) => metric[name] ?? "");
}

async function call(method, path, body) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: res.status === 204 ? null : await res.json() };
}

/**
 * Orders (3 partitions, RF 3) at ~200 records/s with acks=all, clicks (2 partitions) at
 * ~100/s with acks=1; "billing" keeps up, "analytics" reads a quarter as fast (its lag
 * grows); a replica of orders/1 fails for the middle third (under-replicated); a few
 * requests name a topic that does not exist (errors by code).
 */
async function workload() {
  await call("POST", "/v1/topics", {
    name: "orders",
    partitions: 3,
    replicationFactor: 3,
    configs: { "min.insync.replicas": 2 },
  });
  await call("POST", "/v1/topics", { name: "clicks", partitions: 2, replicationFactor: 1 });
  const members = {};
  for (const [group, topics] of [
    ["billing", ["orders"]],
    ["analytics", ["orders"]],
    ["clickstream", ["clicks"]],
  ])
    members[group] = (
      await call("POST", `/v1/groups/${group}/members`, {
        topics,
        autoOffsetReset: "earliest",
        sessionTimeoutMs: 60_000,
      })
    ).body;
  const consume = async (group, maxRecords) => {
    const m = members[group];
    const polled = await call(
      "GET",
      `/v1/groups/${group}/members/${m.memberId}/records?maxRecords=${maxRecords}`,
    );
    const next = new Map();
    for (const r of polled.body.records ?? [])
      next.set(`${r.topic}/${r.partition}`, { topic: r.topic, partition: r.partition, offset: r.offset + 1 });
    if (next.size > 0)
      await call("POST", `/v1/groups/${group}/offsets`, {
        memberId: m.memberId,
        generation: m.generation,
        offsets: [...next.values()],
      });
    await call("POST", `/v1/groups/${group}/members/${m.memberId}/heartbeat`);
  };
  const started = Date.now();
  const endAt = started + SECONDS * 1000;
  let faulted = false;
  let healed = false;
  for (let tick = 0; Date.now() < endAt; tick++) {
    const elapsed = (Date.now() - started) / (SECONDS * 1000);
    if (!faulted && elapsed > 1 / 3) {
      faulted = true;
      await call("POST", "/v1/_faults", { topic: "orders", partition: 1, replica: 2, fault: "fail" });
    }
    if (!healed && elapsed > 2 / 3) {
      healed = true;
      await call("POST", "/v1/_faults", { topic: "orders", partition: 1, replica: 2, fault: "none" });
    }
    const wave = 1 + Math.sin(tick / 50);
    const orders = Array.from({ length: Math.round(10 * wave) + 5 }, (_, i) => ({
      key: `o${(tick * 31 + i) % 97}`,
      value: { tick, i },
    }));
    await Promise.all([
      call("POST", "/v1/topics/orders/records?acks=all", { records: orders }),
      call("POST", "/v1/topics/clicks/records?acks=1", {
        records: Array.from({ length: 10 }, (_, i) => ({ value: i })),
      }),
      tick % 25 === 0 ? call("POST", "/v1/topics/no-such-topic/records", { records: [{ value: 1 }] }) : null,
    ]);
    if (tick % 10 === 0) await Promise.all([consume("billing", 2_000), consume("clickstream", 2_000)]);
    if (tick % 10 === 5) await consume("analytics", 100);
    await new Promise((resolve) => setTimeout(resolve, TICK_MS));
  }
}

/** The panels drawn with uPlot on Grafana's 24-column grid, dark, at 1280 px. */
async function screenshot(panels, file) {
  const uplot = join(ROOT, "node_modules", "uplot", "dist");
  const page = `<!doctype html><html><head><meta charset="utf-8"><title>${dashboard.title}</title>
<link rel="stylesheet" href="/uPlot.min.css"><style>
body { margin: 0; background: #111217; color: #ccccdc; font: 13px system-ui, sans-serif; }
h1 { font-size: 16px; font-weight: 500; margin: 0; padding: 12px 16px; }
#grid { display: grid; grid-template-columns: repeat(24, 1fr); gap: 8px; padding: 0 8px 8px; }
.panel { background: #181b1f; border: 1px solid #2c3235; border-radius: 2px; padding: 6px 8px; }
.panel h2 { font-size: 13px; font-weight: 500; margin: 0 0 4px; }
.u-legend { font-size: 11px; color: #ccccdc; } .u-legend th { font-weight: 400; }
</style></head><body><h1>${dashboard.title}</h1><div id="grid"></div>
<script src="/uPlot.iife.min.js"></script><script>
const COLORS = ["#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2", "#b877d9", "#ff9830"];
for (const p of ${JSON.stringify(panels)}) {
  const el = document.createElement("div");
  el.className = "panel";
  el.style.gridColumn = (p.gridPos.x + 1) + " / span " + p.gridPos.w;
  el.innerHTML = "<h2>" + p.title + "</h2>";
  document.getElementById("grid").append(el);
  const times = [...new Set(p.series.flatMap((s) => s.values.map((v) => v[0])))].sort((a, b) => a - b);
  const data = [times, ...p.series.map((s) => { const m = new Map(s.values); return times.map((t) => m.has(t) && Number.isFinite(m.get(t)) ? m.get(t) : null); })];
  new uPlot({
    width: el.clientWidth - 16, height: 190,
    axes: [{ stroke: "#8e8e8e", grid: { stroke: "#2c3235" } }, { stroke: "#8e8e8e", grid: { stroke: "#2c3235" }, label: p.unit, size: 60 }],
    series: [{}, ...p.series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 1.5 }))],
  }, data, el);
}
</script></body></html>`;
  const files = {
    "/uPlot.min.css": ["text/css", join(uplot, "uPlot.min.css")],
    "/uPlot.iife.min.js": ["text/javascript", join(uplot, "uPlot.iife.min.js")],
  };
  const http = createServer((req, res) => {
    const file = files[req.url ?? ""];
    res.writeHead(200, { "content-type": file ? file[0] : "text/html" });
    res.end(file ? readFileSync(file[1]) : page);
  });
  const port = await freePort();
  await new Promise((resolve) => http.listen(port, "127.0.0.1", resolve));
  const browser = await launchChromium();
  try {
    const tab = await browser.newPage();
    await tab.setViewport({ width: 1280, height: 900 });
    await tab.goto(`http://127.0.0.1:${port}/`, { waitUntil: "load" });
    await tab.screenshot({ path: file, fullPage: true });
  } finally {
    await browser.close();
    http.close();
  }
}
