import { EdgelogError } from "./errors";
import { type Transport, webSocketUrl } from "./http";
import { FrameSocket, type WebSocketConstructor } from "./socket";
import type { ConsumedRecord } from "./types";

/**
 * A partition tail over WebSocket (API.md: subscribe without a group): records
 * from `offset` (a number, "earliest" or "latest"), pushed as they pass the high
 * watermark, `credits` at a time; each batch the loop takes returns its credits.
 */
export type SubscribeOptions = {
  topic: string;
  partition: number;
  offset?: number | "earliest" | "latest";
  credits?: number;
};

export class Subscription implements AsyncIterable<ConsumedRecord[]> {
  private socket: FrameSocket | null = null;
  private closed = false;
  /** The offset the next pushed record will have (known once subscribed). */
  nextOffset: number | null = null;

  constructor(
    private readonly transport: Transport,
    private readonly options: SubscribeOptions,
    private readonly WebSocketCtor: () => WebSocketConstructor,
  ) {}

  async *[Symbol.asyncIterator](): AsyncIterator<ConsumedRecord[]> {
    const { topic, partition, offset = "latest", credits = 1_000 } = this.options;
    this.socket = await FrameSocket.open(this.WebSocketCtor(), webSocketUrl(this.transport));
    this.socket.send({ op: "subscribe", id: 1, topic, partition, offset, credits });
    let owed = 0;
    while (!this.closed) {
      if (owed > 0) {
        this.socket.send({ op: "credit", subscription: 1, credits: owed });
        owed = 0;
      }
      const frame = await this.socket.next();
      if (frame === null) {
        if (this.closed) return;
        throw new EdgelogError(0, { code: "NETWORK_EXCEPTION", message: "socket closed", retriable: true });
      }
      if (frame.op === "subscribed") this.nextOffset = frame.nextOffset;
      else if (frame.op === "error") throw new EdgelogError(400, frame.error);
      else if (frame.op === "records" && frame.records.length > 0) {
        owed += frame.records.length;
        this.nextOffset = frame.records[frame.records.length - 1]!.offset + 1;
        yield frame.records;
      }
    }
  }

  close(): void {
    this.closed = true;
    this.socket?.close();
  }
}
