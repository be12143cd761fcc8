/**
 * Connection limits (issue 9, item 2): a client that opens connections and holds them must not take
 * them all. Envoy's two limits: the runtime key `envoy.resource_limits.listener.<name>.connection_limit`
 * and the overload manager's `global_downstream_max_connections`. Past a limit a connection is
 * accepted and closed at once (measured on Envoy 1.40: FIN, no bytes, not in downstream_cx_total).
 * Loopback only, 20 connections.
 */
import net from "node:net";
import { describe, expect, it } from "vitest";
import { poll, waitUntil } from "../../../lib/wait.js";
import { useCleanup } from "../../../test-support/cleanup.js";
import { statusOf, wholeResponse } from "../../../test-support/http.js";
import { prefixRoutes, staticCluster, type TestProxy, useProxies, v3Bootstrap } from "../http/helpers.js";

const proxies = useProxies();
const defer = useCleanup();
const LISTENER = "listener.127.0.0.1_0.";

/** A proxy (listener `ingress`) in front of an HTTP/1.1 upstream, `top` before static_resources. */
async function limitedProxy(top: string): Promise<TestProxy> {
  const upstream = await proxies.upstream((_req, res) => res.end("ok"));
  const yaml = v3Bootstrap({
    top,
    routes: prefixRoutes({ "/": "route: { cluster: backend }" }),
    clusters: staticCluster("backend", "{{backend}}"),
  });
  return proxies.bootstrap(yaml, { backend: upstream.port });
}

interface Client {
  socket: net.Socket;
  /** The proxy closed it. */
  closed: boolean;
  received: string;
}

/** Opens `n` connections one after the other (each connected before the next) and keeps them. */
async function connectMany(port: number, n: number): Promise<Client[]> {
  const clients: Client[] = [];
  for (let i = 0; i < n; i++) {
    const socket = net.connect(port, "127.0.0.1");
    const client: Client = { socket, closed: false, received: "" };
    socket.on("data", (d: Buffer) => {
      client.received += d.toString("latin1");
    });
    socket.on("error", () => {
      client.closed = true;
    });
    socket.on("close", () => {
      client.closed = true;
    });
    await new Promise((resolve) => socket.once("connect", resolve));
    clients.push(client);
  }
  defer(() => {
    for (const c of clients) c.socket.destroy();
  });
  return clients;
}

/** One GET on each client; resolves with each status (0: closed without an answer). */
async function getOnEach(clients: Client[]): Promise<number[]> {
  for (const c of clients) {
    c.received = "";
    if (!c.closed) c.socket.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  }
  await poll(
    () => clients.every((c) => c.closed || wholeResponse(c.received)),
    (done) => done,
    { withinMs: 3000, intervalMs: 20 },
  );
  return clients.map((c) => statusOf(c.received));
}

/** Opens `n` connections; `overflow` of them must be closed by the proxy within 2 s. */
async function connectOverLimit(port: number, n: number, overflow: number): Promise<Client[]> {
  const clients = await connectMany(port, n);
  const closed = await poll(
    () => clients.filter((c) => c.closed).length,
    (k) => k >= overflow,
    { withinMs: 2000, intervalMs: 20 },
  );
  expect(`${closed} of ${n} closed by the proxy`).toBe(`${overflow} of ${n} closed by the proxy`);
  return clients;
}

/** A new connection's GET, on a fresh socket. */
async function freshGet(port: number): Promise<number> {
  const [client] = await connectMany(port, 1);
  return (await getOnEach([client as Client]))[0] as number;
}

describe("connection limits (issue 9)", () => {
  it("runtime connection_limit 5, 20 connections: 5 served, 15 closed at once (downstream_cx_overflow), served again once they leave", async () => {
    const p = await limitedProxy(`
layered_runtime:
  layers:
  - name: static
    static_layer:
      envoy.resource_limits.listener.ingress.connection_limit: 5`);
    const clients = await connectOverLimit(p.port, 20, 15);
    expect(clients.slice(0, 5).every((c) => !c.closed)).toBe(true);
    expect(await getOnEach(clients.slice(0, 5))).toEqual([200, 200, 200, 200, 200]);
    expect(clients.slice(5).every((c) => c.received === "")).toBe(true);
    expect(p.stat(`${LISTENER}downstream_cx_overflow`)).toBe(15);
    expect(p.stat(`${LISTENER}downstream_cx_total`)).toBe(5);
    expect(p.stat(`${LISTENER}downstream_cx_active`)).toBe(5);
    // The held connections leave: new ones are served.
    for (const c of clients) c.socket.destroy();
    await waitUntil("the held connections are gone", () => p.stat(`${LISTENER}downstream_cx_active`) === 0);
    expect(await freshGet(p.port)).toBe(200);
    expect(p.stat(`${LISTENER}downstream_cx_overflow`)).toBe(15);
  });

  it("overload manager global_downstream_max_connections 5, 20 connections: 5 served, 15 closed (downstream_global_cx_overflow)", async () => {
    const p = await limitedProxy(`
overload_manager:
  resource_monitors:
  - name: envoy.resource_monitors.global_downstream_max_connections
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig
      max_active_downstream_connections: 5`);
    const clients = await connectOverLimit(p.port, 20, 15);
    expect(await getOnEach(clients.slice(0, 5))).toEqual([200, 200, 200, 200, 200]);
    expect(p.stat(`${LISTENER}downstream_global_cx_overflow`)).toBe(15);
    expect(p.stat("overload.envoy.resource_monitors.global_downstream_max_connections.failed_updates")).toBe(
      15,
    );
    expect(p.stat(`${LISTENER}downstream_cx_total`)).toBe(5);
    for (const c of clients) c.socket.destroy();
    await waitUntil("the held connections are gone", () => p.stat(`${LISTENER}downstream_cx_active`) === 0);
    expect(await freshGet(p.port)).toBe(200);
  });
});
