const encoder = new TextEncoder();

/**
 * The body of a Server-Sent Events answer: `send` writes text once the client took
 * what came before (backpressure: a slow reader holds one write, not a backlog), and
 * rejects once the client is gone; `close` ends the body and never throws.
 */
export function sseChannel(): {
  readable: ReadableStream<Uint8Array>;
  send: (text: string) => Promise<void>;
  close: () => Promise<void>;
} {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  return {
    readable,
    send: async (text) => {
      await writer.ready;
      await writer.write(encoder.encode(text));
    },
    close: () => writer.close().catch(() => undefined),
  };
}
