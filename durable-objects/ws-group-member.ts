import type { Rights } from "../core/acl";
import { EdgelogError, type ErrorInfo, errorInfo } from "../core/errors";
import type { CommitFrame, GroupSubscribe } from "../schemas/frames";
import { authorize } from "./authorizer";
import { consumerGroup } from "./stubs";
import type { GroupSubscription, Pushed, SessionPort, Subscriptions } from "./ws-subscriptions";

/**
 * A socket as a consumer-group member: it joins, is told every reassignment (an
 * `assigned` frame), gets its records pushed through the group's poll (so the
 * group keeps its positions and a record is never fetched twice), and commits.
 */
export class WsGroupMember {
  constructor(
    private readonly port: SessionPort,
    private readonly subs: Subscriptions,
  ) {}

  async join(key: string, frame: GroupSubscribe): Promise<void> {
    const joined = await consumerGroup(this.port.env, frame.group).join(
      frame.group,
      frame.join,
      this.port.sessionId,
    );
    if (!joined.ok) throw new EdgelogError(joined.error.code, joined.error.message);
    const sub: GroupSubscription = {
      kind: "group",
      id: frame.id,
      group: frame.group,
      memberId: joined.value.memberId,
      generation: joined.value.generation,
      assignments: joined.value.assignments,
      credits: frame.credits,
    };
    this.subs.add(key, sub);
    this.sendAssigned(sub);
    await this.subs.syncWatches().catch((error) => this.port.sendError(sub.id, errorOf(error)));
    void this.subs.deliver(key);
  }

  private sendAssigned(sub: GroupSubscription): void {
    this.port.send(
      JSON.stringify({
        op: "assigned",
        id: sub.id,
        memberId: sub.memberId,
        generation: sub.generation,
        assignments: sub.assignments,
      }),
    );
  }

  /** The group reassigned partitions: tell the client, follow the new partitions, deliver. */
  async onAssignment(group: string, memberId: string): Promise<void> {
    const entry = [...this.subs.all].find(
      ([, s]) => s.kind === "group" && s.group === group && s.memberId === memberId,
    );
    if (!entry) return;
    const [key, sub] = entry as [string, GroupSubscription];
    const hb = await consumerGroup(this.port.env, group).heartbeat(memberId);
    if (!hb.ok) {
      this.port.sendError(sub.id, hb.error);
      return;
    }
    // Pushes and heartbeats can finish out of order: never go back to an older generation.
    if (hb.value.generation < sub.generation) return;
    if (
      hb.value.generation === sub.generation &&
      JSON.stringify(hb.value.assignments) === JSON.stringify(sub.assignments)
    )
      return;
    sub.generation = hb.value.generation;
    sub.assignments = hb.value.assignments;
    this.subs.save(sub);
    this.sendAssigned(sub);
    await this.subs.syncWatches().catch((error) => this.port.sendError(sub.id, errorOf(error)));
    void this.subs.deliver(key);
  }

  /** This socket holds that member (the group's session check). */
  holds(memberId: string): boolean {
    return [...this.subs.all.values()].some((s) => s.kind === "group" && s.memberId === memberId);
  }

  async commit(frame: CommitFrame, rights: Rights): Promise<void> {
    const groups = [...this.subs.all.values()].filter((s): s is GroupSubscription => s.kind === "group");
    const sub =
      frame.subscription === null
        ? groups.length === 1
          ? groups[0]
          : undefined
        : groups.find((g) => JSON.stringify(g.id) === JSON.stringify(frame.subscription));
    if (!sub)
      throw new EdgelogError(
        "INVALID_REQUEST",
        groups.length === 0
          ? "commit needs a group subscription on this socket"
          : "name the group subscription to commit for",
      );
    authorize(rights, "group", sub.group, "read");
    for (const o of frame.offsets) authorize(rights, "topic", o.topic, "read");
    const committed = await consumerGroup(this.port.env, sub.group).commit({
      memberId: sub.memberId,
      generation: sub.generation,
      offsets: frame.offsets,
    });
    if (!committed.ok) throw new EdgelogError(committed.error.code, committed.error.message, committed.error);
    this.port.send(JSON.stringify({ op: "committed", id: frame.id }));
  }

  /** Records for one push, through the group's poll: it keeps the member's positions. */
  async poll(sub: GroupSubscription, maxRecords: number, maxBytes: number, rights: Rights): Promise<Pushed> {
    authorize(rights, "group", sub.group, "read");
    const polled = await consumerGroup(this.port.env, sub.group).pollRecords(
      sub.memberId,
      { maxRecords, maxBytes, waitMs: 0 },
      rights,
    );
    // A newer generation seen here is announced through onAssignment (an `assigned` frame first).
    if (polled.ok && polled.value.generation > sub.generation)
      void this.onAssignment(sub.group, sub.memberId);
    return polled;
  }
}

function errorOf(error: unknown): ErrorInfo {
  return error instanceof EdgelogError ? error.info : errorInfo("LEADER_NOT_AVAILABLE", String(error));
}
