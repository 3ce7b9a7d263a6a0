import { afterAll, describe, expect, it } from "vitest";
import { deployBundle } from "./deploy-bundle";
import { LocalServer, tempStateDir } from "./server";

/** A test admin secret (never a real one): the deploy build requires credentials. */
const ADMIN = "faults-gate-admin-secret";
const FAULT = { topic: "t", partition: 0, replica: 0, fault: "fail" };

describe("fault injection exists only when EDGELOG_FAULTS=1 is set locally", () => {
  it("the deploy build (wrangler deploy --dry-run) answers 404 for the fault routes, even to the admin", async () => {
    const mf = deployBundle({ EDGELOG_ADMIN_TOKEN: ADMIN });
    const headers = { "content-type": "application/json", authorization: `Bearer ${ADMIN}` };
    try {
      expect((await mf.dispatchFetch("http://edgelog/healthz")).status).toBe(200);
      const post = await mf.dispatchFetch("http://edgelog/v1/_faults", {
        method: "POST",
        headers,
        body: JSON.stringify(FAULT),
      });
      expect(post.status).toBe(404);
      expect(((await post.json()) as any).error.code).toBe("NOT_FOUND");
      expect((await mf.dispatchFetch("http://edgelog/v1/_faults/replicas/t/0", { headers })).status).toBe(
        404,
      );
      // The same credential does reach a real route: the 404s above are not refusals in disguise.
      expect((await mf.dispatchFetch("http://edgelog/v1/topics", { headers })).status).toBe(200);
    } finally {
      await mf.dispose();
    }
  });

  const plain = new LocalServer(tempStateDir());
  const faulty = new LocalServer(tempStateDir(), { EDGELOG_FAULTS: "1" });
  afterAll(async () => {
    await plain.stop("SIGKILL");
    await faulty.stop("SIGKILL");
  });

  it("npm start without the flag: 404; with EDGELOG_FAULTS=1: the route works", async () => {
    await plain.start();
    expect((await plain.request("POST", "/v1/topics", { name: "t", replicationFactor: 1 })).status).toBe(201);
    const refused = await plain.request("POST", "/v1/_faults", FAULT);
    expect(refused.status).toBe(404);
    await plain.stop();

    await faulty.start();
    expect((await faulty.request("POST", "/v1/topics", { name: "t", replicationFactor: 3 })).status).toBe(
      201,
    );
    expect((await faulty.request("POST", "/v1/_faults", { ...FAULT, replica: 2 })).status).toBe(200);
    const produced = await faulty.request("POST", "/v1/topics/t/records?acks=all", {
      records: [{ value: 1 }],
    });
    expect(produced.status).toBe(200); // 2 of 3 replicas suffice
    const views = await faulty.request("GET", "/v1/_faults/replicas/t/0");
    expect(views.status).toBe(200);
    expect(views.body.map((v: any) => v.logEndOffset)).toEqual([1, 1, 0]);
    expect((await faulty.request("GET", "/v1/topics/t")).body.partitionInfo[0].isr).toEqual([0, 1]);
  });
});
