import type { ErrorEnvelope } from "./types";

/**
 * An error answer of the gateway (its envelope), or a transport failure (status 0,
 * code NETWORK_EXCEPTION, retriable: the request may or may not have arrived).
 */
export class EdgelogError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(
    readonly status: number,
    envelope: ErrorEnvelope,
    /** Seconds the gateway asked to wait (`retry-after`), when it did. */
    readonly retryAfterS: number | null = null,
    /** The whole answer (a produce's per-record results, an offset error's bounds). */
    readonly body: unknown = undefined,
  ) {
    super(`${envelope.code}: ${envelope.message}`);
    this.name = "EdgelogError";
    this.code = envelope.code;
    this.retriable = envelope.retriable;
  }
}

export function networkError(cause: unknown): EdgelogError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new EdgelogError(0, { code: "NETWORK_EXCEPTION", message, retriable: true });
}
