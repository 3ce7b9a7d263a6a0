import { fail, ok, type Result } from "./errors";

/** Where a fetch starts: an offset, the log's ends, or the first record at/after a timestamp. */
export type FetchPosition =
  | { kind: "offset"; offset: number }
  | { kind: "earliest" }
  | { kind: "latest" }
  | { kind: "timestamp"; timestamp: number };

export type LogOffsets = { logStartOffset: number; highWatermark: number };

/**
 * Resolves a fetch position against the log. An explicit offset outside
 * [logStartOffset, highWatermark] is OFFSET_OUT_OF_RANGE (Kafka's rule); a
 * timestamp past every record resolves to the high watermark (nothing yet).
 */
export function resolveFetchOffset(
  position: FetchPosition,
  log: LogOffsets,
  offsetForTimestamp: (timestamp: number) => number | null,
): Result<number> {
  switch (position.kind) {
    case "earliest":
      return ok(log.logStartOffset);
    case "latest":
      return ok(log.highWatermark);
    case "timestamp": {
      const found = offsetForTimestamp(position.timestamp);
      return ok(
        found === null ? log.highWatermark : Math.min(Math.max(found, log.logStartOffset), log.highWatermark),
      );
    }
    case "offset":
      if (position.offset < log.logStartOffset || position.offset > log.highWatermark)
        return fail(
          "OFFSET_OUT_OF_RANGE",
          `offset ${position.offset} is outside the readable range [${log.logStartOffset}, ${log.highWatermark}]`,
          { logStartOffset: log.logStartOffset, highWatermark: log.highWatermark },
        );
      return ok(position.offset);
  }
}
