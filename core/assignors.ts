import { compareTopicPartitions, partitionKey, type TopicPartition } from "./partition-key";

/**
 * Server-side partition assignment (KIP-848 style: the group coordinator assigns).
 * Pure and deterministic: the same members, topics and previous assignment give
 * the same result. Every partition of a subscribed topic goes to exactly one
 * member subscribed to that topic.
 */

export const ASSIGNORS = ["range", "roundrobin", "sticky"] as const;
export type AssignorName = (typeof ASSIGNORS)[number];

export type AssignmentMember = { memberId: string; topics: readonly string[] };
/** memberId → its partitions, sorted by topic then partition. */
export type Assignment = Map<string, TopicPartition[]>;

function emptyAssignment(members: readonly AssignmentMember[]): Assignment {
  const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : 1));
  return new Map(sorted.map((m) => [m.memberId, []]));
}

function subscribedTopics(
  members: readonly AssignmentMember[],
  partitions: ReadonlyMap<string, number>,
): string[] {
  return [...new Set(members.flatMap((m) => m.topics))].filter((t) => partitions.has(t)).sort();
}

/** Kafka's RangeAssignor: per topic, contiguous ranges; the first members get one extra. */
function range(members: readonly AssignmentMember[], partitions: ReadonlyMap<string, number>): Assignment {
  const assignment = emptyAssignment(members);
  for (const topic of subscribedTopics(members, partitions)) {
    const consumers = [...assignment.keys()].filter((id) =>
      members.find((m) => m.memberId === id)!.topics.includes(topic),
    );
    const count = partitions.get(topic)!;
    const each = Math.floor(count / consumers.length);
    const extra = count % consumers.length;
    let next = 0;
    consumers.forEach((memberId, i) => {
      const n = each + (i < extra ? 1 : 0);
      for (let k = 0; k < n; k++) assignment.get(memberId)!.push({ topic, partition: next++ });
    });
  }
  return assignment;
}

/** Kafka's RoundRobinAssignor: all partitions in order, dealt to the subscribed members in turn. */
function roundRobin(
  members: readonly AssignmentMember[],
  partitions: ReadonlyMap<string, number>,
): Assignment {
  const assignment = emptyAssignment(members);
  const ids = [...assignment.keys()];
  const subscriptions = new Map(members.map((m) => [m.memberId, new Set(m.topics)]));
  let turn = 0;
  for (const topic of subscribedTopics(members, partitions)) {
    for (let partition = 0; partition < partitions.get(topic)!; partition++) {
      // The next member in turn that subscribes to this topic (one exists: the topic is subscribed).
      for (let tries = 0; tries < ids.length; tries++) {
        const memberId = ids[turn++ % ids.length]!;
        if (subscriptions.get(memberId)!.has(topic)) {
          assignment.get(memberId)!.push({ topic, partition });
          break;
        }
      }
    }
  }
  return assignment;
}

/**
 * Sticky: keeps every partition with its previous owner while that owner is
 * still a subscribed member and under its fair share, then gives the rest to the
 * least-loaded subscribed members. Moves as few partitions as possible while
 * keeping counts within one of each other (for members of equal subscriptions).
 */
function sticky(
  members: readonly AssignmentMember[],
  partitions: ReadonlyMap<string, number>,
  previous: ReadonlyMap<string, string>,
): Assignment {
  const assignment = emptyAssignment(members);
  const subscriptions = new Map(members.map((m) => [m.memberId, new Set(m.topics)]));
  const all: TopicPartition[] = [];
  for (const topic of subscribedTopics(members, partitions))
    for (let partition = 0; partition < partitions.get(topic)!; partition++) all.push({ topic, partition });
  const quota = Math.ceil(all.length / Math.max(1, members.length));
  // Members with fewer eligible partitions than the quota must not make others exceed it: take the
  // smaller quotas into account by filling previous owners only up to the (ceil) fair share.
  const unassigned: TopicPartition[] = [];
  for (const tp of all) {
    const owner = previous.get(partitionKey(tp.topic, tp.partition));
    const kept = owner !== undefined ? assignment.get(owner) : undefined;
    if (owner !== undefined && kept && subscriptions.get(owner)!.has(tp.topic) && kept.length < quota)
      kept.push(tp);
    else unassigned.push(tp);
  }
  for (const tp of unassigned) {
    let best: string | null = null;
    for (const [memberId, owned] of assignment) {
      if (!subscriptions.get(memberId)!.has(tp.topic)) continue;
      if (best === null || owned.length < assignment.get(best)!.length) best = memberId;
    }
    assignment.get(best!)!.push(tp);
  }
  // Rebalance counts: move from members above the floor share to members two or more below.
  const floor = Math.floor(all.length / Math.max(1, members.length));
  for (let moved = true; moved; ) {
    moved = false;
    for (const [poorId, poor] of assignment) {
      if (poor.length >= floor) continue;
      for (const [richId, rich] of assignment) {
        if (rich.length <= poor.length + 1 || richId === poorId) continue;
        const index = rich.findIndex((tp) => subscriptions.get(poorId)!.has(tp.topic));
        if (index < 0) continue;
        poor.push(rich.splice(index, 1)[0]!);
        moved = true;
        break;
      }
    }
  }
  return assignment;
}

/**
 * Assigns the partitions of the members' subscribed topics (`partitions`: topic →
 * partition count; topics missing from it are skipped) with the named assignor.
 * `previous` maps partitionKey → memberId of the last generation (for sticky).
 */
export function assign(
  assignor: AssignorName,
  members: readonly AssignmentMember[],
  partitions: ReadonlyMap<string, number>,
  previous: ReadonlyMap<string, string> = new Map(),
): Assignment {
  if (members.length === 0) return new Map();
  const result =
    assignor === "range"
      ? range(members, partitions)
      : assignor === "roundrobin"
        ? roundRobin(members, partitions)
        : sticky(members, partitions, previous);
  for (const owned of result.values()) owned.sort(compareTopicPartitions);
  return result;
}
