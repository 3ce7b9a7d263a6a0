/**
 * Idempotent producers of the Durable Streams protocol (§5.2.1): the client
 * declares its epoch, the stream fences older ones and deduplicates by a
 * sequence number per request. Pure: the stream object stores the state.
 */

export type StreamProducerState = { epoch: number; lastSeq: number };

export type ProducerVerdict =
  /** Append, then store `state`. */
  | { kind: "accept"; state: StreamProducerState }
  /** Already appended: answer 204 with the highest accepted sequence. */
  | { kind: "duplicate"; lastSeq: number }
  /** An older epoch (a zombie): 403 with the current one. */
  | { kind: "fenced"; epoch: number }
  /** A newer epoch must start at sequence 0. */
  | { kind: "epochStartsAtZero" }
  /** A sequence skipped: 409 with the expected one. */
  | { kind: "gap"; expected: number; received: number };

export function checkProducer(
  state: StreamProducerState | undefined,
  epoch: number,
  seq: number,
): ProducerVerdict {
  if (state === undefined)
    return seq === 0
      ? { kind: "accept", state: { epoch, lastSeq: 0 } }
      : { kind: "gap", expected: 0, received: seq };
  if (epoch < state.epoch) return { kind: "fenced", epoch: state.epoch };
  if (epoch > state.epoch)
    return seq === 0 ? { kind: "accept", state: { epoch, lastSeq: 0 } } : { kind: "epochStartsAtZero" };
  if (seq <= state.lastSeq) return { kind: "duplicate", lastSeq: state.lastSeq };
  if (seq === state.lastSeq + 1) return { kind: "accept", state: { epoch, lastSeq: seq } };
  return { kind: "gap", expected: state.lastSeq + 1, received: seq };
}
