// The peers edgelog is compared with, installed from Debian's packages when missing and
// started on free loopback ports by the benchmark itself, stopped (and their data removed)
// afterwards. A peer that cannot be installed or started is skipped with a clear reason.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../scripts/local-server.mjs";

/** apt-get update + install can take a while on a fresh machine; bounded all the same. */
const INSTALL_TIMEOUT_MS = 180_000;
const START_TIMEOUT_MS = 15_000;
/** Peer processes alive now: killed by stopAllPeers() if the benchmark dies. */
const running = new Set();

/** Kills every peer server at once (for an uncaught error or a signal: no peer outlives the benchmark). */
export function stopAllPeers() {
  for (const child of running) child.kill("SIGKILL");
}

function which(binary) {
  for (const dir of ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"]) {
    try {
      execFileSync("test", ["-x", join(dir, binary)]);
      return join(dir, binary);
    } catch {}
  }
  return null;
}

/** The binary's path, installing its Debian package first if needed; throws with the reason if impossible. */
function ensureInstalled(binary, aptPackage) {
  const found = which(binary);
  if (found) return found;
  const apt = (args) =>
    execFileSync("apt-get", args, {
      stdio: "ignore",
      timeout: INSTALL_TIMEOUT_MS,
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  try {
    console.error(`installing ${aptPackage} (Debian package) for the side-by-side benchmark…`);
    try {
      apt(["install", "-y", "--no-install-recommends", aptPackage]);
    } catch {
      apt(["update", "-qq"]);
      apt(["install", "-y", "--no-install-recommends", aptPackage]);
    }
  } catch (error) {
    throw new Error(`could not install ${aptPackage} with apt-get (${error.message.split("\n")[0]})`);
  }
  const installed = which(binary);
  if (!installed) throw new Error(`${aptPackage} installed but ${binary} not found`);
  return installed;
}

function waitForPort(port, child, name) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) return reject(new Error(`${name} exited with ${child.exitCode}`));
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve();
      });
      socket.once("error", () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`${name} did not listen on ${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/** A server process of a peer, with its data directory; `stop()` ends both. */
async function startServer(name, binary, argsFor) {
  const dir = mkdtempSync(join(tmpdir(), `edgelog-bench-${name}-`));
  const port = await freePort();
  const child = spawn(binary, argsFor(port, dir), { stdio: "ignore" });
  running.add(child);
  child.once("exit", () => running.delete(child));
  try {
    await waitForPort(port, child, name);
  } catch (error) {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3_000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Redis with an append-only file: `always` fsyncs before answering a write, `everysec` once a second. */
export async function startRedis(appendfsync) {
  const binary = ensureInstalled("redis-server", "redis-server");
  return startServer(`redis-${appendfsync}`, binary, (port, dir) => [
    "--bind",
    "127.0.0.1",
    "--port",
    String(port),
    "--dir",
    dir,
    "--appendonly",
    "yes",
    "--appendfsync",
    appendfsync,
    "--save",
    "",
    "--protected-mode",
    "yes",
  ]);
}

/** NATS with JetStream on file storage (this version syncs to disk periodically, not per message). */
export async function startNats() {
  const binary = ensureInstalled("nats-server", "nats-server");
  return startServer("nats", binary, (port, dir) => [
    "-js",
    "-a",
    "127.0.0.1",
    "-p",
    String(port),
    "-sd",
    dir,
  ]);
}
