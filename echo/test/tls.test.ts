/** The TLS port: HTTPS, h2 by ALPN, WebSocket over TLS, client certificates, bad input, shutdown. */
import net from "node:net";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { accepts, freePort } from "../../lib/net.js";
import { request } from "../../test-support/http.js";
import { closed, nextMessage, wsOverH2 } from "../../test-support/ws.js";
import type { EchoServer } from "../server.js";
import { EchoConfigError } from "../settings.js";
import { LogSink, start } from "./helpers.js";
import { h2sRequest, h2sSession, httpsRequest, makePki, type Pki } from "./tls_helpers.js";

let pki: Pki;
let echo: EchoServer;

beforeAll(async () => {
  pki = await makePki();
  echo = await start({ tls: { port: 0, cert: pki.server.cert, key: pki.server.key } });
}, 60_000);

afterAll(async () => {
  await echo?.close();
  await pki?.remove();
});

const tlsPort = (): number => echo.tlsPort ?? 0;

describe("HTTPS beside plain HTTP", () => {
  it("serves both ports and reports a `tls` object on TLS only", async () => {
    expect(echo.tlsUrl).toBe(`https://127.0.0.1:${tlsPort()}`);
    const r = await httpsRequest(tlsPort(), "/?format=json", { ca: pki.caPem, servername: "echo.test" });
    expect(r.status).toBe(200);
    expect(r.headers["x-echo-protocol"]).toBe("HTTP/1.1");
    const view = JSON.parse(r.text);
    expect(view.proto).toBe("HTTP/1.1");
    expect(view.tls).toMatchObject({ negotiatedProtocol: "http/1.1", serverName: "echo.test" });
    expect(view.tls.version).toMatch(/^TLSv1\.[23]$/);
    expect(view.tls.cipherSuite).toMatch(/^TLS_[A-Z0-9_]+$/);
    expect(view.tls.peerCertificates).toBeUndefined();

    const plain = JSON.parse((await request(echo.port, "/?format=json")).text);
    expect(plain.tls).toBeUndefined();
  });

  it("answers every route over TLS: the text view, POST /echo, controls, 404", async () => {
    const text = await httpsRequest(tlsPort(), "/hello", { ca: pki.caPem, headers: { "X-Mine": "a" } });
    expect(text.text).toContain("X-Mine:[a]\n");
    const body = await httpsRequest(tlsPort(), "/echo", {
      ca: pki.caPem,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"name":"zcong"}',
    });
    expect(body.text).toBe('{"name":"zcong"}');
    expect(body.headers["content-type"]).toBe("application/json");
    const controlled = await httpsRequest(tlsPort(), "/?echo_status=503", {
      ca: pki.caPem,
      headers: { "x-echo-header": "Retry-After: 5" },
    });
    expect(controlled.status).toBe(503);
    expect(controlled.headers["retry-after"]).toBe("5");
    expect((await httpsRequest(tlsPort(), "/nope", { ca: pki.caPem })).status).toBe(404);
  });

  it("answers keep-alive requests on one TLS connection (the HTTP/1.1 fast path, then node:http)", async () => {
    const socket = tls.connect({
      port: tlsPort(),
      host: "127.0.0.1",
      ca: pki.caPem,
      ALPNProtocols: ["http/1.1"],
    });
    socket.on("error", () => {});
    let got = "";
    socket.on("data", (c: Buffer) => {
      got += c.toString("latin1");
    });
    socket.write(
      "GET / HTTP/1.1\r\nHost: x\r\n\r\n" +
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
        "GET /?echo_status=202 HTTP/1.1\r\nHost: x\r\n\r\n" +
        "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    await new Promise((resolve) => socket.once("close", resolve));
    expect(got.match(/HTTP\/1\.1 \d{3}/g)).toEqual([
      "HTTP/1.1 200",
      "HTTP/1.1 200",
      "HTTP/1.1 202",
      "HTTP/1.1 200",
    ]);
    expect(got).toContain("Host:[x]\n");
    expect(got).toContain("\r\n\r\nhello");
  });

  it("resets the TCP connection under TLS for echo_reset", async () => {
    await expect(httpsRequest(tlsPort(), "/?echo_reset=1", { ca: pki.caPem })).rejects.toMatchObject({
      code: "ECONNRESET",
    });
  });

  it("speaks HTTP/2 when ALPN picks h2", async () => {
    const session = await h2sSession(tlsPort(), { ca: pki.caPem });
    try {
      expect(session.alpnProtocol).toBe("h2");
      const r = await h2sRequest(session, "/hello?format=json");
      expect(r.status).toBe(200);
      expect(r.headers["x-echo-protocol"]).toBe("HTTP/2.0");
      const view = JSON.parse(r.text);
      expect(view.proto).toBe("HTTP/2.0");
      expect(view.tls).toMatchObject({ negotiatedProtocol: "h2", serverName: "localhost" });
      const echoed = await new Promise<string>((resolve, reject) => {
        const s = session.request({ ":method": "POST", ":path": "/echo" });
        let out = "";
        s.setEncoding("utf8");
        s.on("data", (c: string) => {
          out += c;
        });
        s.on("end", () => resolve(out));
        s.on("error", reject);
        s.end("over h2 and tls");
      });
      expect(echoed).toBe("over h2 and tls");
    } finally {
      session.close();
    }
  });

  it("falls back to HTTP/1.1 for a client that offers no ALPN", async () => {
    const r = await httpsRequest(tlsPort(), "/?format=json", { ca: pki.caPem, alpn: [] });
    expect(JSON.parse(r.text).tls.negotiatedProtocol).toBe("");
    expect(r.headers["x-echo-protocol"]).toBe("HTTP/1.1");
  });

  it("echoes WebSocket messages over TLS (wss) and over h2 extended CONNECT", async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${tlsPort()}/ws`, { ca: pki.caPem });
    const upgraded = new Promise<string | string[] | undefined>((resolve) =>
      ws.once("upgrade", (res) => resolve(res.headers["x-echo-protocol"])),
    );
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    expect(await upgraded).toBe("HTTP/1.1");
    ws.send("hello over wss");
    expect((await nextMessage(ws)).data.toString()).toBe("hello over wss");
    ws.close(1000);
    expect((await closed(ws)).code).toBe(1000);

    const session = await h2sSession(tlsPort(), { ca: pki.caPem });
    try {
      const { ws: h2ws, headers } = await wsOverH2(session, "/ws", { ":scheme": "https" });
      expect(headers["x-echo-protocol"]).toBe("HTTP/2.0");
      h2ws.send(Buffer.from([1, 2, 3]));
      const m = await nextMessage(h2ws);
      expect(m.isBinary).toBe(true);
      expect([...m.data]).toEqual([1, 2, 3]);
      h2ws.close(1000);
      await closed(h2ws);
    } finally {
      session.close();
    }
  });

  it("survives plaintext and broken handshakes on the TLS port, and counts them", async () => {
    const before = await handshakeErrors(echo);
    const answer = await new Promise<string>((resolve) => {
      const s = net.connect(tlsPort(), "127.0.0.1", () => s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      let got = "";
      s.on("data", (c: Buffer) => {
        got += c.toString("latin1");
      });
      s.on("error", () => {});
      s.on("close", () => resolve(got));
    });
    expect(answer).not.toContain("HTTP/1.1 200");
    // A client that goes away in the middle of its handshake.
    await new Promise<void>((resolve) => {
      const s = tls.connect({ port: tlsPort(), host: "127.0.0.1", ca: pki.caPem });
      s.on("error", () => {});
      s.on("close", () => resolve());
      setImmediate(() => s.destroy());
    });
    expect(await handshakeErrors(echo)).toBeGreaterThan(before);
    expect((await httpsRequest(tlsPort(), "/", { ca: pki.caPem })).status).toBe(200);
  });
});

describe("client certificates (--tls-client-ca)", () => {
  let mtls: EchoServer;
  beforeAll(async () => {
    mtls = await start({ tls: { port: 0, cert: pki.server.cert, key: pki.server.key, clientCa: pki.ca } });
  });
  afterAll(() => mtls?.close());

  it("refuses a client without a certificate", async () => {
    await expect(httpsRequest(mtls.tlsPort ?? 0, "/", { ca: pki.caPem })).rejects.toThrow();
    expect(await handshakeErrors(mtls)).toBeGreaterThan(0);
  });

  it("refuses a certificate from another CA", async () => {
    await expect(
      httpsRequest(mtls.tlsPort ?? 0, "/", { ca: pki.caPem, cert: pki.strangerPem }),
    ).rejects.toThrow();
  });

  it("accepts a good certificate and reports its subject, SAN and chain", async () => {
    const r = await httpsRequest(mtls.tlsPort ?? 0, "/?format=json", { ca: pki.caPem, cert: pki.clientPem });
    expect(r.status).toBe(200);
    const { tls: t } = JSON.parse(r.text);
    expect(t.peerSubject).toBe("CN=client-1");
    expect(t.peerSubjectAltName).toBe("URI:spiffe://mesh/client-1");
    expect(t.peerCertificates).toHaveLength(1);
    expect(t.peerCertificates[0]).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    expect(new (await import("node:crypto")).X509Certificate(t.peerCertificates[0]).subject).toBe(
      "CN=client-1",
    );

    const session = await h2sSession(mtls.tlsPort ?? 0, { ca: pki.caPem, cert: pki.clientPem });
    try {
      const h2 = JSON.parse((await h2sRequest(session, "/?format=json")).text);
      expect(h2.tls).toMatchObject({ negotiatedProtocol: "h2", peerSubject: "CN=client-1" });
    } finally {
      session.close();
    }
  });

  it("leaves the plain port open to every client", async () => {
    expect((await request(mtls.port, "/")).status).toBe(200);
  });

  it("keeps no socket of a refused client: close() needs no drain", async () => {
    for (let i = 0; i < 5; i++) {
      await expect(httpsRequest(mtls.tlsPort ?? 0, "/", { ca: pki.caPem })).rejects.toThrow();
      await expect(
        httpsRequest(mtls.tlsPort ?? 0, "/", { ca: pki.caPem, cert: pki.strangerPem }),
      ).rejects.toThrow();
    }
    const t0 = performance.now();
    await mtls.close(); // the drain timeout is 5 s: a socket left open would hold close() that long
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe("TLS configuration and shutdown", () => {
  it("refuses unreadable files and a key that is not the certificate's", async () => {
    await expect(start({ tls: { port: 0, cert: "/nonexistent.crt", key: pki.server.key } })).rejects.toThrow(
      /tls\.cert cannot be read: no such file/,
    );
    await expect(start({ tls: { port: 0, cert: pki.server.cert, key: pki.client.key } })).rejects.toThrow(
      EchoConfigError,
    );
    await expect(start({ tls: { port: 0, cert: pki.server.key, key: pki.server.key } })).rejects.toThrow(
      /tls\.cert is not a PEM certificate/,
    );
  });

  it("logs a failed handshake with the peer and the error when the access log is on", async () => {
    const sink = new LogSink();
    const files = { cert: pki.server.cert, key: pki.server.key, clientCa: pki.ca };
    const e = await start({ tls: { port: 0, ...files }, accessLog: true, logDestination: sink });
    try {
      await expect(httpsRequest(e.tlsPort ?? 0, "/", { ca: pki.caPem })).rejects.toThrow();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const failed = sink.lines.map((l) => JSON.parse(l)).find((r) => r.msg === "tls handshake failed");
      expect(failed).toMatchObject({ remote: "127.0.0.1", error: expect.stringMatching(/CERTIFICATE/) });
    } finally {
      await e.close();
    }
  });

  it("takes both ports or neither: a taken TLS port fails the start and lets the plain port go", async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const taken = (holder.address() as net.AddressInfo).port;
    const plain = await freePort();
    try {
      await expect(
        start({ port: plain, tls: { port: taken, cert: pki.server.cert, key: pki.server.key } }),
      ).rejects.toMatchObject({ code: "EADDRINUSE" });
      expect(await accepts(plain)).toBe(false);
    } finally {
      holder.close();
    }
  });

  it("closes idle TLS connections and handshakes in progress on close()", async () => {
    const e = await start({
      tls: { port: 0, cert: pki.server.cert, key: pki.server.key },
      drainTimeoutMs: 10_000,
    });
    const session = await h2sSession(e.tlsPort ?? 0, { ca: pki.caPem });
    await h2sRequest(session, "/");
    const silent = net.connect(e.tlsPort ?? 0, "127.0.0.1");
    silent.on("error", () => {});
    await new Promise((resolve) => silent.once("connect", resolve));
    const t0 = performance.now();
    await e.close();
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(session.closed || session.destroyed).toBe(true);
    expect(silent.destroyed || silent.readableEnded).toBe(true);
  });
});

async function handshakeErrors(e: EchoServer): Promise<number> {
  const text = await e.context.metrics.render();
  return Number(/^echo_tls_handshake_errors_total (\d+)/m.exec(text)?.[1] ?? "0");
}
