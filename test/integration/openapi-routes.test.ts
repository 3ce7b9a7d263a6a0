import { describe, expect, it } from "vitest";
import { OPERATIONS } from "../../schemas/openapi-document";
import { createApp } from "../../worker/app";
import { api } from "./helpers";

/**
 * The OpenAPI document's route table and the gateway's routes are one set: a route added
 * to the gateway without its schemas (or documented and never served) fails here.
 */

/** Hono's /v1/topics/:topic as OpenAPI's /v1/topics/{topic}; the wildcard routes by their documented names. */
function template(path: string): string {
  if (path === "/v1/stream/*") return "/v1/stream/{name}";
  if (path === "/docs/*" || path === "/console/*") return path.slice(0, -1);
  return path.replace(/:([A-Za-z]+)/g, "{$1}");
}

/** Not documented on purpose: the test-only fault routes, and the redirects /docs → /docs/, /console → /console/. */
const UNDOCUMENTED = /^\/v1\/_faults|^\/docs$|^\/console$/;

describe("the OpenAPI route table", () => {
  it("lists exactly the gateway's routes", () => {
    const served = new Set(
      createApp()
        .routes.filter((r) => r.method !== "ALL" && !UNDOCUMENTED.test(r.path))
        .map((r) => `${r.method.toLowerCase()} ${template(r.path)}`),
    );
    // Hono answers HEAD with the GET handler: a documented HEAD needs its GET.
    const documented = new Set(OPERATIONS.map((o) => `${o.method === "head" ? "get" : o.method} ${o.path}`));
    expect([...served].filter((r) => !documented.has(r)).sort(), "served, not documented").toEqual([]);
    expect([...documented].filter((r) => !served.has(r)).sort(), "documented, not served").toEqual([]);
  });

  it("is served as /openapi.json with every route's path parameters declared", async () => {
    const res = await api("GET", "/openapi.json");
    expect(res.status).toBe(200);
    for (const [path, methods] of Object.entries(res.body.paths as Record<string, Record<string, any>>))
      for (const [method, operation] of Object.entries(methods)) {
        const declared = operation.parameters.filter((p: any) => p.in === "path").map((p: any) => p.name);
        const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
        expect(declared.sort(), `${method} ${path}`).toEqual(inPath.sort());
      }
    const ids = Object.values(res.body.paths as Record<string, Record<string, any>>).flatMap((m) =>
      Object.values(m).map((o) => o.operationId),
    );
    expect(new Set(ids).size).toBe(ids.length);
  });
});
