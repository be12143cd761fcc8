import type { UpstreamProtocol } from "./model.js";
import type { Obj } from "./reader.js";

/** Upstream protocol settings, from the cluster's v2 fields or v3 typed_extension_protocol_options. */
export interface ProtocolOptions {
  protocol?: UpstreamProtocol;
  http2MaxConcurrentStreams?: number;
  idleTimeoutMs?: number;
  maxRequestsPerConnection?: number;
}

/** `http2_protocol_options` for an upstream: only the stream limit matters to us. */
export function readHttp2Options(o: Obj, into: ProtocolOptions): void {
  into.protocol = "http2";
  if (o.has("max_concurrent_streams"))
    into.http2MaxConcurrentStreams = o.int("max_concurrent_streams", 0, 1, 2_147_483_647);
  o.ignore(
    "initial_stream_window_size",
    "initial_connection_window_size",
    "hpack_table_size",
    "allow_connect",
  );
  o.unsupported(
    "max_outbound_frames",
    "connection_keepalive",
    "allow_metadata",
    "override_stream_error_on_invalid_http_message",
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
  o.unsupported(
    "max_connection_duration",
    "max_headers_count",
    "max_stream_duration",
    "headers_with_underscores_action",
  );
  o.done();
}
