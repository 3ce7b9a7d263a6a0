import fc from "fast-check";

/**
 * The generated bad input's cases (test/e2e/bad-input-property.test.ts): every
 * endpoint with a valid request and the ways to break it, and the fast-check
 * arbitraries that break one part of it at a time.
 */

export type Malformed = { method: string; path: string; body?: string; headers?: Record<string, string> };
export type Endpoint = {
  name: string;
  method: string;
  /** The path of a valid request. */
  path: string;
  /** Query parameters of a valid request, and bad values for each. */
  query?: Record<string, string[]>;
  /** A valid body; mutations break one part of it (never sent as is when it would change state). */
  body?: Record<string, unknown>;
  /** Bad values per body field. */
  badFields?: Record<string, unknown[]>;
  /** Fields that must be present. */
  required?: string[];
  /** Path variants that are illegal (bad names, bad numbers). */
  badPaths?: string[];
};

export const JSON_HEADERS = { "content-type": "application/json" };
export const notJson = fc.constantFrom(
  '{"',
  "[",
  "nope",
  '{"a":}',
  "{'a':1}",
  "\u0000",
  '{"records": [',
  "tru",
  "1 2",
);
export const notObject = fc.oneof(
  fc.integer(),
  fc.string(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
);
const wrongType = fc.constantFrom(
  "text/plain",
  "application/xml",
  "application/jsonx",
  "multipart/form-data",
);
const unknownName = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,15}$/).map((s) => `zz${s}`);

export function malformed(e: Endpoint): fc.Arbitrary<Malformed> {
  const options: fc.Arbitrary<Malformed>[] = [];
  const validQuery = Object.fromEntries(Object.entries(e.query ?? {}).map(([k, v]) => [k, v[0]!]));
  const withQuery = (q: Record<string, string>) => {
    const text = new URLSearchParams(q).toString();
    return text ? `${e.path}?${text}` : e.path;
  };
  const base = { method: e.method, path: withQuery(validQuery) };
  const bodyText = e.body ? JSON.stringify(e.body) : undefined;
  const sameBody = bodyText ? { body: bodyText, headers: JSON_HEADERS } : {};
  // Query: an unknown parameter, a repeated one, or a bad value for a known one.
  options.push(
    unknownName.map((name) => ({ ...base, ...sameBody, path: withQuery({ ...validQuery, [name]: "1" }) })),
  );
  const queryBad = Object.entries(e.query ?? {}).flatMap(([k, values]) => values.slice(1).map((v) => [k, v]));
  if (queryBad.length > 0)
    options.push(
      fc
        .constantFrom(...queryBad)
        .map(([k, v]) => ({ ...base, ...sameBody, path: withQuery({ ...validQuery, [k!]: v! }) })),
    );
  if (Object.keys(validQuery).length > 0) {
    const [k, v] = Object.entries(validQuery)[0]!;
    options.push(fc.constant({ ...base, ...sameBody, path: `${base.path}&${k}=${encodeURIComponent(v)}` }));
  }
  if (e.badPaths?.length)
    options.push(fc.constantFrom(...e.badPaths).map((path) => ({ ...base, ...sameBody, path })));
  if (e.body) {
    const body = e.body;
    options.push(notJson.map((text) => ({ ...base, body: text, headers: JSON_HEADERS })));
    options.push(notObject.map((v) => ({ ...base, body: JSON.stringify(v), headers: JSON_HEADERS })));
    options.push(wrongType.map((type) => ({ ...base, body: bodyText, headers: { "content-type": type } })));
    options.push(
      fc.tuple(unknownName, fc.jsonValue({ maxDepth: 1 })).map(([name, value]) => ({
        ...base,
        body: JSON.stringify({ ...body, [name]: value }),
        headers: JSON_HEADERS,
      })),
    );
    const bad = Object.entries(e.badFields ?? {}).flatMap(([k, values]) =>
      values.map((v) => [k, v] as const),
    );
    if (bad.length > 0)
      options.push(
        fc
          .constantFrom(...bad)
          .map(([k, v]) => ({ ...base, body: JSON.stringify({ ...body, [k]: v }), headers: JSON_HEADERS })),
      );
    if (e.required?.length)
      options.push(
        fc.constantFrom(...e.required).map((k) => {
          const { [k]: _dropped, ...rest } = body;
          return { ...base, body: JSON.stringify(rest), headers: JSON_HEADERS };
        }),
      );
  }
  return fc.oneof(...options);
}

