// Debian's chromium (apt-get install chromium; .ci/run does), driven by puppeteer-core (which
// downloads no browser of its own): the e2e browser tests and docs/dashboard/render.mjs.
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer from "puppeteer-core";

export const CHROMIUM = "/usr/bin/chromium";

export function chromiumInstalled() {
  return existsSync(CHROMIUM);
}

/** Headless Chromium with the flags this machine's closed network needs (no background traffic). */
export function launchChromium() {
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
