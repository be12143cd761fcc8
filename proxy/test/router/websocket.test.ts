import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import {
  bootstrapYaml,
  H2C_CLUSTER,
  listenUpstream,
  startProxy,
  type TestProxy,
  type Upstream,
  until,
} from "../http/helpers.js";

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
});

/** An HTTP/1.1 WebSocket echo server (plain requests get 200 "plain"). */
async function wsUpstream(): Promise<Upstream & { connections: () => number }> {
  const server = http.createServer((_req, res) => res.end("plain"));
  const wss = new WebSocketServer({ server });
  let count = 0;
  wss.on("connection", (ws, req) => {
    count++;
    ws.on("message", (data, binary) => ws.send(binary ? data : `echo:${data}:${req.url}`));
  });
  const u = await listenUpstream(server);
  const close = u.close;
  const out = {
    ...u,
    connections: () => count,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await close();
    },
  };
  opened.push(out);
  return out;
}

async function proxy(routes: string, port: number, hcmExtra = "", clusterExtra = ""): Promise<TestProxy> {
  const p = await startProxy(bootstrapYaml({ routes, hcmExtra, clusterExtra: { backend: clusterExtra } }), {
    backend: port,
  });
  opened.push(p);
  return p;
}

const WS_ROUTE = `- match: { prefix: "/ws" }
  route:
    cluster: backend
    upgrade_configs: [{ upgrade_type: websocket }]
- match: { prefix: "/" }
  route: { cluster: backend }`;

function roundTrip(url: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on("open", () => ws.send(text));
    ws.on("message", (data) => {
      ws.close();
      resolve(String(data));
    });
    ws.on("unexpected-response", (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    ws.on("error", reject);
  });
}

/** Masked client text frame (payload < 126 bytes). */
function clientFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] as number)));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

/** Payload of an unmasked server text frame (payload < 126 bytes). */
function serverFramePayload(frame: Buffer): string {
  return frame.subarray(2, 2 + ((frame[1] as number) & 0x7f)).toString();
}

describe("WebSocket over HTTP/1.1", () => {
  it("upgrades on a websocket route and tunnels both ways", async () => {
    const u = await wsUpstream();
    const p = await proxy(WS_ROUTE, u.port);
    expect(await roundTrip(`ws://127.0.0.1:${p.port}/ws/chat`, "hi")).toBe("echo:hi:/ws/chat");
    expect(p.stat("http.ingress.downstream_cx_upgrades_total")).toBe(1);
    await until(() => p.stat("http.ingress.downstream_cx_upgrades_active") === 0);
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
    expect(await roundTrip(`ws://127.0.0.1:${p.port}/any`, "x")).toBe("echo:x:/any");
    await expect(roundTrip(`ws://127.0.0.1:${p.port}/off`, "x")).rejects.toThrow("status 403");
  });

  it("an upgrade on a route without upgrades gets 403 and counts ws_on_non_ws_route", async () => {
    const u = await wsUpstream();
    const p = await proxy(WS_ROUTE, u.port);
    await expect(roundTrip(`ws://127.0.0.1:${p.port}/plain`, "x")).rejects.toThrow("status 403");
    expect(p.stat("http.ingress.downstream_rq_ws_on_non_ws_route")).toBe(1);
    expect(u.connections()).toBe(0);
  });

  it("an upstream that refuses the upgrade has its response forwarded", async () => {
    const plain = http.createServer((_req, res) =>
      res.writeHead(404, { "content-type": "text/plain" }).end("nope"),
    );
    const u = await listenUpstream(plain);
    opened.push(u);
    const p = await proxy(WS_ROUTE, u.port);
    await expect(roundTrip(`ws://127.0.0.1:${p.port}/ws`, "x")).rejects.toThrow("status 404");
  });

  it("a connect failure gets a headers-only 504 (Envoy's WebSocket handler)", async () => {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise((r) => s.close(r));
    const p = await proxy(WS_ROUTE, port);
    await expect(roundTrip(`ws://127.0.0.1:${p.port}/ws`, "x")).rejects.toThrow("status 504");
  });

  it("a plain request to a websocket route is a normal request", async () => {
    const u = await wsUpstream();
    const p = await proxy(WS_ROUTE, u.port);
    const body = await new Promise<string>((resolve, reject) => {
      http
        .get({ host: "127.0.0.1", port: p.port, path: "/ws", agent: false }, (res) => {
          let s = "";
          res.on("data", (c) => {
            s += c;
          });
          res.on("end", () => resolve(s));
        })
        .on("error", reject);
    });
    expect(body).toBe("plain");
  });
});

