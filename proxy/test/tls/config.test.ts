/**
 * TLS config: v3 `transport_socket` and v2 `tls_context` on filter chains and clusters read into
 * the model (files read at load, inline strings), and every problem an error naming its YAML path.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { renderConfigDump } from "../../admin/render.js";
import { loadConfigString, ProxyConfigError } from "../../config/load.js";
import { tlsBootstrap, transportSocket, usePki } from "./helpers.js";

const keys = usePki();

function load(yaml: string) {
  return loadConfigString(yaml.replace("{{backend}}", "8080"));
}

/** The errors of a config that must not load. */
function errors(yaml: string): string[] {
  try {
    load(yaml);
  } catch (err) {
    // Without the YAML line each one ends with.
    if (err instanceof ProxyConfigError) return err.errors.map((e) => e.replace(/ \(line \d+\)$/, ""));
    throw err;
  }
  throw new Error("the config loaded");
}

const LISTENER = "static_resources.listeners[0].filter_chains[0].transport_socket.typed_config";
const CLUSTER = "static_resources.clusters[0].transport_socket.typed_config";

describe("v3 transport_socket", () => {
  it("reads a DownstreamTlsContext into the listener, its files read at load", () => {
    const { pki } = keys;
    const b = load(
      tlsBootstrap({
        listenerTls: transportSocket("downstream", {
          cert: pki.proxy,
          ca: pki.ca,
          alpn: ["h2", "http/1.1"],
          requireClientCertificate: true,
          sans: ["{ san_type: URI, matcher: { prefix: 'spiffe://echomesh/' } }"],
        }),
      }),
    );
    expect(b.version).toBe("v3");
    expect(b.listeners[0]?.tls).toEqual({
      certificates: [
        {
          certificateChain: readFileSync(pki.proxy.cert, "utf8"),
          privateKey: readFileSync(pki.proxy.key, "utf8"),
          password: null,
        },
      ],
      alpnProtocols: ["h2", "http/1.1"],
      validation: {
        trustedCa: readFileSync(pki.ca, "utf8"),
        sanMatchers: [
          { type: "uri", match: { kind: "prefix", value: "spiffe://echomesh/", ignoreCase: false } },
        ],
      },
      minVersion: "TLSv1.2",
      maxVersion: "TLSv1.3",
      requireClientCertificate: true,
    });
    expect(b.clusters[0]?.tls).toBeUndefined();
    // The admin's /config_dump never shows the key.
    const dump = renderConfigDump(b);
    expect(dump).not.toContain("PRIVATE KEY");
    expect(dump).toContain('"privateKey": "[redacted]"');
  });

  it("reads an UpstreamTlsContext with sni, inline PEM and TLS versions into the cluster", () => {
    const ca = readFileSync(keys.pki.ca, "utf8");
    const yaml = tlsBootstrap({
      clusterExtra: [
        "transport_socket:",
        "  name: envoy.transport_sockets.tls",
        "  typed_config:",
        '    "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        "    sni: sidecar.test",
        "    common_tls_context:",
        "      tls_params: { tls_minimum_protocol_version: TLSv1_3, tls_maximum_protocol_version: TLSv1_3 }",
        `      validation_context: { trusted_ca: { inline_string: ${JSON.stringify(ca)} } }`,
      ],
    });
    const tls = load(yaml).clusters[0]?.tls;
    expect(tls?.sni).toBe("sidecar.test");
    expect(tls?.validation?.trustedCa).toBe(ca);
    expect(tls?.minVersion).toBe("TLSv1.3");
    expect(tls?.certificates).toEqual([]);
  });

  it("names the path of a certificate file that cannot be read", () => {
    const yaml = tlsBootstrap({
      listenerTls: transportSocket("downstream", {
        cert: { cert: "/nonexistent/cert.pem", key: keys.pki.proxy.key },
      }),
    });
    expect(errors(yaml)).toEqual([
      `${LISTENER}.common_tls_context.tls_certificates[0].certificate_chain.filename: cannot read "/nonexistent/cert.pem": ENOENT`,
    ]);
  });

  it("names a key that does not belong to its certificate", () => {
    const yaml = tlsBootstrap({
      listenerTls: transportSocket("downstream", {
        cert: { cert: keys.pki.proxy.cert, key: keys.pki.client.key },
      }),
    });
    expect(errors(yaml)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${LISTENER.replace(/[.[\]]/g, "\\$&")}\\.common_tls_context\\.tls_certificates\\[0\\]: not a usable certificate and key`,
        ),
      ),
    ]);
  });

  it("refuses what it does not implement, naming each field", () => {
    const ts = transportSocket("downstream", { cert: keys.pki.proxy }).replace(
      "common_tls_context: {",
      "require_sni: true, common_tls_context: { tls_params: { cipher_suites: [AES128-SHA] }, tls_certificate_sds_secret_configs: [{ name: x }],",
    );
    expect(errors(tlsBootstrap({ listenerTls: ts }))).toEqual([
      `${LISTENER}.require_sni: unsupported field (not implemented by echomesh-proxy)`,
      `${LISTENER}.common_tls_context.tls_params.cipher_suites: unsupported field (not implemented by echomesh-proxy)`,
      `${LISTENER}.common_tls_context.tls_certificate_sds_secret_configs: unsupported field (not implemented by echomesh-proxy)`,
    ]);
  });

  it("refuses a listener without a certificate, and SANs without a CA (as Envoy)", () => {
    expect(errors(tlsBootstrap({ listenerTls: transportSocket("downstream", {}) }))).toEqual([
      `${LISTENER}.common_tls_context: a TLS listener needs a certificate (tls_certificates)`,
    ]);
    const noCa = transportSocket("upstream", {}).replace(
      "common_tls_context: {  }",
      "common_tls_context: { validation_context: { match_typed_subject_alt_names: [{ san_type: DNS, matcher: { exact: a } }] } }",
    );
    expect(errors(tlsBootstrap({ clusterExtra: [noCa] }))).toEqual([
      `${CLUSTER}.common_tls_context.validation_context.trusted_ca: required when subject alt names are matched (Envoy refuses SAN verification without a trusted CA)`,
    ]);
  });

  it("refuses another transport socket type", () => {
    const ts =
      'transport_socket: { name: envoy.transport_sockets.raw_buffer, typed_config: { "@type": type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer } }';
    expect(errors(tlsBootstrap({ clusterExtra: [ts] }))).toEqual([
      `${CLUSTER}.@type: unsupported transport socket type "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer" (echomesh-proxy supports only type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext here)`,
    ]);
  });
});

describe("v2 tls_context (2018)", () => {
  it("reads a filter chain's and a cluster's tls_context, verify_subject_alt_name included", () => {
    const { pki } = keys;
    const yaml = `
static_resources:
  listeners:
  - address: { socket_address: { address: 127.0.0.1, port_value: 80 } }
    filter_chains:
    - tls_context:
        common_tls_context:
          tls_certificates: [{ certificate_chain: { filename: "${pki.proxy.cert}" }, private_key: { filename: "${pki.proxy.key}" } }]
          alpn_protocols: [h2, http/1.1]
        require_client_certificate: true
        common_tls_context_unused: 1
      filters:
      - name: envoy.http_connection_manager
        config:
          codec_type: auto
          stat_prefix: ingress_http
          route_config:
            virtual_hosts: [{ name: all, domains: ["*"], routes: [{ match: { prefix: / }, route: { cluster: service } }] }]
          http_filters: [{ name: envoy.router, config: {} }]
  clusters:
  - name: service
    connect_timeout: 0.25s
    type: static
    http2_protocol_options: {}
    hosts: [{ socket_address: { address: 127.0.0.1, port_value: 8080 } }]
    tls_context:
      sni: sidecar.test
      common_tls_context:
        validation_context: { trusted_ca: { filename: "${pki.ca}" }, verify_subject_alt_name: [sidecar.test] }
`;
    // An unknown field is named with a hint.
    expect(errors(yaml)).toEqual([
      'static_resources.listeners[0].filter_chains[0].tls_context.common_tls_context_unused: unknown field (did you mean "common_tls_context"?)',
    ]);
    const ok = yaml.replace("        common_tls_context_unused: 1\n", "");
    const b = load(ok);
    expect(b.version).toBe("v2");
    expect(b.listeners[0]?.tls?.alpnProtocols).toEqual(["h2", "http/1.1"]);
    expect(b.listeners[0]?.tls?.requireClientCertificate).toBe(true);
    expect(b.clusters[0]?.tls).toEqual(
      expect.objectContaining({
        sni: "sidecar.test",
        validation: {
          trustedCa: readFileSync(pki.ca, "utf8"),
          sanMatchers: [{ type: null, match: { kind: "exact", value: "sidecar.test", ignoreCase: false } }],
        },
      }),
    );
  });

  it("tls_context in a v3 file is an error with the v3 spelling", () => {
    const ts = transportSocket("upstream", {})
      .replace("transport_socket: { name: envoy.transport_sockets.tls, typed_config: {", "tls_context: {")
      .replace(/"@type": [^,]+, /, "")
      .replace(/ \}$/, "");
    expect(errors(tlsBootstrap({ clusterExtra: [ts] }))).toEqual([
      "static_resources.clusters[0].tls_context: v2 syntax in a v3 file (Envoy 1.40 rejects it): use transport_socket: {name: envoy.transport_sockets.tls}",
    ]);
  });
});
