/**
 * A TLS listener (`transport_socket` envoy.transport_sockets.tls): HTTP/1.1 and HTTP/2 chosen by
 * ALPN, `x-forwarded-proto: https`, client certificates (required, from the wrong CA, with a SAN
 * that does not match) refused and counted in `listener.<address>.ssl.*`, a WebSocket over TLS.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import { describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import {
  getHeaderBlock,
  H2_PREFACE,
  headersFrame,
  rstStreamFrame,
  settingsFrame,
} from "../../../lib/h2_frames.js";
import { waitUntil } from "../../../lib/wait.js";
import { nextMessage, wsConnect } from "../../../test-support/ws.js";
import { type TestProxy, useProxies } from "../http/helpers.js";
import { type TlsYaml, tlsBootstrap, transportSocket, usePki } from "./helpers.js";

const proxies = useProxies();
const keys = usePki();
const SSL = "listener.127.0.0.1_0.ssl.";

/** A proxy whose listener terminates TLS with the proxy certificate (`o` adds to it), in front of an echo of the request headers. */
async function tlsProxy(o: Omit<TlsYaml, "cert"> = {}): Promise<TestProxy> {
  const upstream = await proxies.upstream();
  const listenerTls = transportSocket("downstream", { cert: keys.pki.proxy, ...o });
  return proxies.bootstrap(tlsBootstrap({ listenerTls }), { backend: upstream.port });
}

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  alpn: string | false | null;
}