/** Every endpoint, its valid request against these resources, and its bad variants. */
export function badInputEndpoints({
  topic,
  group,
  member,
  generation,
}: {
  topic: string;
  group: string;
  member: string;
  generation: number;
}): Endpoint[] {
  const badNames = ["a%20b", "x".repeat(300), "a$b", "%C3%A9t%C3%A9", "a%2Fb"];
  const memberPath = `/v1/groups/${group}/members/${member}`;
  return [
    {
      name: "create topic",
      method: "POST",
      path: "/v1/topics",
      body: { name: `bp-never-${Date.now().toString(36)}`, partitions: 1, replicationFactor: 1 },
      required: ["name"],
      badFields: {
        name: ["", ".", "..", "a b", "x".repeat(250), 5, null, ["x"]],
        partitions: [0, -1, 1025, 1.5, "1", null, 1e300],
        replicationFactor: [0, 6, "x", 2.5, -1],
        configs: ["x", [], { "unknown.config": 1 }, { "retention.ms": "x" }, { "min.insync.replicas": 2 }],
      },
    },
    { name: "list topics", method: "GET", path: "/v1/topics" },
    {
      name: "describe topic",
      method: "GET",
      path: `/v1/topics/${topic}`,
      badPaths: badNames.map((n) => `/v1/topics/${n}`),
    },
    {
      name: "alter configs",
      method: "PATCH",
      path: `/v1/topics/${topic}`,
      body: { configs: { "retention.ms": 1000 } },
      required: ["configs"],
      badFields: {
        configs: [
          "x",
          [],
          5,
          { nope: 1 },
          { "retention.ms": -5 },
          { "retention.ms": "1000" },
          { "max.message.bytes": 0 },
          { "cleanup.policy": "bogus" },
          { "min.insync.replicas": 9 },
        ],
      },
      badPaths: badNames.map((n) => `/v1/topics/${n}`),
    },
    {
      name: "delete topic",
      method: "DELETE",
      path: `/v1/topics/${topic}`,
      badPaths: badNames.map((n) => `/v1/topics/${n}`),
    },
    {
      name: "produce",
      method: "POST",
      path: `/v1/topics/${topic}/records`,
      query: { acks: ["1", "2", "x", "", "01", "all2", "-2"] },
      body: { records: [{ value: 1, partition: 0 }] },
      required: ["records"],
      badFields: {
        records: [
          [],
          "x",
          [{}],
          [5],
          [{ value: 1, partition: -1 }],
          [{ value: 1, partition: 1.5 }],
          [{ value: 1, valueBase64: "AA==" }],
          [{ valueBase64: "!!!" }],
          [{ value: 1, headers: { a: 1 } }],
          [{ value: 1, headers: "x" }],
          [{ value: 1, timestamp: "x" }],
          [{ value: 1, timestamp: -1 }],
          [{ key: 5, value: 1 }],
          [{ value: 1, extra: 1 }],
          [{ value: "x".repeat(1_100_000) }],
        ],
        producer: ["x", 5, { id: 5, epoch: 0, sequence: 0 }, { id: "a".repeat(64), epoch: -1, sequence: 0 }],
      },
      badPaths: badNames.map((n) => `/v1/topics/${n}/records`),
    },
    {
      name: "fetch",
      method: "GET",
      path: `/v1/topics/${topic}/partitions/0/records`,
      query: {
        offset: ["0", "-1", "x", "1e3", "+1", "0x10", "", "1.5", "99"],
        maxRecords: ["10", "0", "10001", "x", "-5"],
        maxBytes: ["1000", "0", "99999999999", "x"],
        waitMs: ["0", "-1", "30001", "x"],
        format: ["json", "xml", "", "CloudEvents"],
      },
      badPaths: ["x", "-1", "99", "1.5", "01x"].map(
        (p) => `/v1/topics/${topic}/partitions/${p}/records?offset=0`,
      ),
    },
    {
      name: "join group",
      method: "POST",
      path: `/v1/groups/${group}/members`,
      body: { topics: [topic], sessionTimeoutMs: 300_000 },
      required: ["topics"],
      badFields: {
        topics: [
          [],
          "x",
          [5],
          ["bad name"],
          Array.from({ length: 101 }, (_, i) => `t${i}`),
          [topic, topic, 7],
        ],
        sessionTimeoutMs: [999, 300_001, "x", 1.5, -1],
        autoOffsetReset: ["middle", 5, ""],
        assignor: ["random", 5],
        instanceId: ["", "a b", 5, "x".repeat(301)],
      },
      badPaths: badNames.map((n) => `/v1/groups/${n}/members`),
    },
    {
      name: "heartbeat",
      method: "POST",
      path: `${memberPath}/heartbeat`,
      body: {},
      badPaths: badNames.map((n) => `/v1/groups/${group}/members/${n}/heartbeat`),
    },
    {
      name: "poll",
      method: "GET",
      path: `${memberPath}/records`,
      query: {
        maxRecords: ["10", "0", "10001", "x"],
        maxBytes: ["100", "0", "x"],
        waitMs: ["0", "-1", "30001"],
      },
      badPaths: badNames.map((n) => `/v1/groups/${group}/members/${n}/records`),
    },
    {
      name: "commit",
      method: "POST",
      path: `/v1/groups/${group}/offsets`,
      body: { memberId: member, generation, offsets: [{ topic, partition: 0, offset: 1 }] },
      required: ["memberId", "generation", "offsets"],
      badFields: {
        memberId: [5, "", "a b", null],
        generation: [-1, "x", 1.5, null],
        offsets: [
          "x",
          [],
          [{ topic, partition: 0 }],
          [{ topic, partition: 0, offset: -1 }],
          [{ topic, partition: "x", offset: 0 }],
          [{ topic: "bad name", partition: 0, offset: 0 }],
          [{ topic, partition: 0, offset: 1e20 }],
          [{ topic, partition: 0, offset: 2 }],
          [{ topic, partition: 9, offset: 0 }],
          [{ topic, partition: 0, offset: 1, extra: 1 }],
        ],
      },
      badPaths: badNames.map((n) => `/v1/groups/${n}/offsets`),
    },
    { name: "list offsets", method: "GET", path: `/v1/groups/${group}/offsets` },
    {
      name: "reset offsets",
      method: "POST",
      path: `/v1/groups/${group}/offsets/reset`,
      body: { topic, to: "earliest" },
      required: ["topic", "to"],
      badFields: { to: ["middle", { offset: -1 }, { timestamp: "x" }, 5, {}], topic: [5, "bad name", ""] },
    },
    {
      name: "leave",
      method: "DELETE",
      path: memberPath,
      badPaths: badNames.map((n) => `/v1/groups/${group}/members/${n}`),
    },
    {
      name: "delete group",
      method: "DELETE",
      path: `/v1/groups/${group}`,
      badPaths: badNames.map((n) => `/v1/groups/${n}`),
    },
    { name: "list groups", method: "GET", path: "/v1/groups" },
    {
      name: "describe group",
      method: "GET",
      path: `/v1/groups/${group}`,
      badPaths: badNames.map((n) => `/v1/groups/${n}`),
    },
    {
      name: "init producer",
      method: "POST",
      path: "/v1/producers",
      body: { transactionalId: "bp" },
      badFields: { transactionalId: [5, "", [], {}, "x".repeat(300)] },
    },
    // ---- security (issue 12); the open gateway manages them too ----
    {
      name: "add acl",
      method: "POST",
      path: "/v1/acls",
      body: {
        principal: "bp-user",
        resourceType: "topic",
        patternType: "literal",
        resourceName: "bp-t",
        operation: "read",
        permission: "allow",
      },
      required: ["principal", "resourceType", "patternType", "resourceName", "operation", "permission"],
      badFields: {
        principal: ["", "a b", "x".repeat(129), 5, null, "..", "é"],
        resourceType: ["table", "Topic", 5, null],
        patternType: ["regex", "", 1],
        resourceName: ["", "x".repeat(250), 5, []],
        operation: ["READ", "idempotentWrite", "", 0],
        permission: ["maybe", true, null],
      },
    },
    {
      name: "list acls",
      method: "GET",
      path: "/v1/acls",
      query: {
        principal: ["bp-user", "", "a b", "x".repeat(129)],
        resourceType: ["topic", "table", ""],
        operation: ["read", "READ"],
      },
    },
    {
      name: "delete acls",
      method: "DELETE",
      path: "/v1/acls",
      body: { principal: "bp-nobody" },
      badFields: { principal: ["", 5, "a b"], permission: ["maybe"], resourceType: [{}] },
    },
    {
      name: "add api key",
      method: "POST",
      path: "/v1/principals/bp-user/keys",
      body: {},
      badPaths: [...badNames, "admin", "a:b"].map((n) => `/v1/principals/${n}/keys`),
    },
    {
      name: "delete api key",
      method: "DELETE",
      path: "/v1/principals/bp-user/keys/0000000000000000",
      badPaths: [
        ...badNames.map((n) => `/v1/principals/${n}/keys/0000000000000000`),
        "/v1/principals/bp-user/keys/nope",
      ],
    },
    {
      name: "set quota",
      method: "PUT",
      path: "/v1/quotas/bp-user",
      body: { requestsPerS: 10, produceBytesPerS: 1000 },
      badFields: {
        requestsPerS: [0, -1, 1.5, "10", 2 ** 41, [], {}],
        produceBytesPerS: [0, "x", true],
        fetchBytesPerS: [-5, 1e300],
      },
      badPaths: badNames.map((n) => `/v1/quotas/${n}`),
    },
    {
      name: "list principals and quotas",
      method: "GET",
      path: "/v1/principals",
      badPaths: ["/v1/quotas?x=1"],
    },
    {
      name: "put alert",
      method: "PUT",
      path: "/v1/alerts/bp-alert",
      body: {
        kind: "consumerLag",
        group,
        maxLag: 10,
        forMs: 1_000,
        webhook: { url: "http://127.0.0.1:9/hook" },
      },
      required: ["kind", "group", "webhook"],
      badFields: {
        kind: ["diskFull", 5, null],
        group: ["", "a b", 5, null],
        topic: ["", "a b", 5],
        maxLag: [-1, 1.5, "10", null],
        maxLagMs: [-1, "1s", 1e300],
        forMs: [-1, 86_400_001, "60000"],
        webhook: [
          "x",
          {},
          { url: "ftp://x/y" },
          { url: "https://a:b@x/" },
          { url: "https://x/", secret: "" },
        ],
      },
      badPaths: badNames.map((n) => `/v1/alerts/${n}`),
    },
    {
      name: "list alerts",
      method: "GET",
      path: "/v1/alerts",
      badPaths: ["/v1/alerts/a$b", "/v1/alerts/x?y=1"],
    },
    {
      name: "post events",
      method: "POST",
      path: `/v1/topics/${topic}/events`,
      query: { acks: ["1", "2", "x", ""] },
      body: { specversion: "1.0", id: "e", source: "/s", type: "t" },
      badPaths: badNames.map((n) => `/v1/topics/${n}/events`),
    },
    {
      name: "health and metrics",
      method: "GET",
      path: "/healthz",
      badPaths: ["/metrics?x=1", "/metrics?x=1&x=2"],
    },
  ];
}
