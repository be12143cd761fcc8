/**
 * A cluster with a TLS transport socket: SNI, ALPN, the server's certificate verified against the
 * trusted CA and SAN matchers (a failure is a connect failure: 503 with flag UF), none verified
 * without a validation_context (as Envoy), a client certificate for mTLS; and the mesh's hop, a
 * front proxy speaking h2 over mTLS to a sidecar proxy in front of an HTTP/1.1 service.
 */
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import https from "node:https";
import net from "node:net";
import type tls from "node:tls";
import { describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { waitUntil } from "../../../lib/wait.js";
import { request } from "../../../test-support/http.js";
import { nextMessage, wsConnect } from "../../../test-support/ws.js";
import { type TestProxy, useProxies } from "../http/helpers.js";
import { H2_OPTIONS, type Pki, type TlsYaml, tlsBootstrap, transportSocket, usePki } from "./helpers.js";

const proxies = useProxies();
const keys = usePki();
const SSL = "cluster.backend.ssl.";

interface Seen {
  servername: string | false;
  alpn: string | false | null;
  clientCertUri: string | null;
}

/** An HTTPS upstream with `cert` that records each connection's SNI, ALPN and client certificate. */
async function tlsUpstream(
  cert: Pki["proxy"],
  opts: { requestCert?: boolean; alpn?: string[] } = {},
): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = https.createServer(
    {
      cert: readFileSync(cert.cert),
      key: readFileSync(cert.key),
      ca: readFileSync(keys.pki.ca),
      requestCert: opts.requestCert ?? false,
      rejectUnauthorized: opts.requestCert ?? false,
      ALPNProtocols: opts.alpn ?? ["http/1.1"],
    },
    (req, res) => {
      const socket = req.socket as tls.TLSSocket;
      const peer = socket.getPeerCertificate();
      seen.push({
        servername: (socket as tls.TLSSocket & { servername: string | false }).servername,
        alpn: socket.alpnProtocol,
        clientCertUri: peer.subjectaltname ?? null,
      });
      res.writeHead(200, { "content-type": "text/plain" }).end(`tls:${req.headers["x-forwarded-proto"]}`);
    },
  );
  const up = await proxies.serve(server);
  return { port: up.port, seen };
}

async function proxyTo(port: number, o: TlsYaml, extra: string[] = []): Promise<TestProxy> {
  return proxies.bootstrap(tlsBootstrap({ clusterExtra: [transportSocket("upstream", o), ...extra] }), {
    backend: port,
  });
}

describe("a TLS cluster", () => {
  it("connects with SNI and ALPN, verifying the server against the trusted CA and its SAN", async () => {
    const up = await tlsUpstream(keys.pki.sidecar);
    const proxy = await proxyTo(up.port, {
      sni: "sidecar.test",
      ca: keys.pki.ca,
      sans: ["{ san_type: DNS, matcher: { exact: sidecar.test } }"],
    });
    const reply = await request(proxy.port, "/");
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe("tls:http");
    expect(up.seen).toEqual([{ servername: "sidecar.test", alpn: "http/1.1", clientCertUri: null }]);
    expect(proxy.stat(`${SSL}handshake`)).toBe(1);
    expect(proxy.stat("cluster.backend.upstream_cx_total")).toBe(1);
    // Kept alive: a second request reuses the TLS connection.
    expect((await request(proxy.port, "/")).status).toBe(200);
    expect(proxy.stat(`${SSL}handshake`)).toBe(1);
  });

  it("answers 503 UF when the server's SAN matches no matcher", async () => {
    const up = await tlsUpstream(keys.pki.sidecar);
    const proxy = await proxyTo(up.port, {
      ca: keys.pki.ca,
      sans: ["{ san_type: DNS, matcher: { exact: other.test } }"],
    });
    const reply = await request(proxy.port, "/");
    expect(reply.status).toBe(503);
    expect((await proxy.logged())[0]?.responseFlags).toContain("UF");
    expect(proxy.stat("cluster.backend.upstream_cx_connect_fail")).toBe(1);
    expect(proxy.stat(`${SSL}fail_verify_san`)).toBe(1);
    expect(up.seen).toEqual([]);
  });

  it("answers 503 UF when the server's certificate is from another CA", async () => {
    const up = await tlsUpstream(keys.pki.rogue);
    const proxy = await proxyTo(up.port, { ca: keys.pki.ca });
    const reply = await request(proxy.port, "/");
    expect(reply.status).toBe(503);
    expect((await proxy.logged())[0]?.responseFlags).toContain("UF");
    expect(proxy.stat(`${SSL}fail_verify_error`)).toBe(1);
  });

  it("answers 503 UF when the upstream does not speak TLS (ssl.connection_error) or resets", async () => {
    const plain = await proxies.upstream();
    const proxy = await proxyTo(plain.port, {});
    expect((await request(proxy.port, "/")).status).toBe(503);
    await waitUntil("ssl.connection_error", () => proxy.stat(`${SSL}connection_error`) === 1);
    const resetting = await proxies.serve(net.createServer((s) => s.resetAndDestroy()));
    const proxy2 = await proxyTo(resetting.port, {});
    expect((await request(proxy2.port, "/")).status).toBe(503);
    for (const p of [proxy, proxy2]) {
      expect((await p.logged())[0]?.responseFlags).toContain("UF");
      expect(p.stat("cluster.backend.upstream_cx_connect_fail")).toBe(1);
    }
  });

  it("verifies nothing without a validation_context, as Envoy", async () => {
    const up = await tlsUpstream(keys.pki.rogue);
    const proxy = await proxyTo(up.port, {});
    expect((await request(proxy.port, "/")).status).toBe(200);
    expect(up.seen[0]?.servername).toBe(false);
  });

  it("presents its client certificate to an upstream that requires one (mTLS)", async () => {
    const up = await tlsUpstream(keys.pki.sidecar, { requestCert: true });
    const refused = await proxyTo(up.port, { ca: keys.pki.ca });
    expect((await request(refused.port, "/")).status).toBe(503);
    const proxy = await proxyTo(up.port, { ca: keys.pki.ca, cert: keys.pki.client });
    expect((await request(proxy.port, "/")).status).toBe(200);
    expect(up.seen[0]?.clientCertUri).toBe("URI:spiffe://echomesh/front");
  });
});

