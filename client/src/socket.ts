import type { ConsumedRecord, ErrorEnvelope, PartitionRef } from "./types";

/**
 * The WebSocket the client uses: the environment's (browsers, Workers, Node 22),
 * or one passed in (Node 20 has none: pass `ws`'s). Frames are JSON text; this
 * queues them so an async reader takes them in order.
 */
export type WebSocketLike = {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  readyState: number;
  // biome-ignore lint/suspicious/noExplicitAny: the DOM's and ws's overloads differ; events are read as SocketEvent
  addEventListener(type: string, listener: (event: any) => void): void;
};
/** What the client reads of a socket event (message: data; close: code and reason). */
export type SocketEvent = { data?: unknown; code?: number; reason?: string };

type FrameId = string | number;
/** A server frame (API.md "WebSocket"), told apart by `op`. */
export type Frame =
  | { op: "assigned"; id: FrameId; memberId: string; generation: number; assignments: PartitionRef[] }
  | { op: "records"; subscription?: FrameId; records: ConsumedRecord[] }
  | { op: "subscribed"; id: FrameId; nextOffset: number }
  | { op: "committed"; id: FrameId }
  | { op: "error"; id: FrameId | null; error: ErrorEnvelope }
  | { op: "produced" | "unsubscribed"; id: FrameId };
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export function webSocketConstructor(given?: WebSocketConstructor): WebSocketConstructor {
  const ctor = given ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!ctor)
    throw new Error(
      "no WebSocket in this environment: pass one, e.g. new Edgelog({ url, WebSocket: (await import('ws')).default })",
    );
  return ctor;
}

/** A socket whose frames are read one at a time (`next()`), and which says when it closed. */
export class FrameSocket {
  private readonly frames: Frame[] = [];
  private readonly waiters: ((frame: Frame | null) => void)[] = [];
  private closedWith: { code: number; reason: string } | null = null;
  readonly ws: WebSocketLike;

  private constructor(ws: WebSocketLike) {
    this.ws = ws;
    ws.addEventListener("message", (event: SocketEvent) => {
      const frame = JSON.parse(typeof event.data === "string" ? event.data : String(event.data)) as Frame;
      const waiter = this.waiters.shift();
      if (waiter) waiter(frame);
      else this.frames.push(frame);
    });
    ws.addEventListener("close", (event: SocketEvent) => {
      this.closedWith = { code: event.code ?? 1006, reason: event.reason ?? "" };
      for (const waiter of this.waiters.splice(0)) waiter(null);
    });
  }

  static open(ctor: WebSocketConstructor, url: string): Promise<FrameSocket> {
    const ws = new ctor(url);
    const socket = new FrameSocket(ws);
    return new Promise((resolve, reject) => {
      ws.addEventListener("open", () => resolve(socket));
      ws.addEventListener("error", () =>
        reject(new Error(`WebSocket ${url.replace(/access_token=[^&]*/, "access_token=…")} failed`)),
      );
    });
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** The next frame; null once the socket closed. */
  next(): Promise<Frame | null> {
    if (this.frames.length > 0) return Promise.resolve(this.frames.shift()!);
    if (this.closedWith) return Promise.resolve(null);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  get closeInfo(): { code: number; reason: string } | null {
    return this.closedWith;
  }

  close(): void {
    this.ws.close(1000, "closed by the client");
  }
}
