import type { UpstreamProtocol } from "./model.js";
import type { Obj } from "./reader.js";

/** Envoy 1.40's HTTP/2 defaults (both directions), as its SETTINGS and WINDOW_UPDATE frames show. */
export const HTTP2_DEFAULTS = {
  maxConcurrentStreams: 1024,
  initialStreamWindowSize: 16 * 1024 * 1024,
  initialConnectionWindowSize: 24 * 1024 * 1024,
} as const;

/** `http2_protocol_options` as the model keeps it (HCM and cluster alike). */
export interface Http2Options {
  http2MaxConcurrentStreams: number;
  http2InitialStreamWindowSize: number;
  http2InitialConnectionWindowSize: number;
}

/** Upstream protocol settings, from the cluster's v2 fields or v3 typed_extension_protocol_options. */
export interface ProtocolOptions {
  protocol?: UpstreamProtocol;
  http2?: Http2Options;
  idleTimeoutMs?: number;
  maxRequestsPerConnection?: number;
}

/**
 * `http2_protocol_options` (HCM or cluster): the stream limit and the window sizes, Envoy's defaults
 * for what is absent. The HCM reads `allow_connect` itself; on a cluster it means nothing.
 */
export function readHttp2Settings(o: Obj | null): Http2Options {
  const d = HTTP2_DEFAULTS;
  const out: Http2Options = {
    http2MaxConcurrentStreams:
      o?.int("max_concurrent_streams", d.maxConcurrentStreams, 1, 2_147_483_647) ?? d.maxConcurrentStreams,
    http2InitialStreamWindowSize:
      o?.int("initial_stream_window_size", d.initialStreamWindowSize, 65_535, 2_147_483_647) ??
      d.initialStreamWindowSize,
    http2InitialConnectionWindowSize:
      o?.int("initial_connection_window_size", d.initialConnectionWindowSize, 65_535, 2_147_483_647) ??
      d.initialConnectionWindowSize,
  };
  o?.ignore("hpack_table_size");
  o?.unsupported(
    "connection_keepalive",
    "allow_metadata",
    "override_stream_error_on_invalid_http_message",
    "stream_error_on_invalid_http_messaging",
    "custom_settings_parameters",
    "use_oghttp2_codec",
    "max_metadata_size",
    "enable_huffman_encoding",
  );
  return out;
}

/** The HCM's flood limits (`http2_protocol_options`), as the model keeps them. */
export interface Http2FloodLimits {
  http2MaxOutboundFrames: number;
  http2MaxOutboundControlFrames: number;
  http2MaxConsecutiveInboundFramesWithEmptyPayload: number;
  http2MaxInboundPriorityFramesPerStream: number;
  http2MaxInboundWindowUpdateFramesPerDataFrameSent: number;
}

/**
 * The HCM's flood limits, Envoy's defaults for what is absent and its proto's bounds: the outbound
 * limits and the WINDOW_UPDATE ratio are at least 1, the others may be 0 (then any such frame is a
 * flood). Envoy 1.11.1 added them to the v2 API (Envoy 1.7's had none), so v2 files read them too.
 */
export function readHttp2FloodLimits(o: Obj | null): Http2FloodLimits {
  return {
    http2MaxOutboundFrames: o?.int("max_outbound_frames", 10_000, 1) ?? 10_000,
    http2MaxOutboundControlFrames: o?.int("max_outbound_control_frames", 1000, 1) ?? 1000,
    http2MaxConsecutiveInboundFramesWithEmptyPayload:
      o?.int("max_consecutive_inbound_frames_with_empty_payload", 1) ?? 1,
    http2MaxInboundPriorityFramesPerStream: o?.int("max_inbound_priority_frames_per_stream", 100) ?? 100,
    http2MaxInboundWindowUpdateFramesPerDataFrameSent:
      o?.int("max_inbound_window_update_frames_per_data_frame_sent", 10, 1) ?? 10,
  };
}

/** A cluster's `http2_protocol_options`: the upstream speaks HTTP/2. */
export function readHttp2Options(o: Obj, into: ProtocolOptions): void {
  into.protocol = "http2";
  into.http2 = readHttp2Settings(o);
  o.ignore("allow_connect");
  // Envoy's flood limits toward an upstream: not implemented (node stops reading a connection whose
  // writes are blocked, which bounds what an upstream can make us queue).
  o.unsupported(
    "max_outbound_frames",
    "max_outbound_control_frames",
    "max_consecutive_inbound_frames_with_empty_payload",
    "max_inbound_priority_frames_per_stream",
    "max_inbound_window_update_frames_per_data_frame_sent",
  );
  o.done();
}

/** `http_protocol_options` (HTTP/1.1) for an upstream: nothing configurable yet, so only `{}`. */
export function readHttp1Options(o: Obj, into: ProtocolOptions): void {
  into.protocol = "http1";
  o.unsupported(
    "header_key_format",
    "enable_trailers",
    "allow_chunked_length",
    "allow_absolute_url",
    "accept_http_10",
  );
  o.done();
}

/** `common_http_protocol_options`: the idle timeout and the per-connection request limit. */
export function readCommonOptions(o: Obj, into: ProtocolOptions): void {
  if (o.has("idle_timeout")) into.idleTimeoutMs = o.duration("idle_timeout", 0);
  if (o.has("max_requests_per_connection"))
    into.maxRequestsPerConnection = o.int("max_requests_per_connection", 0);
  o.enumOf("headers_with_underscores_action", HEADERS_WITH_UNDERSCORES, "allow");
  o.unsupported("max_connection_duration", "max_headers_count", "max_stream_duration");
  o.done();
}

/** `headers_with_underscores_action`: Envoy's default, ALLOW, is what echomesh-proxy does; the others are not implemented. */
export const HEADERS_WITH_UNDERSCORES = { ALLOW: "allow", REJECT_REQUEST: null, DROP_HEADER: null } as const;
