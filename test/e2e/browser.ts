import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser } from "puppeteer-core";

/** Debian's chromium (apt-get install chromium; .ci/run does), driven by puppeteer-core. */
export const CHROMIUM = "/usr/bin/chromium";

export function chromiumInstalled(): boolean {
  return existsSync(CHROMIUM);
}

/** Headless Chromium with the flags this machine's closed network needs (no background traffic). */
export function launchChromium(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: mkdtempSync(join(tmpdir(), "edgelog-chromium-")),
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

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
