/** The options and callbacks of an Http2Connection, and their defaults (Envoy 1.40's where it has one). */
import type { Fields, Http2Stream } from "./stream.js";

export interface Http2Options {
  /** SETTINGS_MAX_CONCURRENT_STREAMS we announce (Envoy: 1024). */
  maxConcurrentStreams?: number;
  /** Our initial stream window (Envoy 1.36+: 16 MiB). */
  initialStreamWindowSize?: number;
  /** Our connection window (Envoy 1.36+: 24 MiB). */
  initialConnectionWindowSize?: number;
  /**
   * Largest decoded header list we accept (Envoy: 60 KiB): a server refuses a larger request head
   * with RST_STREAM INTERNAL_ERROR, as Envoy's codec does, and calls `onHeaderOverflow("size")`.
   */
  maxHeaderListSize?: number;
  /**
   * Server: a request head of more fields than this, pseudo-headers included, is refused with
   * RST_STREAM INTERNAL_ERROR (Envoy's `max_headers_count`, default 100; its codec resets the stream
   * the same way) and `onHeaderOverflow("count")` is called.
   */
  maxHeadersCount?: number;
  /** Server: announce SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441) and accept `:protocol`. */
  enableConnectProtocol?: boolean;
  /** Frames of any type waiting for the socket; above: flood (Envoy's max_outbound_frames: 10000). */
  maxOutboundFrames?: number;
  /** Control frames (SETTINGS/PING acks, RST_STREAM) waiting for the socket; above: flood (Envoy: 1000). */
  maxOutboundControlFrames?: number;
  /** PRIORITY frames received above 1 + streams opened times this: flood (Envoy: 100). */
  maxInboundPriorityFramesPerStream?: number;
  /** WINDOW_UPDATE frames received above 5 + 2 * (streams + DATA frames sent times this): flood (Envoy: 10). */
  maxInboundWindowUpdateFramesPerDataFrameSent?: number;
  /** Consecutive empty DATA frames without END_STREAM; above: flood (Envoy: 1). */
  maxConsecutiveEmptyFrames?: number;
  /**
   * Rapid reset (Envoy's premature-reset rule, without its 1 s lifetime): closes when the streams the
   * peer reset before our response ended reach half of max(this, streams opened) (Envoy: 500). 0: off.
   */
  prematureResetMinStreams?: number;
  /** Unsent bytes (ours plus the socket's) above which DATA waits for 'drain'. */
  outboundHighWater?: number;
}

export interface Http2Callbacks {
  /** Server: a new request. `stream.onEnd` is called after this when `endStream`. */
  onStream?: (stream: Http2Stream, fields: Fields, endStream: boolean) => void;
  /** The peer's SETTINGS (not an ACK) were applied: a client reads `peerMaxConcurrentStreams` and
   * `peerConnectProtocol` here (the first one also means the peer speaks HTTP/2). */
  onSettings?: () => void;
  /** The peer sent GOAWAY. */
  onGoaway?: (code: number, lastStreamId: number) => void;
  onPingAck?: (payload: Buffer) => void;
  /** Server: a request head was refused for its size (`maxHeaderListSize`) or its count of fields (`maxHeadersCount`): for stats. */
  onHeaderOverflow?: (limit: "size" | "count") => void;
  /** We ended the connection with a connection error (code, and what it was about): for stats. */
  onConnectionError?: (code: number, reason: string) => void;
  /** The socket closed; every stream has been reset or closed before. */
  onClose?: () => void;
}

export const DEFAULTS: Required<Http2Options> = {
  maxConcurrentStreams: 1024,
  initialStreamWindowSize: 16 * 1024 * 1024,
  initialConnectionWindowSize: 24 * 1024 * 1024,
  maxHeaderListSize: 60 * 1024,
  maxHeadersCount: 100,
  enableConnectProtocol: false,
  maxOutboundFrames: 10_000,
  maxOutboundControlFrames: 1000,
  maxInboundPriorityFramesPerStream: 100,
  maxInboundWindowUpdateFramesPerDataFrameSent: 10,
  maxConsecutiveEmptyFrames: 1,
  prematureResetMinStreams: 500,
  outboundHighWater: 1024 * 1024,
};
