/**
 * The attack clients' h2c connection (prior knowledge), driven by hand with raw frames
 * (lib/h2_frames.ts): what an attacker writes, with no client library deciding for it. Responses are
 * read far enough to count them: the `:status` of each response HEADERS, RST_STREAM and GOAWAY from
 * the server. The client announces SETTINGS_HEADER_TABLE_SIZE 0, so the server's HPACK encoder cannot
 * refer to its dynamic table and `decodeStatus` can read every status.
 */
import { connect, type Socket } from "node:net";
import { ignoreErrorHandledOnClose } from "../../lib/errors.js";
import {
  decodeStatus,
  type Frame,
  FrameFlag,
  FrameReader,
  FrameType,
  frame,
  H2_PREFACE,
  headerBlock,
  Setting,
  settingsFrame,
  windowUpdateFrame,
} from "../../lib/h2_frames.js";

/**
 * The client's connection start: preface, SETTINGS (no push, no HPACK dynamic table, the largest
 * stream window) and a WINDOW_UPDATE opening the connection window as far as it goes, so the server
 * never waits on the attacker's flow control.
 */
function clientStart(): Buffer {
  return Buffer.concat([
    H2_PREFACE,
    settingsFrame([
      [Setting.HEADER_TABLE_SIZE, 0],
      [Setting.ENABLE_PUSH, 0],
      [Setting.INITIAL_WINDOW_SIZE, 0x7fffffff],
    ]),
    windowUpdateFrame(0x7fffffff - 65_535),
  ]);
}

/** What one attacking connection saw from the server. */
export interface ConnTally {
  /** Streams the client opened (HEADERS written). */
  opened: number;
  /** Response HEADERS by `:status` ("?" when unreadable). */
  statuses: Record<string, number>;
  /** RST_STREAM from the server by error code (7 = REFUSED_STREAM). */
  resets: Record<string, number>;
  /** GOAWAY error code, when the server sent one. */
  goaway: number | null;
  /** The server closed the connection (FIN or RST) before the client did. */
  closedByServer: boolean;
  /** The server's SETTINGS_MAX_CONCURRENT_STREAMS; null: not sent (no limit). */
  maxConcurrentStreams: number | null;
}

export function emptyTally(): ConnTally {
  return {
    opened: 0,
    statuses: {},
    resets: {},
    goaway: null,
    closedByServer: false,
    maxConcurrentStreams: null,
  };
}

const bump = (m: Record<string, number>, k: string): void => {
  m[k] = (m[k] ?? 0) + 1;
};

/** An h2c connection driven by hand: ACKs the server's SETTINGS and PINGs, tallies what comes back. */
export class RawH2Client {
  readonly tally = emptyTally();
  /** Streams opened and not yet ended by the server (END_STREAM or RST_STREAM); see `opened`. */
  readonly live = new Set<number>();
  private closing = false;
  private readonly closed: Promise<void>;
  private settingsSeen: () => void = () => undefined;
  /** Resolves with the server's first SETTINGS. */
  readonly settings: Promise<void> = new Promise((resolve) => {
    this.settingsSeen = resolve;
  });
  /** Called whenever a stream of `live` ends. */
  onStreamEnd: () => void = () => undefined;

  private constructor(readonly socket: Socket) {
    const reader = new FrameReader((f) => this.onFrame(f));
    socket.on("data", (c: Buffer) => reader.push(c));
    this.closed = new Promise((resolve) => {
      socket.on("close", () => {
        if (!this.closing) this.tally.closedByServer = true;
        resolve();
      });
    });
    // a reset or EPIPE from a server that closed the connection: 'close' follows and counts it
    socket.on("error", ignoreErrorHandledOnClose);
  }

  /** Connects to 127.0.0.1:port and writes the client's connection start. */
  static connect(port: number): Promise<RawH2Client> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: "127.0.0.1", noDelay: true });
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        const client = new RawH2Client(socket);
        socket.write(clientStart());
        resolve(client);
      });
    });
  }

  get open(): boolean {
    return !this.socket.destroyed && !this.tally.closedByServer;
  }

  /** Writes `buf` and resolves once the socket can take more (or is gone). */
  write(buf: Buffer): Promise<void> {
    if (!this.open) return Promise.resolve();
    if (this.socket.write(buf)) return new Promise((resolve) => setImmediate(resolve));
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off("drain", done);
        this.socket.off("close", done);
        resolve();
      };
      this.socket.on("drain", done);
      this.socket.on("close", done);
    });
  }

  /** Resolves when the server closes the connection or after `ms`, whichever comes first. */
  waitClosed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      void this.closed.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The client leaves: the connection is closed at once (TCP RST not needed: a FIN is what clients send). */
  async close(): Promise<void> {
    this.closing = true;
    this.socket.destroy();
    await this.closed;
  }

  /** Records streams the caller has written HEADERS for (ids), for `live`. */
  opened(ids: number[]): void {
    for (const id of ids) this.live.add(id);
    this.tally.opened += ids.length;
  }

  private ended(id: number): void {
    if (this.live.delete(id)) this.onStreamEnd();
  }

  private onFrame(f: Frame): void {
    if ((f.type === FrameType.HEADERS || f.type === FrameType.DATA) && (f.flags & FrameFlag.END_STREAM) !== 0)
      this.ended(f.streamId);
    switch (f.type) {
      case FrameType.SETTINGS:
        if ((f.flags & FrameFlag.ACK) !== 0) break;
        for (let i = 0; i + 6 <= f.payload.length; i += 6)
          if (f.payload.readUInt16BE(i) === Setting.MAX_CONCURRENT_STREAMS)
            this.tally.maxConcurrentStreams = f.payload.readUInt32BE(i + 2);
        this.socket.write(frame(FrameType.SETTINGS, FrameFlag.ACK, 0));
        this.settingsSeen();
        break;
      case FrameType.PING:
        if ((f.flags & FrameFlag.ACK) === 0)
          this.socket.write(frame(FrameType.PING, FrameFlag.ACK, 0, f.payload));
        break;
      case FrameType.HEADERS: {
        // a response HEADERS (trailers would come after DATA; the attack paths send none)
        const status = (f.flags & FrameFlag.END_HEADERS) !== 0 ? decodeStatus(headerBlock(f)) : null;
        bump(this.tally.statuses, status === null ? "?" : String(status));
        break;
      }
      case FrameType.RST_STREAM:
        bump(this.tally.resets, String(f.payload.readUInt32BE(0)));
        this.ended(f.streamId);
        break;
      case FrameType.GOAWAY:
        this.tally.goaway = f.payload.readUInt32BE(4);
        break;
      default:
        break;
    }
  }
}
