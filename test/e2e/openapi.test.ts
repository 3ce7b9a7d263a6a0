import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type Answer, client, topicRule } from "./auth-client";
import { OpenApiCheck } from "./openapi-check";
import { LocalServer, tempStateDir } from "./server";

/**
 * /openapi.json against the server `npm start` runs (credentials on, so every security
 * route answers for real): the document passes an outside OpenAPI 3.1 validator, and
 * every documented operation is called — its real answers, good and refused, must have
 * a status the document lists and a body its schema accepts.
 */

const ADMIN = `openapi-admin-${Date.now()}`;

describe("the OpenAPI document against real answers", () => {
  let gateway: LocalServer;
  let admin: ReturnType<typeof client>;
  let check: OpenApiCheck;
  /** Calls a route and checks its answer against the document. */
  let call: (
    method: string,
    template: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => Promise<Answer>;

  beforeAll(async () => {
    gateway = new LocalServer(tempStateDir(), { EDGELOG_AUTH: "required", EDGELOG_ADMIN_TOKEN: ADMIN });
    await gateway.start();
    admin = client(gateway.url, ADMIN);
    const document = await (await fetch(`${gateway.url}/openapi.json`)).json();
    check = new OpenApiCheck(document);
    call = async (method, template, path, body, headers = {}) => {
      const answer = await admin(method, path, body, headers);
      check.check(method, template, answer);
      return answer;
    };
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop("SIGKILL");
  });

  it("passes an outside OpenAPI 3.1 validator and needs no credential", async () => {
    const res = await fetch(`${gateway.url}/openapi.json`);
    expect(res.status).toBe(200);
    const { valid, errors } = await OpenApiCheck.validate(await res.json());
    expect(errors).toBeUndefined();
    expect(valid).toBe(true);
  });

  it("matches the answers of topics, records and groups, refusals included", async () => {
    const topic = "/v1/topics/{topic}";
    const records = "/v1/topics/{topic}/records";
    const partition = "/v1/topics/{topic}/partitions/{partition}/records";
    expect(
      (await call("POST", "/v1/topics", "/v1/topics", { name: "oas", partitions: 2, replicationFactor: 3 }))
        .status,
    ).toBe(201);
    await call("POST", "/v1/topics", "/v1/topics", { name: "oas" }); // 409 TOPIC_ALREADY_EXISTS
    await call("POST", "/v1/topics", "/v1/topics", { name: "bad name" }); // 400
    await call("POST", "/v1/topics", "/v1/topics", { name: "x", partitions: 5000 }); // 400 INVALID_PARTITIONS
    await call("GET", "/v1/topics", "/v1/topics");
    await call("GET", topic, "/v1/topics/oas");
    await call("GET", topic, "/v1/topics/none"); // 404
    await call("PATCH", topic, "/v1/topics/oas", { configs: { "retention.ms": 3_600_000 } });
    await call("PATCH", topic, "/v1/topics/oas", { configs: { "retention.ms": "soon" } }); // 400
    const produced = await call("POST", records, "/v1/topics/oas/records?acks=1", {
      records: [
        { key: "a", value: { n: 1 }, headers: { h: "v" } },
        { valueBase64: "AAE=", partition: 1 },
      ],
    });
    expect(produced.status).toBe(200);
    expect(
      (await call("POST", records, "/v1/topics/oas/records?acks=0", { records: [{ value: 2 }] })).status,
    ).toBe(202);
    await call("POST", records, "/v1/topics/oas/records", { records: [] }); // 400
    await call("POST", records, "/v1/topics/oas/records?acks=2", { records: [{ value: 1 }] }); // 400
    await call("POST", records, "/v1/topics/none/records", { records: [{ value: 1 }] }); // 404
    await call("POST", partition, "/v1/topics/oas/partitions/0/records?expectedOffset=0", {
      records: [{ value: 3 }],
    });
    await call("POST", partition, "/v1/topics/oas/partitions/0/records?expectedOffset=0", {
      records: [{ value: 4 }],
    }); // 412
    await call("GET", partition, "/v1/topics/oas/partitions/0/records?offset=0");
    await call(
      "GET",
      partition,
      "/v1/topics/oas/partitions/1/records?offset=earliest&isolation=read_committed",
    );
    await call("GET", partition, "/v1/topics/oas/partitions/0/records?offset=999"); // 416
    await call("GET", partition, "/v1/topics/oas/partitions/0/records?maxRecords=0&offset=0"); // 400
    const event = { specversion: "1.0", id: "e1", source: "/oas", type: "oas.test", data: { n: 1 } };
    const events = await call("POST", "/v1/topics/{topic}/events", "/v1/topics/oas/events", undefined, {});
    expect(events.status).toBe(400); // no body: refused
    const structured = await fetch(`${gateway.url}/v1/topics/oas/events?acks=1`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/cloudevents+json" },
      body: JSON.stringify(event),
    });
    check.check("POST", "/v1/topics/{topic}/events", {
      status: structured.status,
      headers: structured.headers,
      body: await structured.json(),
    });
    expect(structured.status).toBe(200);

    const group = "/v1/groups/{group}";
    const members = "/v1/groups/{group}/members";
    const member = "/v1/groups/{group}/members/{memberId}";
    const joined = await call("POST", members, "/v1/groups/g/members", {
      topics: ["oas"],
      autoOffsetReset: "earliest",
    });
    expect(joined.status).toBe(201);
    await call("POST", members, "/v1/groups/g/members", { topics: [] }); // 400
    const id = joined.body.memberId;
    await call("POST", `${member}/heartbeat`, `/v1/groups/g/members/${id}/heartbeat`);
    await call("POST", `${member}/heartbeat`, "/v1/groups/g/members/nobody/heartbeat"); // 404
    await call("GET", `${member}/records`, `/v1/groups/g/members/${id}/records?maxRecords=10`);
    await call("POST", `${group}/offsets`, "/v1/groups/g/offsets", {
      memberId: id,
      generation: joined.body.generation,
      offsets: [{ topic: "oas", partition: 0, offset: 1 }],
    });
    await call("POST", `${group}/offsets`, "/v1/groups/g/offsets", {
      memberId: id,
      generation: joined.body.generation + 5,
      offsets: [{ topic: "oas", partition: 0, offset: 1 }],
    }); // 409 ILLEGAL_GENERATION
    await call("GET", `${group}/offsets`, "/v1/groups/g/offsets");
    await call("GET", "/v1/groups", "/v1/groups");
    expect((await call("GET", group, "/v1/groups/g")).body.members).toHaveLength(1);
    await call("POST", `${group}/offsets/reset`, "/v1/groups/g/offsets/reset", {
      topic: "oas",
      to: "earliest",
    }); // 409
    await call("DELETE", group, "/v1/groups/g"); // 409 NON_EMPTY_GROUP
    await call("DELETE", member, `/v1/groups/g/members/${id}`);
    await call("POST", `${group}/offsets/reset`, "/v1/groups/g/offsets/reset", {
      topic: "oas",
      to: { offset: 0 },
    });
    await call("DELETE", group, "/v1/groups/g");
    await call("GET", group, "/v1/groups/g"); // 404
    await admin("POST", "/v1/topics", { name: "oas-gone", replicationFactor: 1 });
    expect((await call("DELETE", topic, "/v1/topics/oas-gone")).status).toBe(204);
    await call("DELETE", topic, "/v1/topics/oas-gone"); // 404
  }, 60_000);

  it("matches the answers of producers, transactions and alerts", async () => {
    const plain = await call("POST", "/v1/producers", "/v1/producers");
    expect(plain.status).toBe(200);
    const txn = await call("POST", "/v1/producers", "/v1/producers", { transactionalId: "oas-tx" });
    await call("POST", "/v1/producers", "/v1/producers", { transactionTimeoutMs: 1000 }); // 400
    const producer = { id: txn.body.id, epoch: txn.body.epoch };
    await admin("POST", "/v1/topics", { name: "oas-tx", replicationFactor: 1 });
    await admin("POST", "/v1/topics/oas-tx/records", {
      records: [{ value: 1 }],
      producer: { ...producer, sequence: 0 },
      transactional: true,
    });
    const id = "/v1/transactions/{transactionalId}";
    const joined = await admin("POST", "/v1/groups/txg/members", { topics: ["oas-tx"] });
    await call("POST", `${id}/offsets`, "/v1/transactions/oas-tx/offsets", {
      producer,
      group: "txg",
      memberId: joined.body.memberId,
      generation: joined.body.generation,
      offsets: [{ topic: "oas-tx", partition: 0, offset: 1 }],
    });
    expect((await call("GET", id, "/v1/transactions/oas-tx")).body.state).toBe("Ongoing");
    expect((await call("POST", `${id}/commit`, "/v1/transactions/oas-tx/commit", { producer })).status).toBe(
      200,
    );
    await call("POST", `${id}/abort`, "/v1/transactions/oas-tx/abort", {
      producer: { ...producer, epoch: 9 },
    }); // 409
    await call("GET", id, "/v1/transactions/never"); // 404

    const webhook = { url: "http://127.0.0.1:9/hook", secret: "s" };
    const alert = "/v1/alerts/{name}";
    await call("PUT", alert, "/v1/alerts/lag", { kind: "consumerLag", group: "txg", maxLag: 5, webhook });
    await call("PUT", alert, "/v1/alerts/isr", { kind: "underReplicated", forMs: 0, webhook });
    await call("PUT", alert, "/v1/alerts/bad", { kind: "consumerLag", group: "txg", webhook }); // 400
    await call("GET", "/v1/alerts", "/v1/alerts");
    await call("GET", alert, "/v1/alerts/lag");
    await call("DELETE", alert, "/v1/alerts/lag");
    await call("GET", alert, "/v1/alerts/lag"); // 404
  }, 60_000);

  it("matches the answers of the security routes", async () => {
    const key = await call("POST", "/v1/principals/{principal}/keys", "/v1/principals/ana/keys");
    expect(key.status).toBe(201);
    await call("GET", "/v1/principals", "/v1/principals");
    const acl = { principal: "ana", ...topicRule("oas", "read") };
    expect((await call("POST", "/v1/acls", "/v1/acls", acl)).status).toBe(201);
    await call("POST", "/v1/acls", "/v1/acls", { ...acl, operation: "juggle" }); // 400
    await call("GET", "/v1/acls", "/v1/acls?principal=ana");
    await call("DELETE", "/v1/acls", "/v1/acls", { principal: "ana" });
    await call("POST", "/v1/tokens", "/v1/tokens", {
      principal: "ana",
      acls: [topicRule("oas", "read")],
      expiresInS: 60,
    });
    await call("PUT", "/v1/quotas/{principal}", "/v1/quotas/ana", { requestsPerS: 50 });
    await call("GET", "/v1/quotas", "/v1/quotas");
    await call("DELETE", "/v1/quotas/{principal}", "/v1/quotas/ana");
    await call(
      "DELETE",
      "/v1/principals/{principal}/keys/{keyId}",
      `/v1/principals/ana/keys/${key.body.keyId}`,
    );
    await call(
      "DELETE",
      "/v1/principals/{principal}/keys/{keyId}",
      `/v1/principals/ana/keys/${key.body.keyId}`,
    ); // 404
    // Without a credential: 401 with the envelope.
    const anonymous = await client(gateway.url, null)("GET", "/v1/topics");
    check.check("GET", "/v1/topics", anonymous);
    expect(anonymous.status).toBe(401);
  });

  it("matches the streaming, operations and page routes; every documented operation was called", async () => {
    const stream = "/v1/stream/{name}";
    const text = { "content-type": "text/plain" };
    const raw = async (method: string, path: string, body?: string, headers: Record<string, string> = {}) => {
      const res = await fetch(`${gateway.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN}`, ...headers },
        body,
      });
      const type = res.headers.get("content-type") ?? "";
      const answer = {
        status: res.status,
        headers: res.headers,
        body: type.startsWith("application/json") ? await res.json() : await res.text(),
      };
      return answer;
    };
    for (const [method, body, status] of [
      ["PUT", undefined, 201],
      ["POST", "hello", 204],
      ["GET", undefined, 200],
      ["HEAD", undefined, 200],
      ["DELETE", undefined, 204],
      ["GET", undefined, 404],
    ] as const) {
      const answer = await raw(method, "/v1/stream/oas/s1", body, text);
      check.check(method, stream, answer);
      expect(answer.status, `${method} ${stream}`).toBe(status);
    }
    const socket = new WebSocket(`${gateway.url.replace("http", "ws")}/v1/ws?access_token=${ADMIN}`);
    const upgraded = await new Promise<number>((resolve, reject) => {
      socket.once("upgrade", (res) => resolve(res.statusCode ?? 0));
      socket.once("error", reject);
    });
    socket.close();
    check.check("GET", "/v1/ws", { status: upgraded, headers: new Headers(), body: undefined });
    for (const path of [
      "/healthz",
      "/metrics",
      "/openapi.json",
      "/docs/",
      "/console/",
      "/console/config.json",
    ]) {
      const answer = await raw("GET", path);
      check.check("GET", path, answer);
      expect(answer.status, path).toBe(200);
    }
    expect(check.missing()).toEqual([]);
  });
});
