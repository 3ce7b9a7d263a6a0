import * as z from "zod";
import { WS_CREDITS_DEFAULT, WS_CREDITS_MAX } from "../core/limits";
import type { Isolation } from "../core/partition-transactions";
import {
  GroupId,
  IsolationLevel,
  JoinBody,
  type JoinRequest,
  Offset,
  type OffsetCommit,
  OffsetList,
} from "./groups";
import { invalid } from "./input";
import { TopicName } from "./topic";
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
const FrameIdInput = z.union([z.int(), z.string().min(1).max(ID_LENGTH_MAX)], {
  error: `must be an integer or a string of 1 to ${ID_LENGTH_MAX} characters`,
});
const Credits = z.int().min(1).max(WS_CREDITS_MAX);

export function frameId(value: unknown, path: string): FrameId {
  return parseInput(FrameIdInput, value, path);
}

/** API.md "WebSocket": one schema per frame (a subscribe names a partition or a group). */
const TailSubscribeFrame = z.strictObject({
  op: z.literal("subscribe"),
  id: FrameIdInput,
  topic: TopicName,
  partition: z.int().min(0),
  offset: z.union([z.enum(["earliest", "latest"]), Offset]).default("latest"),
  credits: Credits.default(WS_CREDITS_DEFAULT),
  isolation: IsolationLevel.default("read_uncommitted"),
});
const GroupSubscribeFrame = z.strictObject({
  op: z.literal("subscribe"),
  id: FrameIdInput,
  group: GroupId,
  credits: Credits.default(WS_CREDITS_DEFAULT),
  ...JoinBody.shape,
});
const CreditFrameInput = z.strictObject({
  op: z.literal("credit"),
  subscription: FrameIdInput.optional(),
  credits: Credits,
});
/** The records, producer and transactional flag are a produce body's: produce's schema reads them. */
const ProduceFrameInput = z.strictObject({
  op: z.literal("produce"),
  id: FrameIdInput,
  topic: TopicName,
  acks: z.enum(["0", "1", "all"]).default("all"),
  records: z.unknown().optional(),
  producer: z.unknown().optional(),
  transactional: z.unknown().optional(),
});
const UnsubscribeFrameInput = z.strictObject({ op: z.literal("unsubscribe"), id: FrameIdInput });
const CommitFrameInput = z.strictObject({
  op: z.literal("commit"),
  id: FrameIdInput,
  subscription: FrameIdInput.optional(),
  offsets: OffsetList,
});

/** Any JSON object: what a frame is before its op says which schema reads it. */
const AnyFrame = z.looseObject({});

/** Reads one parsed frame (API.md "WebSocket"). */
export function parseFrame(frame: unknown): ClientFrame {
  const f = parseInput(AnyFrame, frame, "frame") as Record<string, unknown>;
  switch (f.op) {
    case "subscribe": {
      if (f.group === undefined) return parseInput(TailSubscribeFrame, f, "");
      const { op, id, group, credits, ...join } = parseInput(GroupSubscribeFrame, f, "");
      return { op, id, group, credits, join: { ...join, instanceId: join.instanceId ?? null } };
    }
    case "credit": {
      const { op, subscription, credits } = parseInput(CreditFrameInput, f, "");
      return { op, subscription: subscription ?? null, credits };
    }
    case "produce": {
      const { op, id, topic, acks, records, producer, transactional } = parseInput(ProduceFrameInput, f, "");
      return {
        op,
        id,
        topic,
        acks,
        body: {
          records,
          ...(producer === undefined ? {} : { producer }),
          ...(transactional === undefined ? {} : { transactional }),
        },
      };
    }
    case "unsubscribe":
      return parseInput(UnsubscribeFrameInput, f, "");
    case "commit": {
      const { op, id, subscription, offsets } = parseInput(CommitFrameInput, f, "");
      return { op, id, subscription: subscription ?? null, offsets };
    }
    default:
      invalid(
        `unknown op ${JSON.stringify(f.op)}; expected subscribe, credit, commit, produce or unsubscribe`,
      );
  }
}
