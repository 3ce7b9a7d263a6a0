import type { AssignorName } from "../core/assignors";
import type { MemberSpec, OffsetReset, Owned } from "../core/group-membership";
import type { TopicPartition } from "../core/partition-key";
import type { Isolation } from "../core/partition-transactions";
import { GROUP_TRANSACTIONS_MIGRATION } from "./group-transactions";
import { runMigrations } from "./sql-migrations";

/**
 * A consumer group's durable state in its Durable Object's SQLite: members,
 * the current generation's assignment, committed offsets and each owned
 * partition's position. Synchronous statements: a caller's sequence without an
 * await commits as one transaction.
 */

const MIGRATIONS = [
  `CREATE TABLE group_meta (
     id INTEGER PRIMARY KEY CHECK (id = 0),
     name TEXT NOT NULL,
     generation INTEGER NOT NULL,
     assignor TEXT
   );
   CREATE TABLE members (
     member_id TEXT PRIMARY KEY,
     instance_id TEXT UNIQUE,
     topics TEXT NOT NULL,
     session_timeout_ms INTEGER NOT NULL,
     auto_offset_reset TEXT NOT NULL
   );
   CREATE TABLE assignments (topic TEXT NOT NULL, partition INTEGER NOT NULL, member_id TEXT NOT NULL,
     PRIMARY KEY (topic, partition));
   CREATE TABLE offsets (topic TEXT NOT NULL, partition INTEGER NOT NULL, committed_offset INTEGER NOT NULL,
     committed_at INTEGER NOT NULL, PRIMARY KEY (topic, partition));
   CREATE TABLE positions (topic TEXT NOT NULL, partition INTEGER NOT NULL, position INTEGER NOT NULL,
     PRIMARY KEY (topic, partition));
   -- Member ids replaced by a static member's rejoin: their requests answer FENCED_INSTANCE_ID.
   CREATE TABLE fenced_members (member_id TEXT PRIMARY KEY, fenced_at INTEGER NOT NULL);`,
  // A member that is a WebSocket: its session object is told about every new assignment.
  `ALTER TABLE members ADD COLUMN push_to TEXT;`,
  // Offsets held for producers' transactions until their markers (GroupTransactions).
  GROUP_TRANSACTIONS_MIGRATION,
  // Each member's isolation level (members joined before read read_uncommitted, as they did).
  `ALTER TABLE members ADD COLUMN isolation TEXT NOT NULL DEFAULT 'read_uncommitted';`,
];

/** Fenced member ids remembered (oldest forgotten first): bounds the table. */
const FENCED_MEMBERS_MAX = 1_000;

export type CommittedOffset = TopicPartition & { offset: number; committedAt: number };

export type LoadedGroup = {
  name: string | null;
  generation: number;
  assignor: AssignorName | null;
  members: MemberSpec[];
  assignments: Owned[];
  offsets: CommittedOffset[];
  positions: (TopicPartition & { position: number })[];
};

export class GroupStore {
  constructor(private readonly sql: SqlStorage) {}

  load(): LoadedGroup {
    runMigrations(this.sql, MIGRATIONS);
    const meta = this.sql
      .exec<{ name: string; generation: number; assignor: string | null }>(
        "SELECT name, generation, assignor FROM group_meta",
      )
      .toArray()[0];
    return {
      name: meta?.name ?? null,
      generation: meta?.generation ?? 0,
      assignor: (meta?.assignor ?? null) as AssignorName | null,
      members: this.sql
        .exec<{
          member_id: string;
          instance_id: string | null;
          topics: string;
          session_timeout_ms: number;
          auto_offset_reset: string;
          isolation: string;
          push_to: string | null;
        }>("SELECT * FROM members")
        .toArray()
        .map((m) => ({
          memberId: m.member_id,
          instanceId: m.instance_id,
          topics: JSON.parse(m.topics),
          sessionTimeoutMs: m.session_timeout_ms,
          autoOffsetReset: m.auto_offset_reset as OffsetReset,
          isolation: m.isolation as Isolation,
          pushTo: m.push_to,
        })),
      assignments: this.sql
        .exec<{ topic: string; partition: number; member_id: string }>(
          "SELECT topic, partition, member_id FROM assignments",
        )
        .toArray()
        .map((a) => ({ topic: a.topic, partition: a.partition, memberId: a.member_id })),
      offsets: this.sql
        .exec<{ topic: string; partition: number; committed_offset: number; committed_at: number }>(
          "SELECT * FROM offsets",
        )
        .toArray()
        .map((o) => ({
          topic: o.topic,
          partition: o.partition,
          offset: o.committed_offset,
          committedAt: o.committed_at,
        })),
      positions: this.sql
        .exec<{ topic: string; partition: number; position: number }>(
          "SELECT topic, partition, position FROM positions",
        )
        .toArray(),
    };
  }

  saveMeta(name: string, generation: number, assignor: AssignorName | null): void {
    this.sql.exec(
      `INSERT INTO group_meta (id, name, generation, assignor) VALUES (0, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET generation = excluded.generation, assignor = excluded.assignor`,
      name,
      generation,
      assignor,
    );
  }

  saveMember(m: MemberSpec): void {
    this.sql.exec(
      `INSERT OR REPLACE INTO members (member_id, instance_id, topics, session_timeout_ms, auto_offset_reset, isolation, push_to)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      m.memberId,
      m.instanceId,
      JSON.stringify(m.topics),
      m.sessionTimeoutMs,
      m.autoOffsetReset,
      m.isolation,
      m.pushTo,
    );
  }

  deleteMember(memberId: string): void {
    this.sql.exec("DELETE FROM members WHERE member_id = ?", memberId);
  }

  fence(memberId: string): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO fenced_members (member_id, fenced_at) VALUES (?, ?)",
      memberId,
      Date.now(),
    );
    this.sql.exec(
      "DELETE FROM fenced_members WHERE member_id NOT IN (SELECT member_id FROM fenced_members ORDER BY fenced_at DESC LIMIT ?)",
      FENCED_MEMBERS_MAX,
    );
  }

  isFenced(memberId: string): boolean {
    return this.sql.exec("SELECT 1 FROM fenced_members WHERE member_id = ?", memberId).toArray().length > 0;
  }

  replaceAssignments(owned: readonly Owned[]): void {
    this.sql.exec("DELETE FROM assignments");
    for (const o of owned)
      this.sql.exec(
        "INSERT INTO assignments (topic, partition, member_id) VALUES (?, ?, ?)",
        o.topic,
        o.partition,
        o.memberId,
      );
  }

  saveOffset(o: CommittedOffset): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO offsets (topic, partition, committed_offset, committed_at) VALUES (?, ?, ?, ?)",
      o.topic,
      o.partition,
      o.offset,
      o.committedAt,
    );
  }

  savePosition(topic: string, partition: number, position: number): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO positions (topic, partition, position) VALUES (?, ?, ?)",
      topic,
      partition,
      position,
    );
  }

  deletePosition(topic: string, partition: number): void {
    this.sql.exec("DELETE FROM positions WHERE topic = ? AND partition = ?", topic, partition);
  }

  /** A deleted topic's committed offsets and positions go with it. */
  forgetTopic(topic: string): void {
    this.sql.exec("DELETE FROM offsets WHERE topic = ?", topic);
    this.sql.exec("DELETE FROM positions WHERE topic = ?", topic);
    this.sql.exec("DELETE FROM assignments WHERE topic = ?", topic);
  }
}
