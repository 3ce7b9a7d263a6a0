import { EdgelogError } from "./errors";

/**
 * JSON mode of the Durable Streams protocol (§9.1): an append's body is one
 * value or an array of values (one level flattened); the stream keeps each
 * append as its values joined by commas, so a read is `[` + the appends joined
 * by commas + `]`, spliced without parsing.
 */

/** The values of a body as stored text; an empty array is allowed only when creating. */
export function jsonAppend(text: string, creating: boolean): string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new EdgelogError("INVALID_REQUEST", `body is not valid JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(value)) return JSON.stringify(value);
  if (value.length === 0) {
    if (creating) return "";
    throw new EdgelogError(
      "INVALID_REQUEST",
      "an append of an empty JSON array appends nothing: send values",
    );
  }
  return value.map((item) => JSON.stringify(item)).join(",");
}

/** A read's body from stored appends. */
export function jsonRead(appends: string[]): string {
  return `[${appends.join(",")}]`;
}

/** The first `count` values of a stored append (a fork's sub-offset), or null if it has fewer. */
export function jsonPrefix(stored: string, count: number): string | null {
  const values = JSON.parse(`[${stored}]`) as unknown[];
  if (count > values.length) return null;
  return values
    .slice(0, count)
    .map((item) => JSON.stringify(item))
    .join(",");
}
