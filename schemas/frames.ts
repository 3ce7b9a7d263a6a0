import { EdgelogError } from "../core/errors";
import { OFFSET_MAX, WS_CREDITS_DEFAULT, WS_CREDITS_MAX } from "../core/limits";
import type { Isolation } from "../core/partition-transactions";
import { topicNameProblem } from "../core/topic-name";
import {
  checkGroupId,
  IsolationLevel,
  type JoinRequest,
  type OffsetCommit,
  parseJoin,
  parseOffsetList,
} from "./groups";
import { expectInt, expectObject, expectString, invalid, rejectUnknownFields, typeName } from "./input";
import { parseInput } from "./validate";

/**
 * WebSocket frames of API.md, read strictly: each reader answers a typed frame
 * or throws an EdgelogError that becomes an `error` frame (the socket stays open).
 */

export type FrameId = number | string;
export type TailSubscribe = {
  op: "subscribe";
  id: FrameId;
  topic: string;
  partition: number;
  offset: number | "earliest" | "latest";
  credits: number;
  isolation: Isolation;
};
export type GroupSubscribe = {
  op: "subscribe";
  id: FrameId;
  group: string;
  join: JoinRequest;
  credits: number;
};
export type CommitFrame = {
  op: "commit";
  id: FrameId;
  subscription: FrameId | null;
  offsets: OffsetCommit[];
};
export type CreditFrame = { op: "credit"; subscription: FrameId | null; credits: number };
export type ProduceFrame = {
  op: "produce";
  id: FrameId;
  topic: string;
  acks: "0" | "1" | "all";
  body: { records: unknown };
};
export type UnsubscribeFrame = { op: "unsubscribe"; id: FrameId };
export type ClientFrame =
  | TailSubscribe
  | GroupSubscribe
  | CommitFrame
  | CreditFrame
  | ProduceFrame
  | UnsubscribeFrame;

const ID_LENGTH_MAX = 64;

/** A request id: an integer or a short string, echoed back as given. */
export function frameId(value: unknown, path: string): FrameId {
  if (typeof value === "number" && Number.isSafeInteger(value)) return value;
  if (typeof value === "string" && value.length > 0 && value.length <= ID_LENGTH_MAX) return value;
  invalid(
    `${path} must be an integer or a string of 1 to ${ID_LENGTH_MAX} characters, got ${typeName(value)}`,
  );
}

function topicOf(value: unknown, path: string): string {
  const topic = expectString(value, path);
  const problem = topicNameProblem(topic);
  if (problem) throw new EdgelogError("INVALID_TOPIC_EXCEPTION", `${path}: ${problem}`);
  return topic;
}

function credits(value: unknown, path: string): number {
  return expectInt(value, path, 1, WS_CREDITS_MAX);
}

/** Reads one parsed frame (API.md "WebSocket"). */
export function parseFrame(frame: unknown): ClientFrame {
  const f = expectObject(frame, "frame");
  switch (f.op) {
    case "subscribe": {
      const id = frameId(f.id, "id");
      if (f.group !== undefined) {
        const { op: _op, id: _id, group, credits: c, ...join } = f;
        return {
          op: "subscribe",
          id,
          group: checkGroupId(expectString(group, "group")),
          join: parseJoin(join, ""),
          credits: c === undefined ? WS_CREDITS_DEFAULT : credits(c, "credits"),
        };
      }
      rejectUnknownFields(
        f,
        ["op", "id", "topic", "partition", "offset", "credits", "isolation"],
        "subscribe",
      );
      const topic = topicOf(f.topic, "topic");
      const partition = expectInt(f.partition, "partition", 0, Number.MAX_SAFE_INTEGER);
      let offset: TailSubscribe["offset"] = "latest";
      if (f.offset === "earliest" || f.offset === "latest") offset = f.offset;
      else if (f.offset !== undefined) offset = expectInt(f.offset, "offset", 0, OFFSET_MAX);
      return {
        op: "subscribe",
        id,
        topic,
        partition,
        offset,
        credits: f.credits === undefined ? WS_CREDITS_DEFAULT : credits(f.credits, "credits"),
        isolation: parseInput(IsolationLevel.default("read_uncommitted"), f.isolation, "isolation"),
      };
    }
    case "credit": {
      rejectUnknownFields(f, ["op", "subscription", "credits"], "credit");
      return {
        op: "credit",
        subscription: f.subscription === undefined ? null : frameId(f.subscription, "subscription"),
        credits: credits(f.credits, "credits"),
      };
    }
    case "produce": {
      rejectUnknownFields(
        f,
        ["op", "id", "topic", "acks", "records", "producer", "transactional"],
        "produce",
      );
      const id = frameId(f.id, "id");
      const topic = topicOf(f.topic, "topic");
      const acks = f.acks ?? "all";
      if (acks !== "0" && acks !== "1" && acks !== "all")
        invalid(`acks must be "0", "1" or "all", got ${JSON.stringify(acks)}`);
      return {
        op: "produce",
        id,
        topic,
        acks,
        body: {
          records: f.records,
          ...(f.producer === undefined ? {} : { producer: f.producer }),
          ...(f.transactional === undefined ? {} : { transactional: f.transactional }),
        },
      };
    }
    case "unsubscribe":
      rejectUnknownFields(f, ["op", "id"], "unsubscribe");
      return { op: "unsubscribe", id: frameId(f.id, "id") };
    case "commit":
      rejectUnknownFields(f, ["op", "id", "subscription", "offsets"], "commit");
      return {
        op: "commit",
        id: frameId(f.id, "id"),
        subscription: f.subscription === undefined ? null : frameId(f.subscription, "subscription"),
        offsets: parseOffsetList(f.offsets, "offsets"),
      };
    default:
      invalid(
        `unknown op ${JSON.stringify(f.op)}; expected subscribe, credit, commit, produce or unsubscribe`,
      );
  }
}
