import { call, type Transport } from "./http";
import type { FetchResult, TopicDescription } from "./types";

const enc = encodeURIComponent;

/** Topics, groups, records by offset, and (when the gateway requires credentials) principals, ACLs, tokens, quotas. */
export class Admin {
  constructor(private readonly transport: Transport) {}

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return call<T>(this.transport, method, path, body);
  }

  createTopic(
    name: string,
    options: { partitions?: number; replicationFactor?: number; configs?: Record<string, unknown> } = {},
  ) {
    return this.call<TopicDescription>("POST", "/v1/topics", { name, ...options });
  }
  async listTopics() {
    return (
      await this.call<{ topics: { name: string; partitions: number; replicationFactor: number }[] }>(
        "GET",
        "/v1/topics",
      )
    ).topics;
  }
  describeTopic(name: string) {
    return this.call<TopicDescription>("GET", `/v1/topics/${enc(name)}`);
  }
  alterTopic(name: string, configs: Record<string, unknown>) {
    return this.call<TopicDescription>("PATCH", `/v1/topics/${enc(name)}`, { configs });
  }
  async deleteTopic(name: string) {
    await this.call("DELETE", `/v1/topics/${enc(name)}`);
  }

  /** A stateless read (API.md "Fetch"). */
  fetch(
    topic: string,
    partition: number,
    position: {
      offset?: number | "earliest" | "latest";
      timestamp?: number;
      maxRecords?: number;
      waitMs?: number;
      isolation?: "read_uncommitted" | "read_committed";
    },
  ) {
    const query = new URLSearchParams();
    if (position.timestamp !== undefined) query.set("timestamp", String(position.timestamp));
    else query.set("offset", String(position.offset ?? "earliest"));
    if (position.maxRecords !== undefined) query.set("maxRecords", String(position.maxRecords));
    if (position.waitMs !== undefined) query.set("waitMs", String(position.waitMs));
    if (position.isolation !== undefined) query.set("isolation", position.isolation);
    return this.call<FetchResult>("GET", `/v1/topics/${enc(topic)}/partitions/${partition}/records?${query}`);
  }

  /** A transaction's state (GET /v1/transactions/{id}). */
  describeTransaction(transactionalId: string) {
    return this.call<{
      transactionalId: string;
      state: string;
      producer: { id: string; epoch: number };
      partitions: { topic: string; partition: number }[];
      groups: string[];
      startedAt?: string;
      transactionTimeoutMs: number;
    }>("GET", `/v1/transactions/${enc(transactionalId)}`);
  }

  /** A new epoch for the transactionalId: every older instance is fenced, its open transaction aborted. */
  fenceTransactionalId(transactionalId: string) {
    return this.call<{ id: string; epoch: number }>("POST", "/v1/producers", { transactionalId });
  }

  async listGroups() {
    return (
      await this.call<{ groups: { group: string; state: string; generation: number; members: number }[] }>(
        "GET",
        "/v1/groups",
      )
    ).groups;
  }
  describeGroup(group: string) {
    return this.call<Record<string, unknown>>("GET", `/v1/groups/${enc(group)}`);
  }
  async groupOffsets(group: string) {
    return (
      await this.call<{
        offsets: {
          topic: string;
          partition: number;
          committedOffset: number;
          highWatermark: number;
          lag: number;
        }[];
      }>("GET", `/v1/groups/${enc(group)}/offsets`)
    ).offsets;
  }
  resetOffsets(
    group: string,
    topic: string,
    to: "earliest" | "latest" | { offset: number } | { timestamp: number },
  ) {
    return this.call<unknown>("POST", `/v1/groups/${enc(group)}/offsets/reset`, { topic, to });
  }
  async deleteGroup(group: string) {
    await this.call("DELETE", `/v1/groups/${enc(group)}`);
  }

  // ---- security (API.md "Contract v2 → Security") ----
  createApiKey(principal: string) {
    return this.call<{ principal: string; keyId: string; token: string }>(
      "POST",
      `/v1/principals/${enc(principal)}/keys`,
    );
  }
  async listPrincipals() {
    return (
      await this.call<{ principals: { principal: string; keys: { keyId: string; createdAt: number }[] }[] }>(
        "GET",
        "/v1/principals",
      )
    ).principals;
  }
  async deleteApiKey(principal: string, keyId: string) {
    await this.call("DELETE", `/v1/principals/${enc(principal)}/keys/${enc(keyId)}`);
  }
  createAcl(acl: Acl) {
    return this.call<Acl>("POST", "/v1/acls", acl);
  }
  async listAcls(filter: Partial<Acl> = {}) {
    const query = new URLSearchParams(
      Object.entries(filter).filter(([, v]) => v !== undefined) as [string, string][],
    );
    return (await this.call<{ acls: Acl[] }>("GET", `/v1/acls${query.size ? `?${query}` : ""}`)).acls;
  }
  async deleteAcls(filter: Partial<Acl>) {
    return (await this.call<{ deleted: number }>("DELETE", "/v1/acls", filter)).deleted;
  }
  mintToken(request: { principal?: string; acls: Omit<Acl, "principal">[]; expiresInS?: number }) {
    return this.call<{ token: string; expiresAt: number }>("POST", "/v1/tokens", request);
  }
  setQuota(
    principal: string,
    quota: { produceBytesPerS?: number; fetchBytesPerS?: number; requestsPerS?: number },
  ) {
    return this.call<unknown>("PUT", `/v1/quotas/${enc(principal)}`, quota);
  }
}

export type Acl = {
  principal: string;
  resourceType: "topic" | "group" | "cluster" | "transactionalId";
  patternType: "literal" | "prefixed";
  resourceName: string;
  operation: "read" | "write" | "create" | "delete" | "alter" | "describe" | "all";
  permission: "allow" | "deny";
};
