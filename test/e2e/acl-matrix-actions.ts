import { expect } from "vitest";
import { type Action, type Call, REFUSAL } from "./acl-matrix-cases";
import { type Answer, socket } from "./auth-client";

/** The actions of the matrix, run against the server `url()` with `admin()` to check that refusals change nothing. */
export function matrixActions({
  admin: adminOf,
  url,
  next,
}: {
  admin: () => Call;
  url: () => string;
  next: () => number;
}): Action[] {
  const admin: Call = (...args) => adminOf()(...args);
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

  return [
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
          configs: { "retention.ms": 1_000_000 + next() },
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
          const name = `${prefix}-${next()}`;
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
          const name = `${prefix}-${next()}`;
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
        const s = await socket(url(), token);
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
          const s = await socket(url(), token);
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
        const s = await socket(url(), token);
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
}
