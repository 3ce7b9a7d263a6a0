import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { expect } from "vitest";
import { chromiumInstalled } from "../../scripts/chromium.mjs";
import { freePort } from "../../scripts/local-server.mjs";
import { client, topicRule } from "./auth-client";
import { LocalServer, tempStateDir } from "./server";

export { CHROMIUM, chromiumInstalled, launchChromium } from "../../scripts/chromium.mjs";

import { CHROMIUM } from "../../scripts/chromium.mjs";

/**
 * A page server on 127.0.0.1:`port`: an empty page at `/`, and `files` (URL path →
 * file on disk, served as JavaScript) for pages that import modules.
 */
export function pageServer(port: number, files: Record<string, string> = {}): Promise<Server> {
  const server = createServer((req, res) => {
    const file = files[req.url ?? ""];
    if (file) {
      res.writeHead(200, { "content-type": "text/javascript" });
      res.end(readFileSync(file));
      return;
    }
    res.writeHead(200, { "content-type": "text/html" });
    res.end("<!doctype html><title>edgelog page</title><p>page</p>");
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

/**
 * A page on 127.0.0.1 (another origin, `http://localhost:<port>`) and a gateway as
 * `npm start` runs it with credentials required, allowing that origin; the admin's
 * client creates `topic` and mints a token for `principal` to read and write it.
 */
export async function pageWithSecuredGateway(topic: string, principal: string) {
  expect(chromiumInstalled(), `${CHROMIUM} (apt-get install chromium; .ci/run does)`).toBe(true);
  const pagePort = await freePort();
  const page = await pageServer(pagePort);
  const adminToken = `${principal}-admin-${Date.now()}`;
  const gateway = new LocalServer(tempStateDir(), {
    EDGELOG_AUTH: "required",
    EDGELOG_ADMIN_TOKEN: adminToken,
    EDGELOG_CORS_ORIGINS: `http://localhost:${pagePort}`,
  });
  await gateway.start();
  const admin = client(gateway.url, adminToken);
  expect((await admin("POST", "/v1/topics", { name: topic, replicationFactor: 1 })).status).toBe(201);
  // A token for the page: what a backend would mint for it.
  const minted = await admin("POST", "/v1/tokens", {
    principal,
    acls: [topicRule(topic, "read"), topicRule(topic, "write")],
    expiresInS: 600,
  });
  expect(minted.status).toBe(201);
  return { page, pagePort, gateway, admin, token: minted.body.token as string };
}