/** One HTTPS/1.1 GET, trusting the test CA; `cert` presents a client certificate. */
function get(
  port: number,
  opts: { cert?: { cert: string; key: string }; alpn?: string[] } = {},
): Promise<Answer> {
  // https.request passes the TLS options through (ALPNProtocols included), which its type omits.
  const options: https.RequestOptions & tls.ConnectionOptions = {
    host: "127.0.0.1",
    port,
    path: "/hello",
    ca: readFileSync(keys.pki.ca),
    agent: false,
    ALPNProtocols: opts.alpn ?? ["http/1.1"],
    ...(opts.cert ? { cert: readFileSync(opts.cert.cert), key: readFileSync(opts.cert.key) } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = https.request(options, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: (JSON.parse(body) as { headers: Record<string, unknown> }).headers,
          alpn: (res.socket as tls.TLSSocket).alpnProtocol,
        }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

describe("a TLS listener", () => {
  it("serves HTTP/1.1 over TLS and tells the upstream x-forwarded-proto: https", async () => {
    const proxy = await tlsProxy({ alpn: ["h2", "http/1.1"] });
    const answer = await get(proxy.port);
    expect(answer.status).toBe(200);
    expect(answer.alpn).toBe("http/1.1");
    expect(answer.headers["x-forwarded-proto"]).toBe("https");
    expect(proxy.stat(`${SSL}handshake`)).toBe(1);
    expect(proxy.stat(`${SSL}versions.TLSv1.3`)).toBe(1);
    expect(proxy.stat("http.ingress.downstream_cx_http1_total")).toBe(1);
    expect(proxy.stat("http.ingress.downstream_cx_ssl_total")).toBe(1);
  });

  it("speaks HTTP/2 to a client whose ALPN chose h2", async () => {
    const proxy = await tlsProxy({ alpn: ["h2", "http/1.1"] });
    const session = http2.connect(`https://127.0.0.1:${proxy.port}`, { ca: readFileSync(keys.pki.ca) });
    proxies.defer(() => session.close());
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const rq = session.request({ ":path": "/h2" });
      let body = "";
      let status = 0;
      rq.on("response", (h) => {
        status = Number(h[":status"]);
      });
      rq.setEncoding("utf8");
      rq.on("data", (c: string) => {
        body += c;
      });
      rq.on("end", () => resolve({ status, body }));
      rq.on("error", reject);
    });
    expect(status).toBe(200);
    expect((session.socket as tls.TLSSocket).alpnProtocol).toBe("h2");
    expect((JSON.parse(body) as { headers: Record<string, string> }).headers["x-forwarded-proto"]).toBe(
      "https",
    );
    expect(proxy.stat("http.ingress.downstream_cx_http2_total")).toBe(1);
  });

  it("cuts an HTTP/2 client over TLS that resets its streams early (rapid reset), without a throw", async () => {
    const proxy = await tlsProxy({ alpn: ["h2"] });
    const socket = tls.connect({
      host: "127.0.0.1",
      port: proxy.port,
      ca: readFileSync(keys.pki.ca),
      ALPNProtocols: ["h2"],
    });
    proxies.defer(() => socket.destroy());
    socket.on("error", () => undefined);
    socket.resume();
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    await new Promise<void>((resolve) => socket.once("secureConnect", () => resolve()));
    // HEADERS then RST_STREAM, 300 times: Envoy's premature-reset rule cuts the connection at 250.
    const frames: Buffer[] = [H2_PREFACE, settingsFrame([])];
    const block = getHeaderBlock("/reset", "proxy.test");
    for (let id = 1; id < 600; id += 2) frames.push(headersFrame(id, block), rstStreamFrame(id));
    socket.write(Buffer.concat(frames));
    await closed;
    expect(proxy.stat("http.ingress.downstream_rq_too_many_premature_resets")).toBe(1);
    // The listener keeps serving.
    expect((await get(proxy.port, { alpn: ["h2"] }).catch(() => null)) === null).toBe(true);
    const again = await tlsProxy();
    expect((await get(again.port)).status).toBe(200);
  });

  it("without alpn_protocols, sniffs the protocol as a plain listener does", async () => {
    const proxy = await tlsProxy();
    const answer = await get(proxy.port, { alpn: ["h2", "http/1.1"] });
    expect(answer.status).toBe(200);
    expect(answer.alpn).toBe(false);
    expect(proxy.stat("http.ingress.downstream_cx_http1_total")).toBe(1);
  });

  it("closes a plain-text client, counting ssl.connection_error, and keeps serving", async () => {
    const proxy = await tlsProxy();
    const closed = await new Promise<string>((resolve) => {
      const s = net.connect(proxy.port, "127.0.0.1", () => s.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n"));
      let got = "";
      s.on("data", (c: Buffer) => {
        got += c.toString("latin1");
      });
      s.on("error", () => resolve(got));
      s.on("close", () => resolve(got));
    });
    expect(closed).not.toContain("HTTP/1.1");
    await waitUntil("connection_error counted", () => proxy.stat(`${SSL}connection_error`) === 1);
    expect((await get(proxy.port)).status).toBe(200);
  });
});

describe("client certificates", () => {
  const mtls = (extra: Partial<TlsYaml> = {}) =>
    tlsProxy({ ca: keys.pki.ca, requireClientCertificate: true, ...extra });

  it("admits a client whose certificate chains to the trusted CA", async () => {
    const proxy = await mtls();
    expect((await get(proxy.port, { cert: keys.pki.client })).status).toBe(200);
    expect(proxy.stat(`${SSL}handshake`)).toBe(1);
  });

  it("refuses a client without a certificate (ssl.fail_verify_no_cert)", async () => {
    const proxy = await mtls();
    await expect(get(proxy.port)).rejects.toThrow();
    await waitUntil("fail_verify_no_cert", () => proxy.stat(`${SSL}fail_verify_no_cert`) === 1);
    expect(proxy.stat(`${SSL}handshake`)).toBe(0);
    expect(proxy.stat("http.ingress.downstream_rq_total")).toBe(0);
  });

  it("refuses a certificate from another CA (ssl.fail_verify_error)", async () => {
    const proxy = await mtls();
    await expect(get(proxy.port, { cert: keys.pki.rogue })).rejects.toThrow();
    await waitUntil("fail_verify_error", () => proxy.stat(`${SSL}fail_verify_error`) === 1);
    expect(proxy.stat("http.ingress.downstream_rq_total")).toBe(0);
  });

  it("refuses a certificate whose SAN matches no matcher (ssl.fail_verify_san)", async () => {
    const proxy = await mtls({ sans: ["{ san_type: URI, matcher: { exact: spiffe://echomesh/other } }"] });
    await expect(get(proxy.port, { cert: keys.pki.client })).rejects.toThrow();
    await waitUntil("fail_verify_san", () => proxy.stat(`${SSL}fail_verify_san`) === 1);
    const ok = await mtls({ sans: ["{ san_type: URI, matcher: { prefix: spiffe://echomesh/ } }"] });
    expect((await get(ok.port, { cert: keys.pki.client })).status).toBe(200);
  });

  it("without a trusted CA, require_client_certificate takes any certificate but refuses none (as Envoy)", async () => {
    const proxy = await tlsProxy({ requireClientCertificate: true });
    expect((await get(proxy.port, { cert: keys.pki.rogue })).status).toBe(200);
    await expect(get(proxy.port)).rejects.toThrow();
    await waitUntil("fail_verify_no_cert", () => proxy.stat(`${SSL}fail_verify_no_cert`) === 1);
  });

  it("without require_client_certificate, admits a client without one but still refuses a bad one", async () => {
    const proxy = await tlsProxy({ ca: keys.pki.ca });
    expect((await get(proxy.port)).status).toBe(200);
    expect(proxy.stat(`${SSL}no_certificate`)).toBe(1);
    await expect(get(proxy.port, { cert: keys.pki.rogue })).rejects.toThrow();
    await waitUntil("fail_verify_error", () => proxy.stat(`${SSL}fail_verify_error`) === 1);
  });
});

describe("WebSocket over a TLS listener", () => {
  it("tunnels wss:// to a plain WebSocket upstream", async () => {
    const wss = new WebSocketServer({ noServer: true });
    const server = http.createServer();
    server.on("upgrade", (req, socket, head) =>
      wss.handleUpgrade(req, socket, head, (ws) => ws.on("message", (m) => ws.send(`echo:${String(m)}`))),
    );
    const upstream = await proxies.serve(server);
    const listenerTls = transportSocket("downstream", { cert: keys.pki.proxy, alpn: ["http/1.1"] });
    const proxy = await proxies.bootstrap(
      tlsBootstrap({ listenerTls, hcmExtra: ["upgrade_configs: [{ upgrade_type: websocket }]"] }),
      { backend: upstream.port },
    );
    const { ws } = await wsConnect(proxy.port, "/ws", { ca: readFileSync(keys.pki.ca) }, "wss");
    proxies.defer(() => ws.terminate());
    const reply = nextMessage(ws);
    ws.send("hi");
    expect(String((await reply).data)).toBe("echo:hi");
    expect(proxy.stat("http.ingress.downstream_cx_upgrades_total")).toBe(1);
  });
});
