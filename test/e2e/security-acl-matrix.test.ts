import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Answer, client, socket } from "./auth-client";
import { LocalServer, tempStateDir } from "./server";

/**
 * The ACL matrix (issue 12): principals × actions over HTTP and WebSocket, with
 * literal, prefixed and wildcard ACLs and denies over allows. The expected
 * outcome of every cell is written out below by hand (not computed by the code
 * under test); every refusal must be the resource's 403 and change nothing.
 */

const ADMIN = `matrix-admin-${Date.now()}`;

type Rule = [type: string, pattern: string, name: string, op: string, permission?: string];
const PRINCIPALS: Record<string, Rule[]> = {
  reader: [
    ["topic", "literal", "orders", "read"],
    ["group", "prefixed", "app-", "read"],
  ],
  teamer: [
    ["topic", "prefixed", "team-", "all"],
    ["topic", "literal", "team-secret", "write", "deny"],
    ["group", "literal", "team-g", "read"],
  ],
  creator: [
    ["cluster", "literal", "kafka-cluster", "create"],
    ["cluster", "literal", "kafka-cluster", "describe"],
  ],
  nobody: [],
  wild: [
    ["topic", "literal", "*", "describe"],
    ["topic", "literal", "payments", "describe", "deny"],
  ],
  txn: [
    ["transactionalId", "prefixed", "etl-", "write"],
    ["topic", "literal", "orders", "write"],
  ],
};

/** Per principal, the actions that must succeed; every other action must be refused. */
const ALLOWED: Record<string, string[]> = {
  reader: [
    "describe orders",
    "fetch orders",
    "join app-j [orders]",
    "describe group app-shared",
    "offsets group app-shared",
    "ws tail orders",
    "ws group app-w [orders]",
  ],
  teamer: [
    "produce team-a",
    "fetch team-a",
    "alter team-a",
    "create team-new",
    "delete team-del",
    "join team-g [team-a]",
    "init producer",
    "ws produce team-a",
  ],
  creator: ["create team-new", "create other-new", "metrics", "list acls", "list quotas", "list principals"],
  nobody: [],
  wild: ["describe orders"],
  txn: ["describe orders", "produce orders", "init producer", "init producer etl-1", "ws produce orders"],
};

/** The topics each principal sees in GET /v1/topics. */
const LISTED: Record<string, string[]> = {
  reader: ["orders"],
  teamer: ["team-a", "team-secret"],
  creator: [],
  nobody: [],
  wild: ["orders", "team-a", "team-secret"],
  txn: ["orders"],
};

const REFUSAL: Record<string, string> = {
  topic: "TOPIC_AUTHORIZATION_FAILED",
  group: "GROUP_AUTHORIZATION_FAILED",
  cluster: "CLUSTER_AUTHORIZATION_FAILED",
  transactionalId: "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
};

type Call = ReturnType<typeof client>;
/** One cell: runs the action as `as`, returns whether it succeeded; on a refusal, asserts nothing changed. */
type Action = {
  name: string;
  refusal: string;
  run: (as: Call, token: string, who: string) => Promise<boolean>;
};

