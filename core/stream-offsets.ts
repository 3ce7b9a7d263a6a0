import { EdgelogError } from "./errors";

/**
 * Offsets of the Durable Streams protocol (PROTOCOL.md §8): opaque to clients,
 * compared as strings. edgelog mints `<segment>_<position>`, both 16 decimal
 * digits, where position is the stream's byte length after a message, so string
 * order is stream order. The segment is always 0 (a stream is one log); the
 * form matches the protocol's reference server, whose conformance suite builds
 * the zero offset itself.
 */

const DIGITS = 16;
const SEGMENT = "0".repeat(DIGITS);
const OFFSET = /^(\d{16})_(\d{16})$/;

/** The offset of an empty stream's start. */
export const STREAM_OFFSET_ZERO = `${SEGMENT}_${"0".repeat(DIGITS)}`;

export function streamOffset(position: number): string {
  return `${SEGMENT}_${String(position).padStart(DIGITS, "0")}`;
}

/** The position an offset names, or null if edgelog never mints it. */
export function streamPosition(offset: string): number | null {
  const match = OFFSET.exec(offset);
  if (match === null || match[1] !== SEGMENT) return null;
  const position = Number(match[2]);
  return Number.isSafeInteger(position) ? position : null;
}

/** Where a read starts: the stream's start (`-1` or no offset), its tail (`now`), or an offset. */
export type ReadFrom = { kind: "start" } | { kind: "now" } | { kind: "at"; position: number };

/** The `offset` query parameter, all of its values: one at most, never empty, well formed. */
export function parseReadOffset(values: string[]): ReadFrom {
  if (values.length === 0) return { kind: "start" };
  if (values.length > 1) throw new EdgelogError("INVALID_REQUEST", "give offset once");
  const [text] = values as [string];
  if (text === "") throw new EdgelogError("INVALID_REQUEST", "offset is empty");
  if (text === "-1") return { kind: "start" };
  if (text === "now") return { kind: "now" };
  const position = streamPosition(text);
  if (position === null)
    throw new EdgelogError(
      "INVALID_REQUEST",
      `offset '${text.slice(0, 64)}' is not one this server returned (-1, now, or a Stream-Next-Offset value)`,
    );
  return { kind: "at", position };
}
