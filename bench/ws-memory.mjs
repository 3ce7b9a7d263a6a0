#!/usr/bin/env node
// Memory of the local server's processes while WebSockets open and close (issue 11's
// probe: memory after 200 closed sockets). Rounds of SOCKETS sockets (each opened,
// optionally subscribed to a tail, then closed), the RSS of every process of the
// server (wrangler's node, its proxy workerd and the Worker's workerd) after each.
//
//   node bench/ws-memory.mjs [--rounds 6] [--sockets 200] [--subscribe]
import { execSync } from "node:child_process";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { LocalServer, tempStateDir } from "../scripts/local-server.mjs";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "6" },
    sockets: { type: "string", default: "200" },
    subscribe: { type: "boolean", default: false },
  },
});
const ROUNDS = Math.min(20, Number(values.rounds));
const SOCKETS = Math.min(1_000, Number(values.sockets));
/** Time after the sockets closed before memory is read. */
const SETTLE_MS = 10_000;

const server = new LocalServer(tempStateDir());
await server.start();
const rss = () =>
  execSync(`ps -o rss=,comm= -g ${server.child?.pid}`)
    .toString()
    .trim()
    .split("\n")
    .map((line) => {
      const [kib, name] = line.trim().split(/\s+/);
      return `${name} ${Math.round(Number(kib) / 1024)} MiB`;
    })
    .join(", ");
await fetch(`${server.url}/v1/topics`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ name: "memory", partitions: 1, replicationFactor: 1 }),
});
console.log(`start: ${rss()}`);
for (let round = 0; round < ROUNDS; round++) {
  const sockets = await Promise.all(
    Array.from(
      { length: SOCKETS },
      () =>
        new Promise((resolve, reject) => {
          const ws = new WebSocket(`${server.url.replace("http", "ws")}/v1/ws`);
          ws.on("error", reject);
          ws.on("open", () => {
            if (!values.subscribe) return resolve(ws);
            ws.send(
              JSON.stringify({ op: "subscribe", id: 1, topic: "memory", partition: 0, offset: "earliest" }),
            );
          });
          ws.on("message", () => resolve(ws));
        }),
    ),
  );
  console.log(`round ${round}: ${SOCKETS} open: ${rss()}`);
  for (const ws of sockets) ws.close(1000);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  console.log(`round ${round}: closed, +${SETTLE_MS / 1000} s: ${rss()}`);
}
await server.stop();
