/**
 * One HTTP/2 connection (RFC 9113) over a socket, server or client role. Frames come in through the
 * FrameReader and go out through Output, flushed once per socket read (or once per tick for writes made
 * outside a read). Flow control both ways: our windows are returned as data is consumed (the
 * connection window on receipt, a stream's once its application has the data and is not paused); the peer's
 * windows gate our DATA, and so does the socket's own backlog (outboundHighWater), so a slow reader
 * pushes back on every stream instead of growing our memory.
 */
import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import { ignoreErrorHandledOnClose } from "../errors.js";
import { FrameReader, type FrameSink } from "./frame_reader.js";
import {
  DEFAULT_WINDOW,
  ErrorCode,
  Flag,
  FRAME_HEADER_SIZE,
  FrameType,
  MAX_MAX_FRAME_SIZE,
  MAX_WINDOW,
  MIN_MAX_FRAME_SIZE,
  PREFACE,
  SettingId,
  writeFrameHeader,
  writeGoaway,
  writePing,
  writeRstStream,
  writeSettings,
  writeWindowUpdate,
} from "./frames.js";
import { MALFORMED, statusOf, validateRequest, validateResponse, validateTrailers } from "./headers.js";
import { HpackDecoder, HpackEncoder, HpackError } from "./hpack.js";
import { DEFAULTS, type Http2Callbacks, type Http2Options } from "./options.js";
import { Output } from "./output.js";
import { ProtocolConstraints } from "./protocol_constraints.js";
import { type Fields, Http2Stream } from "./stream.js";

export type { Http2Callbacks, Http2Options } from "./options.js";

/** Streams we answered with RST_STREAM: their in-flight frames are ignored (RFC 9113 5.4.2). */
const RECENT_RESETS = 1024;
/** Stream ids are 31 bits (RFC 9113 5.1.1): a client past this needs a new connection. */
const MAX_STREAM_ID = 0x7fffffff;
/** CONTINUATION frames in one header block (a 60 KiB block needs 4 at the default frame size). */
const MAX_CONTINUATIONS = 128;
/** DATA payloads up to this size are copied into the slab; larger ones are queued as they are. */
const COPY_LIMIT = 2048;

export class Http2Connection implements FrameSink {
  readonly isServer: boolean;
  private readonly options: Required<Http2Options>;
  private readonly out: Output;
  private readonly reader: FrameReader;
  private readonly decoder: HpackDecoder;
  private readonly encoder = new HpackEncoder();
  private readonly streams = new Map<number, Http2Stream>();
  private readonly recentResets = new Set<number>();
  private blockedStreams: Http2Stream[] = [];

  private prefaceLeft: number;
  private gotSettings = false;
  private lastPeerStreamId = 0;
  private nextStreamId: number;
  private peerActive = 0;
  private localActive = 0;
  private readonly limits: ProtocolConstraints;

  // Header block being assembled from HEADERS + CONTINUATION.
  private contId = 0;
  private contFlags = 0;
  private contParts: Buffer[] = [];
  private contSize = 0;
  private contSelfDep = false;

  private sendWindow = DEFAULT_WINDOW;
  private recvWindow: number;
  private recvUnacked = 0;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrameSize = MIN_MAX_FRAME_SIZE;
  /** The peer's SETTINGS_MAX_CONCURRENT_STREAMS (client role: how many requests at once). */
  peerMaxConcurrentStreams = Number.POSITIVE_INFINITY;
  /** The peer allows extended CONNECT (RFC 8441). */
  peerConnectProtocol = false;

  private inRead = false;
  private flushQueued = false;
  goawaySent = false;
  goawayReceived = false;
  /** A connection error ended it (GOAWAY sent, socket ending). */
  failed = false;
  closed = false;

