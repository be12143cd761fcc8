/**
 * TLS test kit: a throw-away PKI made at test time (lib/test_pki.ts: one CA, leaf certificates, and a
 * second CA whose certificates must be refused) and Envoy v3 YAML for TLS listeners and clusters.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { type CertFiles, createTestPki } from "../../../lib/test_pki.js";

export interface Pki {
  ca: string;
  /** The proxy's listener certificate (DNS proxy.test, IP 127.0.0.1). */
  proxy: CertFiles;
  /** An upstream's certificate (DNS sidecar.test, URI spiffe://echomesh/sidecar). */
  sidecar: CertFiles;
  /** A client certificate (URI spiffe://echomesh/front). */
  client: CertFiles;
  /** Issued by another CA: refused wherever the CA above is trusted. */
  rogue: CertFiles;
  otherCa: string;
}

/** A PKI made once for the calling file, removed after it. */
export function usePki(): { readonly pki: Pki } {
  let dir = "";
  let made: Pki | null = null;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "echomesh-tls-"));
    const pki = await createTestPki(join(dir, "ca"));
    const other = await createTestPki(join(dir, "other"), "other CA");
    made = {
      ca: pki.ca,
      proxy: await pki.issue("proxy", { dns: ["proxy.test"], ips: ["127.0.0.1"] }),
      sidecar: await pki.issue("sidecar", { dns: ["sidecar.test"], uris: ["spiffe://echomesh/sidecar"] }),
      client: await pki.issue("client", { uris: ["spiffe://echomesh/front"] }),
      rogue: await other.issue("rogue", { dns: ["sidecar.test"], uris: ["spiffe://echomesh/front"] }),
      otherCa: other.ca,
    };
  }, 60_000);
  afterAll(async () => {
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });
  return {
    get pki() {
      if (made === null) throw new Error("the PKI is made in beforeAll");
      return made;
    },
  };
}

export interface TlsYaml {
  cert?: CertFiles;
  ca?: string;
  alpn?: string[];
  /** `match_typed_subject_alt_names` entries as YAML flow mappings. */
  sans?: string[];
  requireClientCertificate?: boolean;
  sni?: string;
}

function common(o: TlsYaml): string {
  const lines: string[] = [];
  if (o.cert !== undefined)
    lines.push(
      `tls_certificates: [{ certificate_chain: { filename: "${o.cert.cert}" }, private_key: { filename: "${o.cert.key}" } }]`,
    );
  if (o.alpn !== undefined) lines.push(`alpn_protocols: [${o.alpn.map((a) => `"${a}"`).join(", ")}]`);
  if (o.ca !== undefined) {
    const sans = o.sans === undefined ? "" : `, match_typed_subject_alt_names: [${o.sans.join(", ")}]`;
    lines.push(`validation_context: { trusted_ca: { filename: "${o.ca}" }${sans} }`);
  }
  return `common_tls_context: { ${lines.join(", ")} }`;
}

/** A filter chain's or a cluster's `transport_socket` (one line of YAML flow style). */
export function transportSocket(side: "downstream" | "upstream", o: TlsYaml): string {
  const type = side === "downstream" ? "DownstreamTlsContext" : "UpstreamTlsContext";
  const extra = [
    common(o),
    ...(o.requireClientCertificate ? ["require_client_certificate: true"] : []),
    ...(o.sni !== undefined ? [`sni: "${o.sni}"`] : []),
  ];
  return `transport_socket: { name: envoy.transport_sockets.tls, typed_config: { "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.${type}, ${extra.join(", ")} } }`;
}

export const H2_OPTIONS = `typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: { http2_protocol_options: {} }`;

/**
 * A v3 bootstrap: listener `ingress` on 127.0.0.1:0 (its filter chain's `listenerTls` line, if any),
 * every request to cluster `backend` at 127.0.0.1:{{backend}} (`clusterExtra` lines in it), and
 * `hcmExtra` lines in the connection manager.
 */
export function tlsBootstrap(o: {
  listenerTls?: string;
  clusterExtra?: string[];
  hcmExtra?: string[];
  routeExtra?: string;
}): string {
  const hcm = ["delayed_close_timeout: 0.05s", ...(o.hcmExtra ?? [])].map((l) => `          ${l}`).join("\n");
  const cluster = (o.clusterExtra ?? []).map((l) => `    ${l}`).join("\n");
  return `
static_resources:
  listeners:
  - name: ingress
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - ${o.listenerTls ?? ""}
      filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress
${hcm}
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: backend${o.routeExtra ?? ""} }
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
  clusters:
  - name: backend
    connect_timeout: 1s
${cluster}
    load_assignment:
      cluster_name: backend
      endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: {{backend}} } } } } ] } ]
`;
}
