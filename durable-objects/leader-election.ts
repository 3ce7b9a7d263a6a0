import { withTimeout } from "../core/concurrency";
import { fail, ok, type Result } from "../core/errors";
import { type Candidate, electionQuorum, electLeader } from "../core/replication";
import type { PartitionLeadership, TopicMetadata } from "./contract";
import type { Env } from "./env";
import { replicaStub } from "./stubs";

/**
 * One leader election of the registry (Kafka's controller electing from the ISR):
 * called when a gateway found the leader of `failedEpoch` unreachable. A newer
 * epoch is answered as it is; a leader that answers a probe keeps leading;
 * otherwise the most up-to-date reachable ISR member leads a new epoch, only when
 * enough of the ISR answered to be sure of every acknowledged record (no unclean
 * election). The registry's row is updated; the other replicas are told, best effort.
 */

/** How long an election waits for a replica's answer before counting it unreachable. */
const ELECTION_PROBE_TIMEOUT_MS = 1_000;

export async function runElection(
  env: Env,
  sql: SqlStorage,
  topic: string,
  meta: TopicMetadata | null,
  partition: number,
  failedEpoch: number,
): Promise<Result<PartitionLeadership>> {
  const current = meta?.leaders[partition];
  if (!meta || !current)
    return fail("UNKNOWN_TOPIC_OR_PARTITION", `topic-partition ${topic}/${partition} does not exist`);
  if (current.leaderEpoch > failedEpoch) return ok(current);
  const probe = (replica: number) =>
    withTimeout(
      replicaStub(env, topic, partition, replica).electionState(meta.topicId),
      ELECTION_PROBE_TIMEOUT_MS,
      `probe of replica ${replica}`,
    ).catch(() => null);
  if (await probe(current.leader)) return ok(current); // the leader answers: no election
  const others = current.isr.filter((r) => r !== current.leader);
  const states = await Promise.all(others.map(probe));
  const candidates: Candidate[] = [];
  let newestEpoch = current.leaderEpoch;
  for (const s of states) {
    if (!s) continue;
    candidates.push({ replica: s.replica, lastEpoch: s.lastEpoch, logEndOffset: s.logEndOffset });
    newestEpoch = Math.max(newestEpoch, s.leaderEpoch);
  }
  const needed = electionQuorum(others.length, meta.configs["min.insync.replicas"]);
  const best = candidates.length >= needed ? electLeader(candidates, others) : null;
  if (!best)
    return fail(
      "LEADER_NOT_AVAILABLE",
      `the leader of ${topic}/${partition} is unreachable and ${candidates.length} of the ${others.length} other in-sync replicas answered (${needed} needed to be sure of every acknowledged record); no unclean election`,
    );
  const leaderEpoch = newestEpoch + 1;
  const isr = others.filter((r) => candidates.some((c) => c.replica === r));
  const made: Result<null> = await withTimeout<Result<null>>(
    replicaStub(env, topic, partition, best.replica).makeLeader(meta.topicId, leaderEpoch, isr),
    ELECTION_PROBE_TIMEOUT_MS,
    "makeLeader",
  ).catch((error) => fail("LEADER_NOT_AVAILABLE", `the elected replica failed to lead: ${String(error)}`));
  if (!made.ok) return made;
  const leadership = { leader: best.replica, leaderEpoch, isr };
  sql.exec(
    "UPDATE partitions SET leader = ?, leader_epoch = ?, isr = ? WHERE topic = ? AND partition = ?",
    best.replica,
    leaderEpoch,
    JSON.stringify(isr),
    topic,
    partition,
  );
  // Best effort: replicas that miss this learn the epoch from the new leader's first call.
  for (let replica = 0; replica < meta.replicationFactor; replica++) {
    if (replica === best.replica) continue;
    void withTimeout<Result<null>>(
      replicaStub(env, topic, partition, replica).makeFollower(meta.topicId, leaderEpoch, best.replica),
      ELECTION_PROBE_TIMEOUT_MS,
      "makeFollower",
    ).catch(() => undefined);
  }
  return ok(leadership);
}
