import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";

export { CHROMIUM, chromiumInstalled, launchChromium } from "../../scripts/chromium.mjs";

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
