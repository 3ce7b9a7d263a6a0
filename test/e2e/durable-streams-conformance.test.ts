import { runConformanceTests } from "@durable-streams/server-conformance-tests";
import { afterAll, beforeAll, describe } from "vitest";
import { LocalServer, tempStateDir } from "./server";

/**
 * The Durable Streams protocol's own conformance suite (@durable-streams/server-conformance-tests,
 * unmodified) against the server `npm start` runs, at /v1/stream/*. Its long-poll tests wait
 * for our long-poll timeout (core/limits.ts STREAM_LONG_POLL_MS) and allow that plus a second.
 */
describe("Durable Streams conformance (/v1/stream/*)", () => {
  const config = { baseUrl: "", longPollTimeoutMs: 10_000 };
  let server: LocalServer;

  beforeAll(async () => {
    server = new LocalServer(tempStateDir());
    await server.start();
    config.baseUrl = server.url;
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  });

  runConformanceTests(config);
});
