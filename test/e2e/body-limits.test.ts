import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalServer, tempStateDir } from "./server";

/** An answer the gateway owes at once; past this the request was held open (the defect). */
const ANSWER_WITHIN_MS = 10_000;

/**
 * Sends raw HTTP/1.1 bytes and resolves with the status line and body of the answer
 * (or "no answer" after ANSWER_WITHIN_MS); `body` is written only after `writeBodyAfterMs`.
 */
function raw(
  url: string,
  head: string,
  body = "",
  writeBodyAfterMs = 0,
): Promise<{ status: string; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let data = "";
    const done = (status: string, text: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ status, text });
    };
    const timer = setTimeout(() => done("no answer", data), ANSWER_WITHIN_MS);
    socket.on("data", (chunk) => {
      data += chunk.toString();
      const end = data.indexOf("\r\n\r\n");
      if (end >= 0 && data.includes("}", end)) done(data.slice(0, data.indexOf("\r\n")), data.slice(end + 4));
    });
    socket.on("error", () => done("connection error", data));
    socket.write(head.replaceAll("\n", "\r\n"));
    if (body) setTimeout(() => socket.write(body), writeBodyAfterMs);
  });
}

describe("request bodies over the limit are refused early (hostile probe, issue 11)", () => {
  const server = new LocalServer(tempStateDir());
  beforeAll(async () => {
    await server.start();
    expect(
      (await server.request("POST", "/v1/topics", { name: "limits", replicationFactor: 1 })).status,
    ).toBe(201);
  });
  afterAll(() => server.stop());

  it("a headers-only request declaring a huge content-length gets 413 at once, not held open", async () => {
    const answer = await raw(
      server.url,
      "POST /v1/topics/limits/records HTTP/1.1\nhost: localhost\ncontent-type: application/json\ncontent-length: 1000000000\n\n",
    );
    expect(answer.status).toContain("413");
    expect(JSON.parse(answer.text).error.code).toBe("MESSAGE_TOO_LARGE");
  });

  it("after a 413 for an oversized chunked body, the next request is answered", async () => {
    const chunk = "x".repeat(64 * 1024);
    const chunks = Array.from({ length: 20 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join("");
    const refused = await raw(
      server.url,
      "POST /v1/topics/limits/records HTTP/1.1\nhost: localhost\ncontent-type: application/json\ntransfer-encoding: chunked\n\n",
      `${chunks}0\r\n\r\n`,
    );
    expect(refused.status).toContain("413");
    expect(JSON.parse(refused.text).error.code).toBe("MESSAGE_TOO_LARGE");
    for (let i = 0; i < 3; i++) {
      const next = await raw(server.url, "GET /healthz HTTP/1.1\nhost: localhost\nconnection: close\n\n");
      expect(next.status).toContain("200");
    }
  });

  it("an Expect: 100-continue upload over the limit gets 413 (not 503, not a hang); the server goes on", async () => {
    const answer = await raw(
      server.url,
      "POST /v1/topics/limits/records HTTP/1.1\nhost: localhost\ncontent-type: application/json\ncontent-length: 2000000\nexpect: 100-continue\n\n",
    );
    expect(answer.status).toContain("413");
    expect(JSON.parse(answer.text).error.code).toBe("MESSAGE_TOO_LARGE");
    const small = '{"records":[{"value":"after"}]}';
    const ok = await raw(
      server.url,
      `POST /v1/topics/limits/records?acks=1 HTTP/1.1\nhost: localhost\ncontent-type: application/json\ncontent-length: ${small.length}\nexpect: 100-continue\nconnection: close\n\n`,
      small,
      50,
    );
    expect(ok.status).toContain("200");
    expect(JSON.parse(ok.text).results[0].offset).toBe(0); // the refused uploads appended nothing
  });
});
