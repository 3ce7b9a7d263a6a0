import { type ReadRecord, recordToEvent } from "../core/cloudevents";
import type { ReadFormat } from "../schemas/query";

/**
 * A fetch or poll answer (JSON text, as the partition or group spliced it) in the
 * asked format: as is, or with each record produced as a CloudEvent carrying the
 * event in structured mode as its value (API.md "Events and tracing"); other
 * records stay as they are. Only `format=cloudevents` pays for the parse.
 */
export function inFormat(answer: string, format: ReadFormat): string {
  if (format === "json") return answer;
  const parsed = JSON.parse(answer) as { records: (ReadRecord & Record<string, unknown>)[] };
  parsed.records = parsed.records.map((record) => {
    const event = recordToEvent(record);
    if (event === null) return record;
    const { valueBase64: _bytes, ...rest } = record;
    return { ...rest, value: event };
  });
  return JSON.stringify(parsed);
}