describe("WebSocket to a TLS upstream", () => {
  it("opens the upgrade connection over TLS (HTTP/1.1 ALPN) and tunnels frames", async () => {
    const server = https.createServer({
      cert: readFileSync(keys.pki.sidecar.cert),
      key: readFileSync(keys.pki.sidecar.key),
    });
    const wss = new WebSocketServer({ server });
    wss.on("connection", (ws) => ws.on("message", (m) => ws.send(`tls-echo:${String(m)}`)));
    const up = await proxies.serve(server);
    const proxy = await proxies.bootstrap(
      tlsBootstrap({
        clusterExtra: [transportSocket("upstream", { ca: keys.pki.ca })],
        hcmExtra: ["upgrade_configs: [{ upgrade_type: websocket }]"],
      }),
      { backend: up.port },
    );
    const { ws } = await wsConnect(proxy.port);
    proxies.defer(() => ws.terminate());
    const reply = nextMessage(ws);
    ws.send("hi");
    expect(String((await reply).data)).toBe("tls-echo:hi");
    expect(proxy.stat(`${SSL}handshake`)).toBe(1);
  });
});

describe("HTTP/2 over TLS upstream", () => {
  it("sends the downstream's scheme as :scheme (https from a TLS listener), as Envoy", async () => {
    const schemes: string[] = [];
    const server = http2.createSecureServer(
      { cert: readFileSync(keys.pki.sidecar.cert), key: readFileSync(keys.pki.sidecar.key) },
      (req, res) => {
        schemes.push(String(req.headers[":scheme"]));
        res.end("ok");
      },
    );
    const up = await proxies.serve(server);
    const listenerTls = transportSocket("downstream", { cert: keys.pki.proxy });
    const proxy = await proxies.bootstrap(
      tlsBootstrap({
        listenerTls,
        clusterExtra: [
          transportSocket("upstream", {}),
          ...H2_OPTIONS.split("\n").map((l) => l.replace(/^ {4}/, "")),
        ],
      }),
      { backend: up.port },
    );
    const status = await new Promise<number>((resolve, reject) => {
      const req = https.get(
        { host: "127.0.0.1", port: proxy.port, path: "/", ca: readFileSync(keys.pki.ca), agent: false },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
    });
    expect(status).toBe(200);
    expect(schemes).toEqual(["https"]);
    expect(proxy.stat("http.ingress.downstream_cx_ssl_total")).toBe(1);
  });
});

describe("the mesh hop: front -> h2 over mTLS -> sidecar -> service", () => {
  it("carries requests over one mutually authenticated HTTP/2 connection", async () => {
    const service = await proxies.upstream();
    const sidecarTls = transportSocket("downstream", {
      cert: keys.pki.sidecar,
      ca: keys.pki.ca,
      requireClientCertificate: true,
      alpn: ["h2", "http/1.1"],
      sans: ["{ san_type: URI, matcher: { exact: spiffe://echomesh/front } }"],
    });
    const sidecar = await proxies.bootstrap(tlsBootstrap({ listenerTls: sidecarTls }), {
      backend: service.port,
    });
    const front = await proxyTo(
      sidecar.port,
      {
        cert: keys.pki.client,
        ca: keys.pki.ca,
        sni: "sidecar.test",
        sans: ["{ san_type: URI, matcher: { exact: spiffe://echomesh/sidecar } }"],
      },
      H2_OPTIONS.split("\n").map((l) => l.replace(/^ {4}/, "")),
    );
    for (let i = 0; i < 3; i++) {
      const reply = await request(front.port, `/hop/${i}`);
      expect(reply.status).toBe(200);
      const seen = JSON.parse(reply.body.toString()) as { url: string; headers: Record<string, string> };
      expect(seen.url).toBe(`/hop/${i}`);
      // The front proxy's plain-text client: the sidecar keeps the scheme the front set.
      expect(seen.headers["x-forwarded-proto"]).toBe("http");
    }
    expect(front.stat("cluster.backend.upstream_cx_http2_total")).toBe(1);
    expect(front.stat(`${SSL}handshake`)).toBe(1);
    expect(sidecar.stat("http.ingress.downstream_cx_http2_total")).toBe(1);
    expect(sidecar.stat("listener.127.0.0.1_0.ssl.handshake")).toBe(1);
    expect(sidecar.stat("http.ingress.downstream_rq_total")).toBe(3);
  });
});