  constructor(
    readonly socket: Socket,
    role: "server" | "client",
    options: Http2Options = {},
    private readonly callbacks: Http2Callbacks = {},
  ) {
    this.isServer = role === "server";
    this.options = { ...DEFAULTS, ...options };
    this.limits = new ProtocolConstraints(this.options);
    this.out = new Output(socket);
    this.reader = new FrameReader(this, MIN_MAX_FRAME_SIZE);
    this.decoder = new HpackDecoder(4096);
    this.prefaceLeft = this.isServer ? PREFACE.length : 0;
    this.nextStreamId = this.isServer ? 2 : 1;
    this.recvWindow = this.options.initialConnectionWindowSize;

    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onSocketData(chunk));
    socket.on("drain", () => {
      this.socketDrained();
      this.resumeBlocked();
    });
    socket.on("error", ignoreErrorHandledOnClose);
    socket.on("close", () => this.onSocketClose());
    this.sendPreface();
  }

  /** Streams open now, ours and the peer's. */
  get activeStreams(): number {
    return this.streams.size;
  }

  /** Client: a new request can go out now (open, no GOAWAY either way, under the peer's stream limit). */
  get canRequest(): boolean {
    return (
      !this.failed &&
      !this.closed &&
      !this.goawaySent &&
      !this.goawayReceived &&
      this.nextStreamId <= MAX_STREAM_ID &&
      this.localActive < this.peerMaxConcurrentStreams
    );
  }

  /**
   * Client: opens a stream with the request head. On a connection that is closing or out of stream
   * ids, the stream is reset with REFUSED_STREAM (on the next tick, after the caller set onReset):
   * the request was not sent and can be retried elsewhere.
   */
  request(fields: readonly string[], endStream = false): Http2Stream {
    const id = this.nextStreamId;
    const stream = new Http2Stream(id, this, this.peerInitialWindow, this.options.initialStreamWindowSize);
    if (this.failed || this.closed || this.goawaySent || this.goawayReceived || id > MAX_STREAM_ID) {
      stream.closed = true;
      process.nextTick(refuseUnsent, stream);
      return stream;
    }
    this.nextStreamId += 2;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === ":method") stream.isHead = fields[i + 1] === "HEAD";
    }
    this.streams.set(id, stream);
    this.localActive++;
    this.limits.streamsOpened++;
    this.sendHeaders(stream, fields, endStream);
    return stream;
  }

  /** Graceful close: no new streams; the socket ends when the open ones are done. */
  goaway(code: number = ErrorCode.NO_ERROR): void {
    if (this.goawaySent || this.closed) return;
    this.goawaySent = true;
    const buf = this.out.reserve(17);
    this.out.end = writeGoaway(buf, this.out.end, this.lastPeerStreamId, code);
    this.scheduleFlush();
    if (this.streams.size === 0) this.endSocket();
  }

  ping(payload: Buffer): void {
    const buf = this.out.reserve(17);
    this.out.end = writePing(buf, this.out.end, payload, false);
    this.scheduleFlush();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /**
   * Closes now, without a GOAWAY and without flushing (Envoy's `Abort`, for a peer we refuse to serve
   * any more): reading stops at the current frame, every open stream is reset (onReset, onClose), and
   * the socket is reset (a peer that does not read would otherwise hold it until our writes drain).
   * A TLS socket has no TCP handle to reset (Node throws ERR_INVALID_HANDLE_TYPE): it is destroyed.
   */
  abort(): void {
    if (this.closed) return;
    this.failed = true;
    this.reader.stopped = true;
    for (const stream of [...this.streams.values()]) this.closeStream(stream, ErrorCode.CANCEL);
    if (this.socket instanceof TLSSocket) this.socket.destroy();
    else this.socket.resetAndDestroy();
  }

  // --- Reading ---

  private onSocketData(chunk: Buffer): void {
    if (this.failed) return;
    this.inRead = true;
    let data = chunk;
    if (this.prefaceLeft > 0) {
      const at = PREFACE.length - this.prefaceLeft;
      const n = Math.min(this.prefaceLeft, data.length);
      if (PREFACE.compare(data, 0, n, at, at + n) !== 0) {
        this.fail(ErrorCode.PROTOCOL_ERROR, "bad preface");
      } else {
        this.prefaceLeft -= n;
        data = data.subarray(n);
      }
    }
    try {
      if (!this.failed && data.length > 0) this.reader.push(data);
    } finally {
      // Even when an application callback threw: what it wrote goes out, and later writes flush.
      this.inRead = false;
      this.flush();
    }
  }

  onOversizedFrame(_type: number, _length: number, _streamId: number): void {
    // Every frame larger than SETTINGS_MAX_FRAME_SIZE ends the connection: a HEADERS one must
    // (it may change the HPACK state, 4.2), and a DATA one that large is a broken peer.
    this.fail(ErrorCode.FRAME_SIZE_ERROR);
  }

  onFrame(type: number, flags: number, id: number, payload: Buffer): boolean {
    if (!this.gotSettings) {
      if (type !== FrameType.SETTINGS || (flags & Flag.ACK) !== 0) {
        this.fail(ErrorCode.PROTOCOL_ERROR, "first frame must be SETTINGS");
        return false;
      }
    }
    if (this.contId !== 0 && type !== FrameType.CONTINUATION) {
      this.fail(ErrorCode.PROTOCOL_ERROR, "header block interrupted");
      return false;
    }
    switch (type) {
      case FrameType.DATA:
        this.onData(flags, id, payload);
        break;
      case FrameType.HEADERS:
        this.onHeaders(flags, id, payload);
        break;
      case FrameType.PRIORITY:
        this.onPriority(id, payload);
        break;
      case FrameType.RST_STREAM:
        this.onRstStream(id, payload);
        break;
      case FrameType.SETTINGS:
        this.onSettings(flags, id, payload);
        break;
      case FrameType.PUSH_PROMISE:
        // We never enable push; a server never receives it (RFC 9113 8.4).
        this.fail(ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE");
        break;
      case FrameType.PING:
        this.onPing(flags, id, payload);
        break;
      case FrameType.GOAWAY:
        this.onGoaway(id, payload);
        break;
      case FrameType.WINDOW_UPDATE:
        this.onWindowUpdate(id, payload);
        break;
      case FrameType.CONTINUATION:
        this.onContinuation(flags, id, payload);
        break;
      default:
        // Unknown frame types are ignored (RFC 9113 5.5).
        break;
    }
    return !this.failed;
  }

  /** Peer-initiated ids have the peer's parity; an id not yet used is idle (RFC 9113 5.1.1). */
  private isIdle(id: number): boolean {
    const peerParity = this.isServer ? 1 : 0;
    if ((id & 1) === peerParity) return id > this.lastPeerStreamId;
    return id >= this.nextStreamId;
  }

  private onData(flags: number, id: number, payload: Buffer): void {
    if (id === 0) {
      this.fail(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0");
      return;
    }
    let data = payload;
    if ((flags & Flag.PADDED) !== 0) {
      const pad = payload.length > 0 ? (payload[0] as number) : 0;
      if (payload.length === 0 || pad >= payload.length) {
        this.fail(ErrorCode.PROTOCOL_ERROR, "bad padding");
        return;
      }
      data = payload.subarray(1, payload.length - pad);
    }
    const frameLength = payload.length;
    this.recvWindow -= frameLength;
    if (this.recvWindow < 0) {
      this.fail(ErrorCode.FLOW_CONTROL_ERROR);
      return;
    }
    // The connection window is returned on receipt (nghttp2's default), so that one paused stream never
    // stalls the others; what a peer can make us hold stays bounded by the stream windows.
    this.recvUnacked += frameLength;
    if (this.recvUnacked >= this.options.initialConnectionWindowSize >>> 1) this.sendConnectionWindowUpdate();

    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (this.isIdle(id)) {
        this.fail(ErrorCode.PROTOCOL_ERROR, "DATA on an idle stream");
        return;
      }
      if (this.recentResets.has(id)) return;
      this.fail(ErrorCode.STREAM_CLOSED, "DATA on a closed stream");
      return;
    }
    if (stream.remoteEnded) {
      this.streamError(stream, ErrorCode.STREAM_CLOSED);
      return;
    }
    stream.recvWindow -= frameLength;
    if (stream.recvWindow < 0) {
      this.streamError(stream, ErrorCode.FLOW_CONTROL_ERROR);
      return;
    }
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if (!this.limits.dataReceived(data.length === 0 && !endStream)) {
      this.flood();
      return;
    }
    stream.receivedLength += data.length;
    if (stream.expectedLength >= 0 && stream.receivedLength > stream.expectedLength) {
      this.streamError(stream, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    // Padding is consumed at once; data when the application has had it.
    stream.recvUnacked += frameLength - data.length;
    if (data.length > 0) {
      stream.onData?.(data);
      if (stream.closed) return;
      if (stream.paused) stream.held += data.length;
      else stream.recvUnacked += data.length;
    }
    if (endStream) {
      if (stream.expectedLength >= 0 && stream.receivedLength !== stream.expectedLength) {
        this.streamError(stream, ErrorCode.PROTOCOL_ERROR);
        return;
      }
      this.remoteEnd(stream);
      return;
    }
    this.returnWindow(stream);
  }

  private onHeaders(flags: number, id: number, payload: Buffer): void {
    if (id === 0) {
      this.fail(ErrorCode.PROTOCOL_ERROR, "HEADERS on stream 0");
      return;
    }
    let o = 0;
    let pad = 0;
    if ((flags & Flag.PADDED) !== 0) {
      if (payload.length < 1) {
        this.fail(ErrorCode.FRAME_SIZE_ERROR);
        return;
      }
      pad = payload[0] as number;
      o = 1;
    }
    let selfDep = false;
    if ((flags & Flag.PRIORITY) !== 0) {
      if (payload.length < o + 5) {
        this.fail(ErrorCode.FRAME_SIZE_ERROR);
        return;
      }
      selfDep = (payload.readUInt32BE(o) & 0x7fffffff) === id;
      o += 5;
    }
    if (o + pad > payload.length) {
      this.fail(ErrorCode.PROTOCOL_ERROR, "bad padding");
      return;
    }
    const fragment = payload.subarray(o, payload.length - pad);
    if ((flags & Flag.END_HEADERS) === 0) {
      this.contId = id;
      this.contFlags = flags;
      this.contParts = [fragment];
      this.contSize = fragment.length;
      this.contSelfDep = selfDep;
      return;
    }
    this.onHeaderBlock(id, (flags & Flag.END_STREAM) !== 0, fragment, selfDep);
  }

  private onContinuation(flags: number, id: number, payload: Buffer): void {
    if (this.contId === 0 || id !== this.contId) {
      this.fail(ErrorCode.PROTOCOL_ERROR, "stray CONTINUATION");
      return;
    }
    // Payload views point into socket chunks that stay valid; only the size needs a bound.
    this.contParts.push(payload);
    this.contSize += payload.length;
    // Bounded in bytes and in frames: empty CONTINUATION frames cost nothing to send (CVE-2024-27316).
    if (
      this.contSize > Math.max(2 * this.options.maxHeaderListSize, 65_536) ||
      this.contParts.length > MAX_CONTINUATIONS
    ) {
      this.fail(ErrorCode.ENHANCE_YOUR_CALM, "header block too large");
      return;
    }
    if ((flags & Flag.END_HEADERS) === 0) return;
    const block = Buffer.concat(this.contParts);
    this.contId = 0;
    this.contParts = [];
    this.onHeaderBlock(id, (this.contFlags & Flag.END_STREAM) !== 0, block, this.contSelfDep);
  }

  private onHeaderBlock(id: number, endStream: boolean, block: Buffer, selfDep: boolean): void {
    const fields: Fields = [];
    let listSize: number;
    try {
      listSize = this.decoder.decode(block, fields);
    } catch (err) {
      if (err instanceof HpackError) {
        this.fail(ErrorCode.COMPRESSION_ERROR, err.message);
        return;
      }
      throw err;
    }
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (this.isServer && (id & 1) === 1 && id > this.lastPeerStreamId) {
        this.openPeerStream(id, fields, listSize, endStream, selfDep);
        return;
      }
      if (this.isIdle(id)) {
        this.fail(ErrorCode.PROTOCOL_ERROR, "HEADERS on an idle stream");
        return;
      }
      if (this.recentResets.has(id)) return;
      this.fail(ErrorCode.STREAM_CLOSED, "HEADERS on a closed stream");
      return;
    }
    if (selfDep) {
      this.streamError(stream, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    if (stream.remoteEnded) {
      this.streamError(stream, ErrorCode.STREAM_CLOSED);
      return;
    }
    if (listSize > this.options.maxHeaderListSize) {
      this.streamError(stream, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    if (!this.isServer && !stream.finalResponse) {
      this.onResponseHead(stream, fields, endStream);
      return;
    }
    // Trailers: END_STREAM and regular fields only (RFC 9113 8.1).
    if (!endStream || !validateTrailers(fields)) {
      this.streamError(stream, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    if (stream.expectedLength >= 0 && stream.receivedLength !== stream.expectedLength) {
      this.streamError(stream, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    stream.onTrailers?.(fields);
    if (!stream.closed) this.remoteEnd(stream);
  }

  private openPeerStream(
    id: number,
    fields: Fields,
    listSize: number,
    endStream: boolean,
    selfDep: boolean,
  ): void {
    this.lastPeerStreamId = id;
    if (selfDep) {
      this.refuse(id, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    if (this.goawaySent) {
      this.refuse(id, ErrorCode.REFUSED_STREAM);
      return;
    }
    if (this.peerActive >= this.options.maxConcurrentStreams) {
      this.refuse(id, ErrorCode.REFUSED_STREAM);
      return;
    }
    // Envoy's codec checks the list's size and its count of fields as it decodes them, and resets
    // the stream past either limit (no 431 on HTTP/2).
    if (listSize > this.options.maxHeaderListSize) {
      this.refuse(id, ErrorCode.INTERNAL_ERROR);
      this.callbacks.onHeaderOverflow?.("size");
      return;
    }
    if (fields.length > 2 * this.options.maxHeadersCount) {
      this.refuse(id, ErrorCode.INTERNAL_ERROR);
      this.callbacks.onHeaderOverflow?.("count");
      return;
    }
    const length = validateRequest(fields, this.options.enableConnectProtocol);
    if (length === MALFORMED) {
      this.refuse(id, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    if (endStream && length > 0) {
      this.refuse(id, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    const stream = new Http2Stream(id, this, this.peerInitialWindow, this.options.initialStreamWindowSize);
    stream.expectedLength = length;
    stream.remoteEnded = endStream;
    this.streams.set(id, stream);
    this.peerActive++;
    this.limits.streamsOpened++;
    this.callbacks.onStream?.(stream, fields, endStream);
    if (endStream && !stream.closed) {
      stream.onEnd?.();
      this.maybeClose(stream);
    }
  }

  private onResponseHead(stream: Http2Stream, fields: Fields, endStream: boolean): void {
    const length = validateResponse(fields);
    if (length === MALFORMED) {
      this.streamError(stream, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    const status = statusOf(fields);
    if (status < 200) {
      // Informational: never END_STREAM; 101 does not exist in HTTP/2 (RFC 9113 8.6).
      if (endStream || status === 101) {
        this.streamError(stream, ErrorCode.PROTOCOL_ERROR);
        return;
      }
      stream.onHeaders?.(fields, false);
      return;
    }
    stream.finalResponse = true;
    // HEAD, 204 and 304 carry a content-length that describes no body.
    if (!stream.isHead && status !== 204 && status !== 304) stream.expectedLength = length;
    if (endStream && stream.expectedLength > 0) {
      this.streamError(stream, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    stream.onHeaders?.(fields, endStream);
    if (endStream && !stream.closed) this.remoteEnd(stream);
  }

  private onPriority(id: number, payload: Buffer): void {
    if (id === 0) {
      this.fail(ErrorCode.PROTOCOL_ERROR, "PRIORITY on stream 0");
      return;
    }
    if (payload.length !== 5) {
      this.rstById(id, ErrorCode.FRAME_SIZE_ERROR);
      return;
    }
    if (!this.limits.priorityReceived()) {
      this.flood();
      return;
    }
    // Priority is ignored (RFC 9113 5.3.2), but a stream depending on itself is an error (5.3.1).
    if ((payload.readUInt32BE(0) & 0x7fffffff) === id) {
      const stream = this.streams.get(id);
      if (stream !== undefined) {
        this.streamError(stream, ErrorCode.PROTOCOL_ERROR);
        return;
      }
      this.rstById(id, ErrorCode.PROTOCOL_ERROR);
      return;
    }
  }

  private onRstStream(id: number, payload: Buffer): void {
    if (id === 0) {
      this.fail(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on stream 0");
      return;
    }
    if (payload.length !== 4) {
      this.fail(ErrorCode.FRAME_SIZE_ERROR);
      return;
    }
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (this.isIdle(id)) {
        this.fail(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on an idle stream");
        return;
      }
      return;
    }
    if (this.isServer && !stream.localEnded) {
      // Premature: reset by the client before our response ended.
      if (!this.limits.prematureReset()) {
        this.flood();
        return;
      }
    }
    this.closeStream(stream, payload.readUInt32BE(0));
  }

  private onSettings(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) {
      this.fail(ErrorCode.PROTOCOL_ERROR, "SETTINGS on a stream");
      return;
    }
    if ((flags & Flag.ACK) !== 0) {
      if (payload.length !== 0) {
        this.fail(ErrorCode.FRAME_SIZE_ERROR);
        return;
      }
      return;
    }
    if (payload.length % 6 !== 0) {
      this.fail(ErrorCode.FRAME_SIZE_ERROR);
      return;
    }
    this.gotSettings = true;
    for (let o = 0; o < payload.length; o += 6) {
      const key = payload.readUInt16BE(o);
      const value = payload.readUInt32BE(o + 2);
      switch (key) {
        case SettingId.HEADER_TABLE_SIZE:
          this.encoder.setPeerTableSize(value);
          break;
        case SettingId.ENABLE_PUSH:
          if (value > 1) {
            this.fail(ErrorCode.PROTOCOL_ERROR, "ENABLE_PUSH");
            return;
          }
          break;
        case SettingId.MAX_CONCURRENT_STREAMS:
          this.peerMaxConcurrentStreams = value;
          break;
        case SettingId.INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW) {
            this.fail(ErrorCode.FLOW_CONTROL_ERROR, "INITIAL_WINDOW_SIZE");
            return;
          }
          const delta = value - this.peerInitialWindow;
          this.peerInitialWindow = value;
          for (const stream of this.streams.values()) {
            stream.sendWindow += delta;
            if (stream.sendWindow > MAX_WINDOW) {
              this.fail(ErrorCode.FLOW_CONTROL_ERROR);
              return;
            }
          }
          break;
        }
        case SettingId.MAX_FRAME_SIZE:
          if (value < MIN_MAX_FRAME_SIZE || value > MAX_MAX_FRAME_SIZE) {
            this.fail(ErrorCode.PROTOCOL_ERROR, "MAX_FRAME_SIZE");
            return;
          }
          this.peerMaxFrameSize = value;
          break;
        case SettingId.ENABLE_CONNECT_PROTOCOL:
          if (value > 1) {
            this.fail(ErrorCode.PROTOCOL_ERROR, "ENABLE_CONNECT_PROTOCOL");
            return;
          }
          this.peerConnectProtocol = value === 1;
          break;
        default:
          // MAX_HEADER_LIST_SIZE is advisory; unknown settings are ignored (6.5.2).
          break;
      }
    }
    if (!this.writeControl(9)) return;
    this.out.end = writeSettings(this.out.slab, this.out.end, [], true);
    this.resumeBlocked();
    this.callbacks.onSettings?.();
  }

  private onPing(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) {
      this.fail(ErrorCode.PROTOCOL_ERROR, "PING on a stream");
      return;
    }
    if (payload.length !== 8) {
      this.fail(ErrorCode.FRAME_SIZE_ERROR);
      return;
    }
    if ((flags & Flag.ACK) !== 0) {
      this.callbacks.onPingAck?.(payload);
      return;
    }
    if (!this.writeControl(17)) return;
    this.out.end = writePing(this.out.slab, this.out.end, payload, true);
  }

  private onGoaway(id: number, payload: Buffer): void {
    if (id !== 0) {
      this.fail(ErrorCode.PROTOCOL_ERROR, "GOAWAY on a stream");
      return;
    }
    if (payload.length < 8) {
      this.fail(ErrorCode.FRAME_SIZE_ERROR);
      return;
    }
    const last = payload.readUInt32BE(0) & 0x7fffffff;
    const code = payload.readUInt32BE(4);
    this.goawayReceived = true;
    // Our streams above `last` were never processed: safe to retry elsewhere (REFUSED_STREAM).
    for (const stream of [...this.streams.values()]) {
      if ((stream.id & 1) === (this.isServer ? 0 : 1) && stream.id > last) {
        this.closeStream(stream, ErrorCode.REFUSED_STREAM);
      }
    }
    this.callbacks.onGoaway?.(code, last);
    if (this.streams.size === 0) this.endSocket();
  }

  private onWindowUpdate(id: number, payload: Buffer): void {
    if (payload.length !== 4) {
      this.fail(ErrorCode.FRAME_SIZE_ERROR);
      return;
    }
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (!this.limits.windowUpdateReceived()) {
      this.flood();
      return;
    }
    if (id === 0) {
      if (increment === 0) {
        this.fail(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0");
        return;
      }
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW) {
        this.fail(ErrorCode.FLOW_CONTROL_ERROR);
        return;
      }
      this.resumeBlocked();
      return;
    }
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (this.isIdle(id)) {
        this.fail(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE on an idle stream");
        return;
      }
      return;
    }
    if (increment === 0) {
      this.streamError(stream, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW) {
      this.streamError(stream, ErrorCode.FLOW_CONTROL_ERROR);
      return;
    }
    if (stream.queued > 0 || stream.endQueued) this.sendQueued(stream);
  }

  // --- Writing ---

  private sendPreface(): void {
    const o = this.options;
    const settings: number[] = [];
    if (!this.isServer) settings.push(SettingId.ENABLE_PUSH, 0);
    settings.push(SettingId.MAX_CONCURRENT_STREAMS, o.maxConcurrentStreams);
    settings.push(SettingId.INITIAL_WINDOW_SIZE, o.initialStreamWindowSize);
    if (this.isServer && o.enableConnectProtocol) settings.push(SettingId.ENABLE_CONNECT_PROTOCOL, 1);
    const buf = this.out.reserve(PREFACE.length + 9 + settings.length * 3 + 13);
    if (!this.isServer) {
      PREFACE.copy(buf, this.out.end);
      this.out.end += PREFACE.length;
    }
    this.out.end = writeSettings(buf, this.out.end, settings);
    if (o.initialConnectionWindowSize > DEFAULT_WINDOW) {
      this.out.end = writeWindowUpdate(buf, this.out.end, 0, o.initialConnectionWindowSize - DEFAULT_WINDOW);
    }
    this.scheduleFlush();
  }

  /** Room for a control frame we owe the peer; false (and the connection failed) on a flood. */
  private writeControl(size: number): boolean {
    if (!this.limits.controlFrameQueued()) {
      this.flood();
      return false;
    }
    this.out.reserve(size);
    return true;
  }

  /**
   * Counts a frame for the outbound flood limit: frames pile up only while the socket does not take
   * them (a peer that sends requests and never reads). False (and the connection failed) past it.
   */
  private countFrame(): boolean {
    if (this.limits.frameQueued()) return true;
    this.flood();
    return false;
  }

  private flood(): void {
    this.fail(ErrorCode.ENHANCE_YOUR_CALM, this.limits.reason);
  }

  sendHeaders(stream: Http2Stream, fields: readonly string[], endStream: boolean): void {
    if (this.failed || this.closed || !this.countFrame()) return;
    const bound = HpackEncoder.bound(fields);
    const buf = this.out.reserve(FRAME_HEADER_SIZE + bound);
    const start = this.out.end;
    const blockEnd = this.encoder.encode(fields, buf, start + FRAME_HEADER_SIZE);
    const length = blockEnd - start - FRAME_HEADER_SIZE;
    const endFlag = endStream ? Flag.END_STREAM : 0;
    if (length <= this.peerMaxFrameSize) {
      writeFrameHeader(buf, start, length, FrameType.HEADERS, Flag.END_HEADERS | endFlag, stream.id);
      this.out.end = blockEnd;
    } else {
      this.writeSplitHeaders(
        stream.id,
        Buffer.from(buf.subarray(start + FRAME_HEADER_SIZE, blockEnd)),
        endFlag,
      );
    }
    stream.headersSent = true;
    this.scheduleFlush();
    if (endStream) this.localEnd(stream);
  }

  private writeSplitHeaders(id: number, block: Buffer, endFlag: number): void {
    const max = this.peerMaxFrameSize;
    let type: number = FrameType.HEADERS;
    let flags = endFlag;
    for (let o = 0; o < block.length; o += max) {
      const n = Math.min(max, block.length - o);
      if (o + n === block.length) flags |= Flag.END_HEADERS;
      const buf = this.out.reserve(FRAME_HEADER_SIZE + n);
      const p = writeFrameHeader(buf, this.out.end, n, type, flags, id);
      block.copy(buf, p, o, o + n);
      this.out.end = p + n;
      type = FrameType.CONTINUATION;
      flags = 0;
    }
  }

  writeData(stream: Http2Stream, data: Buffer, endStream: boolean): boolean {
    if (stream.closed || stream.localEnded || stream.endQueued || this.failed) return false;
    if (data.length > 0) {
      stream.queue.push(data);
      stream.queued += data.length;
    }
    // Ending with the last chunk puts END_STREAM on its DATA frame: no empty frame after it.
    if (endStream) stream.endQueued = true;
    if (data.length > 0 || endStream) this.sendQueued(stream);
    if (stream.queued === 0) return true;
    stream.needDrain = true;
    return false;
  }

  /** Sends what flow control and the socket allow of the stream's queue, then its end. */
  sendQueued(stream: Http2Stream): void {
    if (stream.closed || this.failed) return;
    const out = this.out;
    while (stream.queued > 0) {
      const window = Math.min(stream.sendWindow, this.sendWindow);
      if (window <= 0 || this.backlog() > this.options.outboundHighWater) {
        // What this call queued before running out of window goes out (a write outside a read
        // has no read's end to flush it).
        this.scheduleFlush();
        this.block(stream);
        return;
      }
      const head = stream.queue[0] as Buffer;
      const avail = head.length - stream.queueOffset;
      const n = Math.min(avail, window, this.peerMaxFrameSize);
      const last = n === stream.queued && stream.endQueued && stream.trailers === null;
      const flags = last ? Flag.END_STREAM : 0;
      const from = stream.queueOffset;
      if (n <= COPY_LIMIT) {
        const buf = out.reserve(FRAME_HEADER_SIZE + n);
        const p = writeFrameHeader(buf, out.end, n, FrameType.DATA, flags, stream.id);
        // Buffer#copy's argument checks cost more than the copy itself for a few dozen octets.
        if (n <= 64) for (let i = 0; i < n; i++) buf[p + i] = head[from + i] as number;
        else head.copy(buf, p, from, from + n);
        out.end = p + n;
      } else {
        const buf = out.reserve(FRAME_HEADER_SIZE);
        out.end = writeFrameHeader(buf, out.end, n, FrameType.DATA, flags, stream.id);
        out.append(n === head.length ? head : head.subarray(from, from + n));
      }
      stream.sendWindow -= n;
      this.sendWindow -= n;
      this.limits.dataFrameSent();
      stream.queued -= n;
      if (n === avail) {
        stream.queue.shift();
        stream.queueOffset = 0;
      } else {
        stream.queueOffset += n;
      }
      if (last) {
        this.scheduleFlush();
        this.localEnd(stream);
        return;
      }
    }
    this.scheduleFlush();
    if (stream.endQueued && !stream.localEnded) {
      if (stream.trailers !== null) {
        this.sendHeaders(stream, stream.trailers, true);
        return;
      }
      const buf = out.reserve(FRAME_HEADER_SIZE);
      out.end = writeFrameHeader(buf, out.end, 0, FrameType.DATA, Flag.END_STREAM, stream.id);
      this.localEnd(stream);
      return;
    }
    if (stream.needDrain) {
      stream.needDrain = false;
      stream.onDrain?.();
    }
  }

  private backlog(): number {
    return this.socket.writableLength;
  }

  private block(stream: Http2Stream): void {
    if (stream.blocked) return;
    stream.blocked = true;
    this.blockedStreams.push(stream);
  }

  private resumeBlocked(): void {
    if (this.blockedStreams.length === 0) return;
    const streams = this.blockedStreams;
    this.blockedStreams = [];
    for (const stream of streams) {
      stream.blocked = false;
      this.sendQueued(stream);
    }
  }

  /** Returns consumed bytes to the stream's window once half of it is used (nghttp2's threshold). */
  returnWindow(stream: Http2Stream): void {
    if (stream.closed || stream.remoteEnded) return;
    if (stream.recvUnacked < this.options.initialStreamWindowSize >>> 1) return;
    const n = stream.recvUnacked;
    stream.recvUnacked = 0;
    stream.recvWindow += n;
    const buf = this.out.reserve(13);
    this.out.end = writeWindowUpdate(buf, this.out.end, stream.id, n);
    this.scheduleFlush();
  }

  private sendConnectionWindowUpdate(): void {
    const n = this.recvUnacked;
    this.recvUnacked = 0;
    this.recvWindow += n;
    const buf = this.out.reserve(13);
    this.out.end = writeWindowUpdate(buf, this.out.end, 0, n);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.inRead || this.flushQueued) return;
    this.flushQueued = true;
    process.nextTick(flushConnection, this);
  }

  /** @internal */
  flush(): void {
    this.flushQueued = false;
    this.out.flush();
    if (this.socket.writableLength === 0) this.socketDrained();
  }

  private socketDrained(): void {
    this.limits.drained();
  }

  // --- Stream lifecycle ---

  private localEnd(stream: Http2Stream): void {
    stream.localEnded = true;
    this.maybeClose(stream);
  }

  private remoteEnd(stream: Http2Stream): void {
    stream.remoteEnded = true;
    stream.onEnd?.();
    this.maybeClose(stream);
  }

  private maybeClose(stream: Http2Stream): void {
    if (stream.localEnded && stream.remoteEnded && !stream.closed) this.closeStream(stream, -1);
  }

  /** Removes the stream; `code` >= 0 reports a reset to the application first. */
  private closeStream(stream: Http2Stream, code: number): void {
    if (stream.closed) return;
    stream.closed = true;
    this.streams.delete(stream.id);
    if ((stream.id & 1) === (this.isServer ? 1 : 0)) this.peerActive--;
    else this.localActive--;
    stream.queue.length = 0;
    stream.queued = 0;
    if (code >= 0) stream.onReset?.(code);
    stream.onClose?.();
    if ((this.goawaySent || this.goawayReceived) && this.streams.size === 0) this.endSocket();
  }

  /** Application reset, or a stream error of ours: RST_STREAM, then close. */
  resetStream(stream: Http2Stream, code: number, notify: boolean): void {
    if (stream.closed) return;
    this.rstById(stream.id, code);
    this.closeStream(stream, notify ? code : -1);
  }

  private streamError(stream: Http2Stream, code: number): void {
    this.resetStream(stream, code, true);
  }

  /** A stream refused before the application saw it. */
  private refuse(id: number, code: number): void {
    this.rstById(id, code);
  }

  private rstById(id: number, code: number): void {
    if (!this.writeControl(13)) return;
    this.out.end = writeRstStream(this.out.slab, this.out.end, id, code);
    this.recentResets.add(id);
    if (this.recentResets.size > RECENT_RESETS) {
      this.recentResets.delete(this.recentResets.values().next().value as number);
    }
    this.scheduleFlush();
  }

  /** A connection error (RFC 9113 5.4.1): GOAWAY with the code, then the socket ends. */
  private fail(code: number, debug = ""): void {
    if (this.failed || this.closed) return;
    this.failed = true;
    this.reader.stopped = true;
    const buf = this.out.reserve(17 + debug.length);
    this.out.end = writeGoaway(buf, this.out.end, this.lastPeerStreamId, code, debug);
    this.flush();
    this.callbacks.onConnectionError?.(code, debug);
    for (const stream of [...this.streams.values()]) this.closeStream(stream, code);
    this.endSocket();
  }

  private endSocket(): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    this.flush();
    this.socket.end();
    // A peer that never closes its side must not hold the socket.
    setTimeout(destroySocket, 1000, this.socket).unref();
  }

  private onSocketClose(): void {
    this.closed = true;
    this.reader.stopped = true;
    for (const stream of [...this.streams.values()]) this.closeStream(stream, ErrorCode.CANCEL);
    this.callbacks.onClose?.();
  }
}

function refuseUnsent(stream: Http2Stream): void {
  stream.onReset?.(ErrorCode.REFUSED_STREAM);
  stream.onClose?.();
}

function flushConnection(connection: Http2Connection): void {
  connection.flush();
}

function destroySocket(socket: Socket): void {
  socket.destroy();
}
