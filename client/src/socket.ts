/**
 * The WebSocket the client uses: the environment's (browsers, Workers, Node 22),
 * or one passed in (Node 20 has none: pass `ws`'s). Frames are JSON text; this
 * queues them so an async reader takes them in order.
 */
export type WebSocketLike = {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  readyState: number;
  addEventListener(type: string, listener: (event: any) => void): void;
};
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
  private readonly frames: any[] = [];
  private readonly waiters: ((frame: any) => void)[] = [];
  private closedWith: { code: number; reason: string } | null = null;
  readonly ws: WebSocketLike;

  private constructor(ws: WebSocketLike) {
    this.ws = ws;
    ws.addEventListener("message", (event) => {
      const frame = JSON.parse(typeof event.data === "string" ? event.data : String(event.data));
      const waiter = this.waiters.shift();
      if (waiter) waiter(frame);
      else this.frames.push(frame);
    });
    ws.addEventListener("close", (event) => {
      this.closedWith = { code: event.code, reason: event.reason };
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
  next(): Promise<any> {
    if (this.frames.length > 0) return Promise.resolve(this.frames.shift());
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
