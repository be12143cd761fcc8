import http from "node:http";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { freePort } from "../../../lib/net.js";
import { waitUntil } from "../../../lib/wait.js";
import { h2session } from "../../../test-support/h2.js";
import { raw, request } from "../../../test-support/http.js";
import { closed, nextMessage, wsConnect, wsOverH2 } from "../../../test-support/ws.js";
import { H2C_CLUSTER, type TestProxy, type Upstream, useProxies } from "../http/helpers.js";

const proxies = useProxies();

/** An HTTP/1.1 WebSocket echo server (plain requests get 200 "plain"). */
async function wsUpstream(): Promise<Upstream & { connections: () => number }> {
  const server = http.createServer((_req, res) => res.end("plain"));
  const wss = new WebSocketServer({ server });
  let count = 0;
  wss.on("connection", (ws, req) => {
    count++;
    ws.on("message", (data, binary) => ws.send(binary ? data : `echo:${data}:${req.url}`));
  });
  const u = await proxies.serve(server);
  proxies.defer(() => {
    for (const c of wss.clients) c.terminate();
    wss.close();
  });
  return { ...u, connections: () => count };
}

/** A proxy sending every route to `port`, with HCM and `backend` cluster YAML extras. */
function proxy(routes: string, port: number, hcmExtra = "", clusterExtra = ""): Promise<TestProxy> {
  return proxies.proxy(routes, { backend: port }, { hcmExtra, clusterExtra: { backend: clusterExtra } });
}

/** A v2 bootstrap (the seed's dialect): `use_websocket` on /ws, cluster `backend` on 127.0.0.1. */
const V2_WS = `
static_resources:
  listeners:
  - address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.http_connection_manager
        config:
          codec_type: auto
          stat_prefix: ingress_http
          route_config:
            virtual_hosts:
            - name: backend
              domains: ["*"]
              routes:
              - match: { prefix: "/ws" }
                route: { cluster: backend, use_websocket: true }
              - match: { prefix: "/" }
                route: { cluster: backend }
          http_filters:
          - name: envoy.router
            config: {}
  clusters:
  - name: backend
    connect_timeout: 0.25s
    type: static
    lb_policy: round_robin
    hosts:
    - socket_address: { address: 127.0.0.1, port_value: {{backend}} }
`;

const WS_ROUTE = `- match: { prefix: "/ws" }
  route:
    cluster: backend
    upgrade_configs: [{ upgrade_type: websocket }]
- match: { prefix: "/" }
  route: { cluster: backend }`;

/** Opens a WebSocket to the proxy, sends `text` and resolves with the reply. */
async function roundTrip(port: number, path: string, text: string): Promise<string> {
  const { ws } = await wsConnect(port, path);
  const reply = nextMessage(ws);
  ws.send(text);
  const { data } = await reply;
  ws.close();
  return data.toString();
}

/** Round trip over a WebSocket on an RFC 8441 extended CONNECT stream of a fresh h2c session. */
async function roundTripOverH2(port: number, path: string, text: string): Promise<string> {
  const session = await h2session(port);
  proxies.defer(() => session.destroy());
  // The upstream is HTTP/1.1: the proxy hands the key on in its Upgrade request.
  const { ws } = await wsOverH2(session, path, { "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" });
  const reply = nextMessage(ws);
  ws.send(text);
  const { data } = await reply;
  ws.close();
  await closed(ws);
  session.close();
  return data.toString();
}

