import { ErrorCode } from "../../lib/http2/frames.js";
import {
  CONTROL_FRAME_FLOOD,
  EMPTY_FRAME_FLOOD,
  OUTBOUND_FRAME_FLOOD,
  PRIORITY_FLOOD,
  WINDOW_UPDATE_FLOOD,
} from "../../lib/http2/protocol_constraints.js";
import { counter, declareScope, resolveScope } from "../stats/declare.js";
import type { Counter, StatsStore } from "../stats/store.js";
import type { HcmStats } from "./stats.js";

/**
 * The downstream HTTP/2 codec's stats (Envoy's `ALL_HTTP2_CODEC_STATS`), at the root as Envoy shows
 * them for its listeners: `http2.outbound_flood`. Shared by every listener. Envoy creates them with
 * its first downstream HTTP/2 connection, so they are declared as names made on first use and
 * resolved then (an HTTP/1.1-only proxy shows none, as Envoy).
 */
export const HTTP2_CODEC_STATS = declareScope({
  prefix: "http2.",
  title: "HTTP/2 codec (downstream; from the first HTTP/2 connection on)",
  stats: {},
  patterns: {
    outbound_flood: counter(
      "Connections closed because more than `max_outbound_frames` frames were queued for the client",
    ),
    outbound_control_flood: counter(
      "Connections closed because more than `max_outbound_control_frames` PING/SETTINGS ACKs or RST_STREAMs were queued for the client",
    ),
    inbound_empty_frames_flood: counter(
      "Connections closed because the client sent more than `max_consecutive_inbound_frames_with_empty_payload` empty DATA frames in a row",
    ),
    inbound_priority_frames_flood: counter(
      "Connections closed because the client sent more PRIORITY frames than `max_inbound_priority_frames_per_stream` allows",
    ),
    inbound_window_update_frames_flood: counter(
      "Connections closed because the client sent more WINDOW_UPDATE frames than `max_inbound_window_update_frames_per_data_frame_sent` allows",
    ),
    header_overflow: counter(
      "Requests reset (RST_STREAM INTERNAL_ERROR) for more header fields than `max_headers_count`, pseudo-headers included",
    ),
    header_list_size_too_large: counter(
      "Requests reset (RST_STREAM INTERNAL_ERROR) for a header list larger than `max_request_headers_kb`",
    ),
  },
});

export interface Http2CodecStats {
  readonly outbound_flood: Counter;
  readonly outbound_control_flood: Counter;
  readonly inbound_empty_frames_flood: Counter;
  readonly inbound_priority_frames_flood: Counter;
  readonly inbound_window_update_frames_flood: Counter;
  readonly header_overflow: Counter;
  readonly header_list_size_too_large: Counter;
}

export function resolveHttp2CodecStats(store: StatsStore): Http2CodecStats {
  const scope = resolveScope(store, HTTP2_CODEC_STATS);
  return {
    outbound_flood: scope.patternCounter("outbound_flood"),
    outbound_control_flood: scope.patternCounter("outbound_control_flood"),
    inbound_empty_frames_flood: scope.patternCounter("inbound_empty_frames_flood"),
    inbound_priority_frames_flood: scope.patternCounter("inbound_priority_frames_flood"),
    inbound_window_update_frames_flood: scope.patternCounter("inbound_window_update_frames_flood"),
    header_overflow: scope.patternCounter("header_overflow"),
    header_list_size_too_large: scope.patternCounter("header_list_size_too_large"),
  };
}

/**
 * A downstream connection closed by lib/http2 with a connection error (`reason`: its
 * ProtocolConstraints reason for a flood). Each flood counts in its own `http2.*` counter and, as in
 * Envoy 1.40 (whose connection manager handles a flood apart from a protocol error), not in
 * `downstream_cx_protocol_error`; any other connection error counts there.
 */
export function countConnectionError(stats: HcmStats, code: number, reason: string): void {
  if (code === ErrorCode.ENHANCE_YOUR_CALM) {
    const counter = floodCounter(stats, reason);
    if (counter !== null) {
      counter.value++;
      return;
    }
  }
  stats.downstream_cx_protocol_error.value++;
}

function floodCounter(stats: HcmStats, reason: string): Counter | null {
  switch (reason) {
    case OUTBOUND_FRAME_FLOOD:
      return stats.http2Codec().outbound_flood;
    case CONTROL_FRAME_FLOOD:
      return stats.http2Codec().outbound_control_flood;
    case EMPTY_FRAME_FLOOD:
      return stats.http2Codec().inbound_empty_frames_flood;
    case PRIORITY_FLOOD:
      return stats.http2Codec().inbound_priority_frames_flood;
    case WINDOW_UPDATE_FLOOD:
      return stats.http2Codec().inbound_window_update_frames_flood;
    default:
      return null;
  }
}

/**
 * A request head refused by lib/http2 for its size or its count of fields. Envoy's codec had opened
 * the stream before it checked them, so the request counts (total, HTTP/2) and so does its reset,
 * which Envoy books as `downstream_rq_rx_reset`, besides `http2.header_list_size_too_large` or
 * `http2.header_overflow`.
 */
export function countHeaderOverflow(stats: HcmStats, limit: "size" | "count"): void {
  const codec = stats.http2Codec();
  (limit === "size" ? codec.header_list_size_too_large : codec.header_overflow).value++;
  stats.downstream_rq_total.value++;
  stats.downstream_rq_http2_total.value++;
  stats.downstream_rq_rx_reset.value++;
}
