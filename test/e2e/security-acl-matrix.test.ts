import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { matrixActions } from "./acl-matrix-actions";
import { ALLOWED, type Call, LISTED, PRINCIPALS } from "./acl-matrix-cases";
import { client } from "./auth-client";
import { LocalServer, tempStateDir } from "./server";

/**
 * The ACL matrix (issue 12): principals × actions over HTTP and WebSocket, with
 * literal, prefixed and wildcard ACLs and denies over allows. The expected
 * outcome of every cell is written out below by hand (not computed by the code
 * under test); every refusal must be the resource's 403 and change nothing.
 */

const ADMIN = `matrix-admin-${Date.now()}`;

describe("ACL matrix: principals × actions, HTTP and WebSocket", () => {
  const server = new LocalServer(tempStateDir(), { EDGELOG_AUTH: "required", EDGELOG_ADMIN_TOKEN: ADMIN });
  let admin: Call;
  const tokens: Record<string, string> = {};
  let counter = 0;

  afterAll(() => server.stop("SIGKILL"));

  const ACTIONS = matrixActions({ admin: () => admin, url: () => server.url, next: () => ++counter });

  beforeAll(async () => {
    await server.start();
    admin = client(server.url, ADMIN);
    for (const t of ["orders", "payments", "team-a", "team-secret"]) {
      expect((await admin("POST", "/v1/topics", { name: t, replicationFactor: 1 })).status).toBe(201);
      expect(
        (await admin("POST", `/v1/topics/${t}/records?acks=1`, { records: [{ value: 0 }] })).status,
      ).toBe(200);
    }
    // A group with a member and a commit, for describe / offsets / reset / delete.
    const m = await admin("POST", "/v1/groups/app-shared/members", { topics: ["orders"] });
    expect(m.status).toBe(201);
    await admin("GET", `/v1/groups/app-shared/members/${m.body.memberId}/records`);
    expect(
      (
        await admin("POST", "/v1/groups/app-shared/offsets", {
          memberId: m.body.memberId,
          generation: m.body.generation,
          offsets: [{ topic: "orders", partition: 0, offset: 1 }],
        })
      ).status,
    ).toBe(200);
    for (const [principal, rules] of Object.entries(PRINCIPALS)) {
      const key = await admin("POST", `/v1/principals/${principal}/keys`);
      expect(key.status).toBe(201);
      tokens[principal] = key.body.token;
      for (const [resourceType, patternType, resourceName, operation, permission = "allow"] of rules)
        expect(
          (
            await admin("POST", "/v1/acls", {
              principal,
              resourceType,
              patternType,
              resourceName,
              operation,
              permission,
            })
          ).status,
        ).toBe(201);
    }
  });

  it("every principal succeeds exactly where its ACLs allow, and every refusal changes nothing", async () => {
    const wrong: string[] = [];
    let cells = 0;
    for (const principal of Object.keys(PRINCIPALS)) {
      const as = client(server.url, tokens[principal]!);
      for (const action of ACTIONS) {
        cells++;
        const expected = ALLOWED[principal]!.includes(action.name);
        const succeeded = await action.run(as, tokens[principal]!, principal);
        if (succeeded !== expected)
          wrong.push(`${principal} ${action.name}: ${succeeded ? "unauthorized success" : "wrong refusal"}`);
      }
    }
    console.log(
      `acl matrix: ${cells} cells, ${wrong.filter((w) => w.endsWith("success")).length} unauthorized successes, ${wrong.filter((w) => w.endsWith("refusal")).length} wrong refusals`,
    );
    expect(wrong).toEqual([]);
  });

  it("the admin may do everything", async () => {
    for (const action of ACTIONS) expect(await action.run(admin, ADMIN, "admin"), action.name).toBe(true);
  });

  it("GET /v1/topics lists only what each principal may describe", async () => {
    for (const [principal, expected] of Object.entries(LISTED)) {
      const listed = await client(server.url, tokens[principal]!)("GET", "/v1/topics");
      expect(listed.status).toBe(200);
      const names = listed.body.topics.map((t: any) => t.name).filter((n: string) => !/-\d+$/.test(n));
      expect(names.sort(), principal).toEqual(expected);
    }
  });

  it("a refusal never tells whether a topic exists", async () => {
    const nobody = client(server.url, tokens.nobody!);
    const pairs: [string, string, unknown?][] = [
      ["GET", "/v1/topics/%s"],
      ["PATCH", "/v1/topics/%s", { configs: { "retention.ms": 1000 } }],
      ["DELETE", "/v1/topics/%s"],
      ["POST", "/v1/topics/%s/records?acks=1", { records: [{ value: 1 }] }],
      ["GET", "/v1/topics/%s/partitions/0/records?offset=0"],
    ];
    for (const [method, path, body] of pairs) {
      const existing = await nobody(method, path.replace("%s", "payments"), body);
      const missing = await nobody(method, path.replace("%s", "paymentz"), body);
      expect([existing.status, missing.status]).toEqual([403, 403]);
      expect(existing.body.error.code).toBe(missing.body.error.code);
      expect(existing.body.error.message.replace("payments", "X")).toBe(
        missing.body.error.message.replace("paymentz", "X"),
      );
    }
  });
});
