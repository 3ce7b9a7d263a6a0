import { hex, randomBytes } from "./credentials";

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent`
 * header `version-traceid-parentid-flags` and its companion `tracestate`. A
 * header that does not parse is ignored, as the recommendation says (the
 * request simply starts no trace), never refused.
 */

export type TraceContext = {
  /** The header as received (lower-cased), copied into records verbatim. */
  traceparent: string;
  traceId: string;
  /** The caller's span: the parent of the gateway's own. */
  parentId: string;
  /** The tracestate header, when present and within its limits. */
  tracestate: string | null;
};

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
/** The recommendation's limits: 32 list members, and a header of 512 characters at least must be kept. */
const TRACESTATE_LENGTH_MAX = 512;

export function parseTraceContext(
  traceparent: string | undefined,
  tracestate: string | undefined,
): TraceContext | null {
  if (traceparent === undefined) return null;
  const header = traceparent.trim().toLowerCase();
  const match = TRACEPARENT.exec(header);
  if (!match) return null;
  const [, version, traceId, parentId, , rest] = match;
  // Version ff is invalid; version 00 has nothing after the flags; all-zero ids are invalid.
  if (version === "ff" || (version === "00" && rest !== undefined)) return null;
  if (/^0+$/.test(traceId!) || /^0+$/.test(parentId!)) return null;
  const state = tracestate?.trim();
  return {
    traceparent: header,
    traceId: traceId!,
    parentId: parentId!,
    tracestate: state && state.length <= TRACESTATE_LENGTH_MAX ? state : null,
  };
}

/** A new span id (8 random bytes, hex): the gateway's own span in its log line. */
export function newSpanId(): string {
  return hex(randomBytes(8));
}
