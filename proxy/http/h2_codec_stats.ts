import { counter, declareScope, resolveScope } from "../stats/declare.js";
import type { Counter, StatsStore } from "../stats/store.js";

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
      "Connections closed because more than 1000 PING/SETTINGS ACKs or RST_STREAMs were queued for the client (nghttp2's limit: `max_outbound_control_frames`)",
    ),
  },
});

export interface Http2CodecStats {
  readonly outbound_flood: Counter;
  readonly outbound_control_flood: Counter;
}

export function resolveHttp2CodecStats(store: StatsStore): Http2CodecStats {
  const scope = resolveScope(store, HTTP2_CODEC_STATS);
  return {
    outbound_flood: scope.patternCounter("outbound_flood"),
    outbound_control_flood: scope.patternCounter("outbound_control_flood"),
  };
}
