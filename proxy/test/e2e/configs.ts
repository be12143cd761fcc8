/**
 * The two proxies of the end-to-end tests, as Envoy v3 YAML: a front proxy (HTTP/1.1 and h2c in,
 * h2c out to the sidecar) and a sidecar (h2c in with extended CONNECT, HTTP/1.1 out to the echo
 * service), plus routes to test upstreams the tests control. Each is a spec of the topology model
 * (lib/topology) rendered by its Envoy renderer, with what only these tests need on top of the v3
 * document (below).
 */
import { stringify } from "yaml";
import { envoyDoc } from "../../../lib/topology/envoy.js";
import { toV3 } from "../../../lib/topology/envoy_v3.js";
import type { EnvoyDoc, ProxySpec } from "../../../lib/topology/model.js";

const PROTOCOL_OPTIONS = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

export interface Route {
  prefix: string;
  cluster: string;
  /** Route timeout (default 60 s: a loaded 2-core machine moves 100 MB slowly). */
  timeoutMs?: number;
}

export interface ClusterSpec {
  name: string;
  port: number;
  http2?: boolean;
}

type Obj = Record<string, unknown>;

function spec(opts: {
  port: number;
  adminPort: number;
  statPrefix: string;
  routes: Route[];
  clusters: ClusterSpec[];
}): ProxySpec {
  return {
    listener: {
      address: { host: "127.0.0.1", port: opts.port },
      codec: "auto",
      statPrefix: opts.statPrefix,
      routeConfigName: "local",
      virtualHostName: "all",
    },
    admin: { host: "127.0.0.1", port: opts.adminPort, accessLogPath: "/dev/null" },
    routes: opts.routes.map((r) => ({ prefix: r.prefix, to: r.cluster, timeoutMs: r.timeoutMs ?? 60_000 })),
    clusters: opts.clusters.map((c) => ({
      name: c.name,
      discovery: "static",
      lb: "round_robin",
      protocol: c.http2 === true ? "h2c" : "http1",
      connectTimeoutMs: 1000,
      hosts: [{ host: "127.0.0.1", port: c.port }],
    })),
  };
}

/**
 * What these tests add to the rendered v3 document: the listener is named `ingress`; both proxies
 * accept extended CONNECT and WebSocket upgrades on every route (the front too, so tests may open a
 * WebSocket over h2c to it); idle pooled connections close 2 s after the traffic (Envoy's default
 * keeps them 1 h), so the leak checks see every descriptor back.
 */
function forTests(doc: EnvoyDoc): EnvoyDoc {
  const sr = doc.static_resources as { listeners: Obj[]; clusters: Obj[] };
  for (const l of sr.listeners) {
    l.name = "ingress";
    for (const fc of l.filter_chains as Obj[])
      for (const f of fc.filters as Obj[]) {
        const hcm = f.typed_config as Obj;
        hcm.http2_protocol_options = { allow_connect: true };
        hcm.upgrade_configs = [{ upgrade_type: "websocket" }];
      }
  }
  for (const c of sr.clusters) {
    const h2 = c.typed_extension_protocol_options !== undefined;
    c.typed_extension_protocol_options = {
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": PROTOCOL_OPTIONS,
        common_http_protocol_options: { idle_timeout: "2s" },
        explicit_http_config: h2 ? { http2_protocol_options: {} } : { http_protocol_options: {} },
      },
    };
  }
  return doc;
}

export function proxyYaml(opts: {
  port: number;
  adminPort: number;
  statPrefix: string;
  routes: Route[];
  clusters: ClusterSpec[];
}): string {
  return stringify(forTests(toV3(envoyDoc(spec(opts), { workDir: "/tmp", profile: "default" }))));
}
