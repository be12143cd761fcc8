/**
 * TLS in the topology model: a TLS listener and a mutual-TLS HTTP/2 cluster rendered as Envoy v2
 * (`filter_chains[].tls_context`, cluster `tls_context`), v3 (`transport_socket` with
 * Downstream/UpstreamTlsContext, `match_typed_subject_alt_names`) and HAProxy (`bind ... ssl`,
 * `server ... ssl`); Envoy (`--mode validate`) and `haproxy -c` accept what is rendered, with real
 * test certificates; nginx and Caddy refuse a TLS spec instead of rendering it plain.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { findEnvoy } from "../../envoy.js";
import { createTestPki } from "../../test_pki.js";
import { seedCluster, seedProxy } from "../../topology/catalog.js";
import type { CertFiles, ProxySpec } from "../../topology/model.js";
import { UnsupportedError } from "../../topology/model.js";
import { renderProxy } from "../../topology/render.js";

const run = promisify(execFile);
// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, walked by the expectations
type Obj = Record<string, any>;

let dir: string;
let ca: string;
let server: CertFiles;
let client: CertFiles;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "echomesh-topology-tls-"));
  const pki = await createTestPki(dir);
  ca = pki.ca;
  server = await pki.issue("server", { dns: ["front.example.test"] });
  client = await pki.issue("client", { dns: ["client.example.test"] });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A proxy whose listener requires client certificates and whose cluster speaks h2 over mutual TLS. */
function tlsSpec(): ProxySpec {
  const plain = seedProxy({
    listen: { host: "127.0.0.1", port: 18443 },
    admin: { host: "127.0.0.1", port: 18001 },
    hosts: [{ host: "127.0.0.1", port: 19443 }],
    discovery: "static",
    protocol: "h2c",
  });
  return {
    ...plain,
    listener: {
      ...plain.listener,
      tls: {
        cert: server,
        alpn: ["h2", "http/1.1"],
        clientCa: ca,
        requireClientCert: true,
        clientSans: ["client.example.test"],
      },
    },
    clusters: [
      {
        ...seedCluster("myservice", [{ host: "127.0.0.1", port: 19443 }], "h2c", "static"),
        tls: { sni: "upstream.example.test", ca, sans: ["upstream.example.test"], clientCert: client },
      },
    ],
  };
}

const ctx = () => ({ workDir: dir, profile: "default" as const });

describe("TLS in the topology model", () => {
  it("renders v2 tls_context on the filter chain and the cluster", () => {
    const doc = parse(renderProxy(tlsSpec(), "envoy-v2", ctx())) as Obj;
    const chain = doc.static_resources.listeners[0].filter_chains[0];
    expect(chain.tls_context).toEqual({
      common_tls_context: {
        tls_certificates: [
          { certificate_chain: { filename: server.cert }, private_key: { filename: server.key } },
        ],
        alpn_protocols: ["h2", "http/1.1"],
        validation_context: {
          trusted_ca: { filename: ca },
          verify_subject_alt_name: ["client.example.test"],
        },
      },
      require_client_certificate: true,
    });
    const cluster = doc.static_resources.clusters[0];
    expect(cluster.tls_context.sni).toBe("upstream.example.test");
    expect(cluster.tls_context.common_tls_context.alpn_protocols).toEqual(["h2"]);
    expect(cluster.tls_context.common_tls_context.tls_certificates[0].certificate_chain.filename).toBe(
      client.cert,
    );
  });

  it("renders v3 transport_sockets with typed SAN matchers", () => {
    const doc = parse(renderProxy(tlsSpec(), "envoy-v3", ctx())) as Obj;
    const socket = doc.static_resources.listeners[0].filter_chains[0].transport_socket;
    expect(socket.name).toBe("envoy.transport_sockets.tls");
    expect(socket.typed_config["@type"]).toMatch(/DownstreamTlsContext$/);
    expect(socket.typed_config.require_client_certificate).toBe(true);
    expect(socket.typed_config.common_tls_context.validation_context).toEqual({
      trusted_ca: { filename: ca },
      match_typed_subject_alt_names: [{ san_type: "DNS", matcher: { exact: "client.example.test" } }],
    });
    const upstream = doc.static_resources.clusters[0].transport_socket;
    expect(upstream.typed_config["@type"]).toMatch(/UpstreamTlsContext$/);
    expect(upstream.typed_config.sni).toBe("upstream.example.test");
    expect(doc.static_resources.clusters[0].tls_context).toBeUndefined();
  });

  it("Envoy validates the v3 rendering", async (t) => {
    const envoy = findEnvoy();
    if (!envoy.found) return t.skip(envoy.reason);
    const file = join(dir, "envoy.yaml");
    writeFileSync(file, renderProxy(tlsSpec(), "envoy-v3", ctx()));
    const { stdout } = await run(envoy.path, ["--mode", "validate", "-c", file, "--disable-hot-restart"], {
      timeout: 30_000,
    });
    expect(stdout).toMatch(/OK/);
  });

  it("renders HAProxy binds and servers with ssl, and haproxy -c accepts them", async (t) => {
    const spec = tlsSpec();
    const noSan = {
      ...spec,
      listener: { ...spec.listener, tls: { ...spec.listener.tls!, clientSans: undefined } },
    };
    delete noSan.listener.tls.clientSans;
    const text = renderProxy(noSan, "haproxy", ctx());
    expect(text).toMatch(
      new RegExp(
        `bind 127\\.0\\.0\\.1:18443 ssl crt \\S+\\.pem alpn h2,http/1\\.1 ca-file ${ca} verify required\\n`,
      ),
    );
    expect(text).toContain(
      `server s0 127.0.0.1:19443 ssl verify required ca-file ${ca} verifyhost upstream.example.test sni str(upstream.example.test) crt `,
    );
    expect(text).toMatch(/ alpn h2\n/);
    expect(text).toContain("http-request set-header X-Forwarded-Proto https if { ssl_fc }");
    try {
      await run("haproxy", ["-v"], { timeout: 10_000 });
    } catch {
      return t.skip("haproxy is not installed");
    }
    const file = join(dir, "haproxy.cfg");
    writeFileSync(file, text);
    await run("haproxy", ["-c", "-f", file], { timeout: 30_000 });
  });

  it("HAProxy refuses a client-certificate SAN check; nginx and Caddy refuse TLS", () => {
    expect(() => renderProxy(tlsSpec(), "haproxy", ctx())).toThrow(UnsupportedError);
    expect(() => renderProxy(tlsSpec(), "nginx", ctx())).toThrow(UnsupportedError);
    expect(() => renderProxy(tlsSpec(), "caddy", ctx())).toThrow(UnsupportedError);
  });
});