describe("WebSocket over HTTP/2", () => {
  it("accepts RFC 8441 extended CONNECT on an h2c listener and hands it on as an HTTP/1.1 upgrade", async () => {
    const u = await wsUpstream();
    const p = await proxy(WS_ROUTE, u.port, "http2_protocol_options: { allow_connect: true }");
    const session = http2.connect(`http://127.0.0.1:${p.port}`);
    session.on("error", () => {});
    await new Promise<void>((r) => session.once("remoteSettings", () => r()));
    const stream = session.request(
      {
        ":method": "CONNECT",
        ":protocol": "websocket",
        ":path": "/ws/h2",
        ":scheme": "http",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      },
      { endStream: false },
    );
    const status = await new Promise<number>((r) => stream.once("response", (h) => r(Number(h[":status"]))));
    expect(status).toBe(200);
    stream.write(clientFrame("over-h2"));
    const frame = await new Promise<Buffer>((r) => stream.once("data", r));
    expect(serverFramePayload(frame)).toBe("echo:over-h2:/ws/h2");
    stream.close();
    session.close();
    expect(p.stat("http.ingress.downstream_cx_upgrades_total")).toBe(1);
  });

  it("carries a WebSocket through a front proxy and an h2c sidecar (extended CONNECT hop)", async () => {
    const u = await wsUpstream();
    const sidecar = await proxy(WS_ROUTE, u.port, "http2_protocol_options: { allow_connect: true }");
    const front = await proxy(WS_ROUTE, sidecar.port, "", H2C_CLUSTER);
    expect(await roundTrip(`ws://127.0.0.1:${front.port}/ws/mesh`, "hop")).toBe("echo:hop:/ws/mesh");
    expect(sidecar.stat("http.ingress.downstream_cx_http2_total")).toBeGreaterThanOrEqual(1);
    expect(sidecar.stat("http.ingress.downstream_cx_upgrades_total")).toBe(1);
    // The tunnel rode the h2c session, not a separate HTTP/1.1 connection.
    expect(sidecar.stat("http.ingress.downstream_cx_http1_total")).toBe(0);
    // A WebSocket closed cleanly is not a reset on either hop.
    await until(() => sidecar.stat("http.ingress.downstream_cx_upgrades_active") === 0);
    await until(() => front.stat("http.ingress.downstream_cx_upgrades_active") === 0);
    expect(sidecar.stat("http.ingress.downstream_rq_rx_reset")).toBe(0);
    expect(front.stat("http.ingress.downstream_rq_rx_reset")).toBe(0);
  });

  it("without allow_connect on the sidecar the hop falls back to an HTTP/1.1 upgrade", async () => {
    const u = await wsUpstream();
    const sidecar = await proxy(WS_ROUTE, u.port);
    const front = await proxy(WS_ROUTE, sidecar.port, "", H2C_CLUSTER);
    expect(await roundTrip(`ws://127.0.0.1:${front.port}/ws/fallback`, "x")).toBe("echo:x:/ws/fallback");
    expect(sidecar.stat("http.ingress.downstream_cx_upgrades_total")).toBe(1);
    expect(sidecar.stat("http.ingress.downstream_cx_http1_total")).toBe(1);
  });
});