describe("WebSocket over HTTP/1.1", () => {
  it("upgrades on a websocket route and tunnels both ways", async () => {
    const u = await wsUpstream();
    const p = await proxy(WS_ROUTE, u.port);
    expect(await roundTrip(p.port, "/ws/chat", "hi")).toBe("echo:hi:/ws/chat");
    expect(p.stat("http.ingress.downstream_cx_upgrades_total")).toBe(1);
    await waitUntil("the upgrade ends", () => p.stat("http.ingress.downstream_cx_upgrades_active") === 0);
  });

  it("the HCM's upgrade_configs enable every route unless the route disables it", async () => {
    const u = await wsUpstream();
    const routes = `- match: { prefix: "/off" }
  route:
    cluster: backend
    upgrade_configs: [{ upgrade_type: websocket, enabled: false }]
- match: { prefix: "/" }
  route: { cluster: backend }`;
    const p = await proxy(routes, u.port, "upgrade_configs: [{ upgrade_type: websocket }]");
    expect(await roundTrip(p.port, "/any", "x")).toBe("echo:x:/any");
    await expect(roundTrip(p.port, "/off", "x")).rejects.toThrow("Unexpected server response: 403");
  });

  it("an upgrade on a route without upgrades gets 403 and counts ws_on_non_ws_route", async () => {
    const u = await wsUpstream();
    const p = await proxy(WS_ROUTE, u.port);
    await expect(roundTrip(p.port, "/plain", "x")).rejects.toThrow("Unexpected server response: 403");
    expect(p.stat("http.ingress.downstream_rq_ws_on_non_ws_route")).toBe(1);
    expect(u.connections()).toBe(0);
  });

  it("an upgrade request answered here from a client that half-closed: the reply, then the close (within delayed_close_timeout)", async () => {
    const u = await wsUpstream();
    const p = await proxy(WS_ROUTE, u.port);
    const started = performance.now();
    const { text, closedByPeer } = await raw(
      p.port,
      "GET /plain HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      { endAfterMs: 0 },
    );
    expect(text).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(closedByPeer).toBe(true);
    expect(performance.now() - started).toBeLessThan(1000);
    await waitUntil("no connection left", () => p.stat("http.ingress.downstream_cx_active") === 0);
  });

  it("an upstream that refuses the upgrade has its response forwarded", async () => {
    const plain = http.createServer((_req, res) =>
      res.writeHead(404, { "content-type": "text/plain" }).end("nope"),
    );
    const u = await proxies.serve(plain);
    const p = await proxy(WS_ROUTE, u.port);
    await expect(roundTrip(p.port, "/ws", "x")).rejects.toThrow("Unexpected server response: 404");
  });

  it("v3: a connect failure gets the router's 503 and the connection closes (Envoy 1.40)", async () => {
    const p = await proxy(WS_ROUTE, await freePort());
    const { text } = await raw(
      p.port,
      "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    const body =
      "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure";
    expect(text.replace(/date: [^\r]*\r\n/, "")).toBe(
      `HTTP/1.1 503 Service Unavailable\r\ncontent-length: ${body.length}\r\ncontent-type: text/plain\r\n` +
        `server: envoy\r\nconnection: close\r\n\r\n${body}`,
    );
  });

  it("v3: an upstream answering 200 instead of 101 gives its status and headers, no body", async () => {
    const u = await proxies.serve(
      http.createServer((_req, res) => res.writeHead(200, { "x-up": "1" }).end("ok")),
    );
    const p = await proxy(WS_ROUTE, u.port);
    const { text } = await raw(
      p.port,
      "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    expect(text).toMatch(
      /^HTTP\/1\.1 200 OK\r\nx-up: 1\r\ndate: [^\r]+\r\nserver: envoy\r\nconnection: close\r\ncontent-length: 0\r\n\r\n$/,
    );
  });

  it("the upgrade request and the 101 as Envoy 1.40 writes them (measured bytes)", async () => {
    const sent: string[] = [];
    const up = await proxies.serve(
      net.createServer((socket) => {
        socket.on("error", () => {});
        socket.once("data", (d: Buffer) => {
          sent.push(d.toString("latin1"));
          socket.write(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
              "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nX-Up: 1\r\n\r\n",
          );
        });
      }),
    );
    const p = await proxy(WS_ROUTE, up.port);
    const { text } = await raw(
      p.port,
      "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Mixed: 1\r\n\r\n",
      { until: (t) => t.endsWith("\r\n\r\n") },
    );
    expect(text.replace(/date: [^\r]*/, "date: D")).toBe(
      "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n" +
        "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nx-up: 1\r\ndate: D\r\nserver: envoy\r\n\r\n",
    );
    expect(sent.join("").replace(/x-request-id: [0-9a-f-]+/, "x-request-id: UUID")).toBe(
      "GET /ws HTTP/1.1\r\nhost: x\r\nconnection: Upgrade\r\nupgrade: websocket\r\n" +
        "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\nx-mixed: 1\r\n" +
        "x-forwarded-proto: http\r\nx-request-id: UUID\r\nx-envoy-expected-rq-timeout-ms: 15000\r\n\r\n",
    );
  });

  it("v2 (Envoy's 2018 WebSocket handler): a connect failure gets a headers-only 504", async () => {
    const p = await proxies.bootstrap(V2_WS, { backend: await freePort() });
    await expect(roundTrip(p.port, "/ws", "x")).rejects.toThrow("Unexpected server response: 504");
  });

  it("a plain request to a websocket route is a normal request", async () => {
    const u = await wsUpstream();
    const p = await proxy(WS_ROUTE, u.port);
    expect((await request(p.port, "/ws")).text).toBe("plain");
  });
});

describe("WebSocket over HTTP/2", () => {
  it("accepts RFC 8441 extended CONNECT on an h2c listener and hands it on as an HTTP/1.1 upgrade", async () => {
    const u = await wsUpstream();
    const p = await proxy(WS_ROUTE, u.port, "http2_protocol_options: { allow_connect: true }");
    expect(await roundTripOverH2(p.port, "/ws/h2", "over-h2")).toBe("echo:over-h2:/ws/h2");
    expect(p.stat("http.ingress.downstream_cx_upgrades_total")).toBe(1);
  });

  it("carries a WebSocket through a front proxy and an h2c sidecar (extended CONNECT hop)", async () => {
    const u = await wsUpstream();
    const sidecar = await proxy(WS_ROUTE, u.port, "http2_protocol_options: { allow_connect: true }");
    const front = await proxy(WS_ROUTE, sidecar.port, "", H2C_CLUSTER);
    expect(await roundTrip(front.port, "/ws/mesh", "hop")).toBe("echo:hop:/ws/mesh");
    expect(sidecar.stat("http.ingress.downstream_cx_http2_total")).toBeGreaterThanOrEqual(1);
    expect(sidecar.stat("http.ingress.downstream_cx_upgrades_total")).toBe(1);
    // The tunnel rode the h2c session, not a separate HTTP/1.1 connection.
    expect(sidecar.stat("http.ingress.downstream_cx_http1_total")).toBe(0);
    // A WebSocket closed cleanly is no reset on the h2c hop; on the HTTP/1.1 front, whose request only
    // ends with the connection, Envoy 1.40 counts the end of the tunnel in downstream_rq_rx_reset
    // (measured: differential case ws-accepted).
    await waitUntil(
      "the sidecar's upgrade ends",
      () => sidecar.stat("http.ingress.downstream_cx_upgrades_active") === 0,
    );
    await waitUntil(
      "the front's upgrade ends",
      () => front.stat("http.ingress.downstream_cx_upgrades_active") === 0,
    );
    expect(sidecar.stat("http.ingress.downstream_rq_rx_reset")).toBe(0);
    await waitUntil(
      "the front counts the tunnel's end",
      () => front.stat("http.ingress.downstream_rq_rx_reset") === 1,
    );
  });

  it("v3: without allow_connect on the sidecar the WebSocket fails as with Envoy 1.40 (503, connection termination)", async () => {
    const u = await wsUpstream();
    const sidecar = await proxy(WS_ROUTE, u.port);
    const front = await proxy(WS_ROUTE, sidecar.port, "", H2C_CLUSTER);
    const { text } = await raw(
      front.port,
      "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    expect(text).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(text).toMatch(/\r\nconnection: close\r\n/);
    expect(text.endsWith("reset reason: connection termination")).toBe(true);
    expect(sidecar.stat("http.ingress.downstream_cx_upgrades_total")).toBe(0);
    expect(u.connections()).toBe(0);
  });

  it("v2: without allow_connect the h2 hop falls back to an HTTP/1.1 upgrade (Envoy of 2018)", async () => {
    const u = await wsUpstream();
    const sidecar = await proxies.bootstrap(V2_WS, { backend: u.port });
    const front = await proxies.bootstrap(
      V2_WS.replace("lb_policy: round_robin", "lb_policy: round_robin\n    http2_protocol_options: {}"),
      {
        backend: sidecar.port,
      },
    );
    expect(await roundTrip(front.port, "/ws/fallback", "x")).toBe("echo:x:/ws/fallback");
    expect(sidecar.stat("http.ingress_http.downstream_cx_upgrades_total")).toBe(1);
    expect(sidecar.stat("http.ingress_http.downstream_cx_http1_total")).toBe(1);
  });
});
