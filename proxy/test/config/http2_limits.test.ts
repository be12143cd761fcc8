/**
 * The HCM's HTTP/2 flood limits (`http2_protocol_options`): read into the model in both dialects,
 * bounded as Envoy 1.40's proto is, refused on a cluster (not implemented toward an upstream).
 * That a value takes effect on the wire: proxy/test/hardening/http2.test.ts.
 */
import { describe, expect, it } from "vitest";
import { loadConfigString, ProxyConfigError } from "../../config/load.js";

const HCM_URL =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ROUTER_URL = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
const HCM_PATH = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config";

/** One listener whose HCM has `http2` as its http2_protocol_options; `v2`: the 2018 spelling. */
function bootstrap(http2: string, o: { v2?: boolean; cluster?: string } = {}): string {
  const filter = o.v2 ? "config:" : `typed_config:\n          "@type": ${HCM_URL}`;
  const router = o.v2
    ? "name: envoy.router"
    : `name: envoy.filters.http.router\n            typed_config: { "@type": ${ROUTER_URL} }`;
  return `
static_resources:
  listeners:
  - name: l
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        ${filter}
          stat_prefix: s
          http2_protocol_options: ${http2}
          route_config:
            virtual_hosts:
            - name: v
              domains: ["*"]
              routes:
              - match: { prefix: / }
                route: { cluster: a }
          http_filters:
          - ${router}
  clusters:
  - name: a
    load_assignment: { cluster_name: a, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 1 } } } }] }] }
${o.cluster ?? ""}`;
}

function errorsOf(text: string): string[] {
  try {
    loadConfigString(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ProxyConfigError);
    return (err as ProxyConfigError).errors.map((e) => e.replace(/ \(line \d+\)$/, ""));
  }
  throw new Error("loaded but must be rejected");
}

const LIMITS = `{ max_outbound_frames: 500, max_outbound_control_frames: 50, max_consecutive_inbound_frames_with_empty_payload: 3, max_inbound_priority_frames_per_stream: 7, max_inbound_window_update_frames_per_data_frame_sent: 2 }`;

describe("HTTP/2 flood limits in the config", () => {
  it("non-default values are read into the model, without a warning, in v3 and in v2", () => {
    for (const v2 of [false, true]) {
      const b = loadConfigString(bootstrap(LIMITS, { v2 }));
      expect(b.version).toBe(v2 ? "v2" : "v3");
      expect(b.warnings).toEqual([]);
      expect(b.listeners[0]!.hcm).toMatchObject({
        http2MaxOutboundFrames: 500,
        http2MaxOutboundControlFrames: 50,
        http2MaxConsecutiveInboundFramesWithEmptyPayload: 3,
        http2MaxInboundPriorityFramesPerStream: 7,
        http2MaxInboundWindowUpdateFramesPerDataFrameSent: 2,
      });
    }
  });

  it("absent: Envoy's defaults (10000, 1000, 1, 100, 10)", () => {
    expect(loadConfigString(bootstrap("{}")).listeners[0]!.hcm).toMatchObject({
      http2MaxOutboundFrames: 10_000,
      http2MaxOutboundControlFrames: 1000,
      http2MaxConsecutiveInboundFramesWithEmptyPayload: 1,
      http2MaxInboundPriorityFramesPerStream: 100,
      http2MaxInboundWindowUpdateFramesPerDataFrameSent: 10,
    });
  });

  it("Envoy's bounds: 0 is refused for the outbound limits and the WINDOW_UPDATE ratio, accepted for the others", () => {
    expect(
      errorsOf(
        bootstrap(
          "{ max_outbound_frames: 0, max_outbound_control_frames: 0, max_inbound_window_update_frames_per_data_frame_sent: 0 }",
        ),
      ),
    ).toEqual([
      `${HCM_PATH}.http2_protocol_options.max_outbound_frames: 0 is out of range [1, 4294967295]`,
      `${HCM_PATH}.http2_protocol_options.max_outbound_control_frames: 0 is out of range [1, 4294967295]`,
      `${HCM_PATH}.http2_protocol_options.max_inbound_window_update_frames_per_data_frame_sent: 0 is out of range [1, 4294967295]`,
    ]);
    const hcm = loadConfigString(
      bootstrap(
        "{ max_consecutive_inbound_frames_with_empty_payload: 0, max_inbound_priority_frames_per_stream: 0 }",
      ),
    ).listeners[0]!.hcm;
    expect(hcm.http2MaxConsecutiveInboundFramesWithEmptyPayload).toBe(0);
    expect(hcm.http2MaxInboundPriorityFramesPerStream).toBe(0);
  });

  it("on a cluster (toward an upstream) they are refused as not implemented", () => {
    const cluster = `    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: { http2_protocol_options: { max_inbound_priority_frames_per_stream: 7 } }`;
    expect(errorsOf(bootstrap("{}", { cluster }))).toEqual([
      'static_resources.clusters[0].typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].explicit_http_config.http2_protocol_options.max_inbound_priority_frames_per_stream: unsupported field (not implemented by echomesh-proxy)',
    ]);
  });
});