describe("ACL matrix: principals × actions, HTTP and WebSocket", () => {
  const server = new LocalServer(tempStateDir(), { EDGELOG_AUTH: "required", EDGELOG_ADMIN_TOKEN: ADMIN });
  let admin: Call;
  const tokens: Record<string, string> = {};
  let counter = 0;

  afterAll(() => server.stop("SIGKILL"));

  const ok = (a: Answer, ...statuses: number[]) => statuses.includes(a.status);
  const leo = async (topic: string) =>
    (await admin("GET", `/v1/topics/${topic}`)).body.partitionInfo[0].logEndOffset as number;
  const members = async (group: string) => {
    const g = await admin("GET", `/v1/groups/${group}`);
    return g.status === 200 ? JSON.stringify(g.body.members) : String(g.status);
  };
  /** A refusal: the resource's 403 code, and `unchanged` holds afterwards. */
  const refused = async (a: Answer | any, code: string, unchanged?: () => Promise<void>) => {
    const error = a.status === undefined ? a.error : a.body.error;
    if (a.status !== undefined) expect(a.status).toBe(403);
    expect(error.code).toBe(code);
    await unchanged?.();
    return false;
  };

  const ACTIONS: Action[] = [
    ...["orders", "payments"].map(
      (t): Action => ({
        name: `describe ${t}`,
        refusal: "topic",
        run: async (as) => {
          const a = await as("GET", `/v1/topics/${t}`);
          return ok(a, 200) || refused(a, REFUSAL.topic!);
        },
      }),
    ),
    ...["orders", "team-a", "team-secret"].map(
      (t): Action => ({
        name: `produce ${t}`,
        refusal: "topic",
        run: async (as) => {
          const before = await leo(t);
          const a = await as("POST", `/v1/topics/${t}/records?acks=1`, { records: [{ value: "m" }] });
          if (ok(a, 200)) return true;
          return refused(a, REFUSAL.topic!, async () => expect(await leo(t)).toBe(before));
        },
      }),
    ),
    ...["orders", "team-a", "payments"].map(
      (t): Action => ({
        name: `fetch ${t}`,
        refusal: "topic",
        run: async (as) => {
          const a = await as("GET", `/v1/topics/${t}/partitions/0/records?offset=0`);
          return ok(a, 200) || refused(a, REFUSAL.topic!);
        },
      }),
    ),
    {
      name: "alter team-a",
      refusal: "topic",
      run: async (as) => {
        const before = (await admin("GET", "/v1/topics/team-a")).body.configs;
        const a = await as("PATCH", "/v1/topics/team-a", {
          configs: { "retention.ms": 1_000_000 + ++counter },
        });
        if (ok(a, 200)) return true;
        return refused(a, REFUSAL.topic!, async () =>
          expect((await admin("GET", "/v1/topics/team-a")).body.configs).toEqual(before),
        );
      },
    },
    ...["team-new", "other-new"].map(
      (prefix): Action => ({
        name: `create ${prefix}`,
        refusal: "topic",
        run: async (as) => {
          const name = `${prefix}-${++counter}`;
          const a = await as("POST", "/v1/topics", { name, replicationFactor: 1 });
          if (ok(a, 201)) return true;
          return refused(a, REFUSAL.topic!, async () =>
            expect((await admin("GET", `/v1/topics/${name}`)).status).toBe(404),
          );
        },
      }),
    ),
    ...["team-del", "x-del"].map(
      (prefix): Action => ({
        name: `delete ${prefix}`,
        refusal: "topic",
        run: async (as) => {
          const name = `${prefix}-${++counter}`;
          expect((await admin("POST", "/v1/topics", { name, replicationFactor: 1 })).status).toBe(201);
          const a = await as("DELETE", `/v1/topics/${name}`);
          if (ok(a, 204)) return true;
          return refused(a, REFUSAL.topic!, async () =>
            expect((await admin("GET", `/v1/topics/${name}`)).status).toBe(200),
          );
        },
      }),
    ),
    ...(
      [
        ["app-j", "orders"],
        ["app-j", "payments"],
        ["team-g", "team-a"],
      ] as const
    ).map(
      ([group, topic]): Action => ({
        name: `join ${group} [${topic}]`,
        refusal: "group or topic",
        run: async (as) => {
          const before = await members(group);
          const a = await as("POST", `/v1/groups/${group}/members`, { topics: [topic] });
          if (ok(a, 201)) {
            // A member that may poll gets records of the topic (the group checks its rights too).
            const polled = await as("GET", `/v1/groups/${group}/members/${a.body.memberId}/records`);
            expect(polled.status).toBe(200);
            expect((await as("DELETE", `/v1/groups/${group}/members/${a.body.memberId}`)).status).toBe(204);
            return true;
          }
          expect(a.status).toBe(403);
          expect([REFUSAL.group, REFUSAL.topic]).toContain(a.body.error.code);
          expect(await members(group)).toBe(before);
          return false;
        },
      }),
    ),
    {
      name: "describe group app-shared",
      refusal: "group",
      run: async (as) => {
        const a = await as("GET", "/v1/groups/app-shared");
        return ok(a, 200) || refused(a, REFUSAL.group!);
      },
    },
    {
      name: "offsets group app-shared",
      refusal: "group",
      run: async (as) => {
        const a = await as("GET", "/v1/groups/app-shared/offsets");
        return ok(a, 200) || refused(a, REFUSAL.group!);
      },
    },
    {
      name: "reset group app-shared",
      refusal: "group",
      run: async (as) => {
        const before = (await admin("GET", "/v1/groups/app-shared/offsets")).body;
        const a = await as("POST", "/v1/groups/app-shared/offsets/reset", {
          topic: "orders",
          to: "earliest",
        });
        if (a.status !== 403) return true; // (the group is not Empty: a 409 is a decision past authorization)
        return refused(a, REFUSAL.group!, async () =>
          expect((await admin("GET", "/v1/groups/app-shared/offsets")).body).toEqual(before),
        );
      },
    },
    {
      name: "delete group app-shared",
      refusal: "group",
      run: async (as) => {
        const a = await as("DELETE", "/v1/groups/app-shared");
        if (a.status !== 403) return true;
        return refused(a, REFUSAL.group!, async () =>
          expect((await admin("GET", "/v1/groups/app-shared")).status).toBe(200),
        );
      },
    },
    {
      name: "init producer",
      refusal: "topic",
      run: async (as) => {
        const a = await as("POST", "/v1/producers");
        return ok(a, 200) || refused(a, REFUSAL.topic!);
      },
    },
    {
      name: "init producer etl-1",
      refusal: "transactionalId",
      run: async (as) => {
        const a = await as("POST", "/v1/producers", { transactionalId: "etl-1" });
        return ok(a, 200) || refused(a, REFUSAL.transactionalId!);
      },
    },
    {
      name: "metrics",
      refusal: "cluster",
      run: async (as) => {
        const a = await as("GET", "/metrics");
        return ok(a, 200) || refused(a, REFUSAL.cluster!);
      },
    },
    ...["acls", "quotas", "principals"].map(
      (what): Action => ({
        name: `list ${what}`,
        refusal: "cluster",
        run: async (as) => {
          const a = await as("GET", `/v1/${what}`);
          return ok(a, 200) || refused(a, REFUSAL.cluster!);
        },
      }),
    ),
    {
      name: "add acl",
      refusal: "cluster",
      run: async (as, _token, who) => {
        const before = (await admin("GET", "/v1/acls")).body;
        const a = await as("POST", "/v1/acls", {
          principal: who,
          resourceType: "cluster",
          patternType: "literal",
          resourceName: "kafka-cluster",
          operation: "alter",
          permission: "allow",
        });
        if (ok(a, 201)) return true;
        return refused(a, REFUSAL.cluster!, async () =>
          expect((await admin("GET", "/v1/acls")).body).toEqual(before),
        );
      },
    },
    {
      name: "add key",
      refusal: "cluster",
      run: async (as) => {
        const before = (await admin("GET", "/v1/principals")).body;
        const a = await as("POST", "/v1/principals/mallory/keys");
        if (ok(a, 201)) return true;
        return refused(a, REFUSAL.cluster!, async () =>
          expect((await admin("GET", "/v1/principals")).body).toEqual(before),
        );
      },
    },
    {
      name: "set quota",
      refusal: "cluster",
      run: async (as, _token, who) => {
        const before = (await admin("GET", "/v1/quotas")).body;
        const a = await as("PUT", `/v1/quotas/${who}`, { requestsPerS: 1_000_000 });
        if (ok(a, 200)) return true;
        return refused(a, REFUSAL.cluster!, async () =>
          expect((await admin("GET", "/v1/quotas")).body).toEqual(before),
        );
      },
    },
    // ---- WebSocket frames, one by one ----
    {
      name: "ws tail orders",
      refusal: "topic",
      run: async (_as, token) => {
        const s = await socket(server.url, token);
        try {
          const f = await s.request({
            op: "subscribe",
            id: 1,
            topic: "orders",
            partition: 0,
            offset: "earliest",
          });
          if (f.op === "subscribed") {
            expect((await s.next((r) => r.op === "records")).records.length).toBeGreaterThan(0);
            return true;
          }
          return refused(f, REFUSAL.topic!);
        } finally {
          s.close();
        }
      },
    },
    ...["orders", "team-a"].map(
      (t): Action => ({
        name: `ws produce ${t}`,
        refusal: "topic",
        run: async (_as, token) => {
          const s = await socket(server.url, token);
          try {
            const before = await leo(t);
            const f = await s.request({
              op: "produce",
              id: 2,
              topic: t,
              acks: "1",
              records: [{ value: "ws" }],
            });
            if (f.op === "produced") {
              expect(f.status).toBe(200);
              return true;
            }
            return refused(f, REFUSAL.topic!, async () => expect(await leo(t)).toBe(before));
          } finally {
            s.close();
          }
        },
      }),
    ),
    {
      name: "ws group app-w [orders]",
      refusal: "group",
      run: async (_as, token) => {
        const s = await socket(server.url, token);
        try {
          const before = await members("app-w");
          const f = await s.request({
            op: "subscribe",
            id: 3,
            group: "app-w",
            topics: ["orders"],
            autoOffsetReset: "earliest",
          });
          if (f.op === "assigned") {
            expect((await s.next((r) => r.op === "records")).records.length).toBeGreaterThan(0);
            return true;
          }
          expect([REFUSAL.group, REFUSAL.topic]).toContain(f.error.code);
          expect(await members("app-w")).toBe(before);
          return false;
        } finally {
          s.close();
        }
      },
    },
  ];

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
