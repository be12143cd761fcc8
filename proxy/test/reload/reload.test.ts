/**
 * Config reload in one process (ProxyServer.applyConfig with the real listeners, connection manager
 * and pools): clusters and listeners added, changed and removed, in-flight requests finishing,
 * `connection: close` on a replaced filter chain and while the health check fails, /drain_listeners.
 */
import http, { Agent } from "node:http";
import http2 from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import { request } from "../../../test-support/http.js";
import { closeServer, listen } from "../../../test-support/servers.js";
import { loadConfigString } from "../../config/load.js";
import type { Bootstrap } from "../../config/model.js";
import { defaultFactories } from "../../server/factories.js";
import { silentLogger } from "../../server/log.js";
import { ProxyServer } from "../../server/server.js";

/** A backend that names itself in `x-backend`; `/slow` answers after `slowMs`. */
async function backend(name: string, slowMs = 0): Promise<{ port: number; server: http.Server }> {
  const server = http.createServer((req, res) => {
    const answer = () => res.writeHead(200, { "x-backend": name }).end(name);
    if (req.url === "/slow") setTimeout(answer, slowMs);
    else answer();
  });
  return { port: await listen(server), server };
}

interface ListenerSpec {
  name: string;
  port: number;
  routes: { prefix: string; cluster: string }[];
}

/** A v3 config: listeners on 127.0.0.1 and static clusters of one backend each. */
function config(listeners: ListenerSpec[], clusters: Record<string, number>): Bootstrap {
  const doc = {
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: 0 } } },
    static_resources: {
      listeners: listeners.map((l) => ({
        name: l.name,
        address: { socket_address: { address: "127.0.0.1", port_value: l.port } },
        filter_chains: [
          {
            filters: [
              {
                name: "envoy.filters.network.http_connection_manager",
                typed_config: {
                  "@type":
                    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                  stat_prefix: "ingress",
                  route_config: {
                    virtual_hosts: [
                      {
                        name: "all",
                        domains: ["*"],
                        routes: l.routes.map((r) => ({
                          match: { prefix: r.prefix },
                          route: { cluster: r.cluster },
                        })),
                      },
                    ],
                  },
                  http_filters: [
                    {
                      name: "envoy.filters.http.router",
                      typed_config: {
                        "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
                      },
                    },
                  ],
                },
              },
            ],
          },
        ],
      })),
      clusters: Object.entries(clusters).map(([name, port]) => ({
        name,
        connect_timeout: "1s",
        type: "STATIC",
        load_assignment: {
          cluster_name: name,
          endpoints: [
            {
              lb_endpoints: [
                { endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } } },
              ],
            },
          ],
        },
      })),
    },
  };
  return loadConfigString(JSON.stringify(doc), "json");
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function started(bootstrap: Bootstrap): Promise<ProxyServer> {
  const server = new ProxyServer(bootstrap, {
    logger: silentLogger,
    ...defaultFactories(),
    serverInfo: {
      version: "echomesh-proxy/test",
      startTimeMs: Date.now(),
      commandLineOptions: {},
      node: { id: "", cluster: "" },
    },
  });
  await server.start();
  cleanup.push(() => server.stop());
  return server;
}

async function backends(...names: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const name of names) {
    const b = await backend(name);
    cleanup.push(() => closeServer(b.server));
    out[name] = b.port;
  }
  return out;
}

const portOf = (server: ProxyServer, listener: string) => server.listenerAddress(listener)?.port ?? 0;
const who = async (port: number, path = "/", agent?: Agent) =>
  String((await request(port, path, agent ? { agent } : {})).headers["x-backend"] ?? "none");
const statOf = (server: ProxyServer, name: string) => {
  const s = server.snapshot();
  return s.counters[name] ?? s.gauges[name];
};

describe("ProxyServer.applyConfig", () => {
  it("adds a cluster and a listener, removes others, keeps the unchanged ones, counts as Envoy", async () => {
    const b = await backends("one", "two");
    const first = config([{ name: "front", port: 0, routes: [{ prefix: "/", cluster: "a" }] }], {
      a: b.one as number,
      gone: b.one as number,
    });
    const server = await started(first);
    const front = portOf(server, "front");
    expect(await who(front)).toBe("one");
    const keptCluster = server.clusterManager.get("a");

    const second = config(
      [
        // Same name and port: kept socket (port 0 would mean a new one: give the bound port).
        {
          name: "front",
          port: front,
          routes: [
            { prefix: "/b", cluster: "b" },
            { prefix: "/", cluster: "a" },
          ],
        },
        { name: "extra", port: 0, routes: [{ prefix: "/", cluster: "b" }] },
      ],
      { a: b.one as number, b: b.two as number },
    );
    // The first config's listener was on port 0; the new one names the port it was bound to: the same address.
    const summary = await server.applyConfig(second, 1000);
    expect(summary.clusters).toEqual({ added: ["b"], modified: [], removed: ["gone"] });
    expect(summary.listeners).toEqual({
      added: ["extra"],
      modified: ["front"],
      removed: [],
      inPlace: ["front"],
    });
    expect(server.clusterManager.get("a")).toBe(keptCluster);
    expect(server.clusterManager.get("gone")).toBeUndefined();
    expect(await who(portOf(server, "front"), "/b")).toBe("two");
    expect(await who(portOf(server, "extra"))).toBe("two");
    expect(statOf(server, "cluster_manager.cluster_added")).toBe(3);
    expect(statOf(server, "cluster_manager.cluster_removed")).toBe(1);
    expect(statOf(server, "cluster_manager.active_clusters")).toBe(2);
    expect(statOf(server, "listener_manager.listener_added")).toBe(2);
    expect(statOf(server, "listener_manager.total_listeners_active")).toBe(2);
    expect(server.bootstrap).toBe(second);

    // Remove `extra`: it stops accepting.
    const extra = portOf(server, "extra");
    const third = config([{ name: "front", port: front, routes: [{ prefix: "/", cluster: "a" }] }], {
      a: b.one as number,
    });
    const s3 = await server.applyConfig(third, 1000);
    expect(s3.listeners.removed).toEqual(["extra"]);
    expect(statOf(server, "listener_manager.listener_removed")).toBe(1);
    await expect(request(extra, "/", { timeoutMs: 2000 })).rejects.toThrow();
    expect(await who(front, "/b")).toBe("one");
  });

  it("a request in flight finishes on the old config when its listener and cluster are removed", async () => {
    const slow = await backend("slow", 400);
    cleanup.push(() => closeServer(slow.server));
    const server = await started(
      config([{ name: "front", port: 0, routes: [{ prefix: "/", cluster: "s" }] }], { s: slow.port }),
    );
    const front = portOf(server, "front");
    const inFlight = request(front, "/slow");
    await new Promise((r) => setTimeout(r, 100));
    const fast = await backends("fast");
    await server.applyConfig(
      config([{ name: "other", port: 0, routes: [{ prefix: "/", cluster: "f" }] }], {
        f: fast.fast as number,
      }),
      2000,
    );
    const r = await inFlight;
    expect(r.status).toBe(200);
    expect(r.headers["x-backend"]).toBe("slow");
    expect(await who(portOf(server, "other"))).toBe("fast");
  });

  it("a changed listener on the same address keeps its socket: old connections get connection: close, new ones the new routes", async () => {
    const b = await backends("one", "two");
    const server = await started(
      config([{ name: "front", port: 0, routes: [{ prefix: "/", cluster: "a" }] }], {
        a: b.one as number,
        b: b.two as number,
      }),
    );
    const front = portOf(server, "front");
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanup.push(async () => agent.destroy());
    const before = await request(front, "/", { agent });
    expect(before.headers.connection).toBeUndefined();
    await server.applyConfig(
      config([{ name: "front", port: front, routes: [{ prefix: "/", cluster: "b" }] }], {
        a: b.one as number,
        b: b.two as number,
      }),
      2000,
    );
    expect(statOf(server, "listener_manager.listener_in_place_updated")).toBe(1);
    // The kept-alive connection belongs to the old chain: old route, and it is told to close.
    const onOld = await request(front, "/", { agent });
    expect(onOld.headers["x-backend"]).toBe("one");
    expect(onOld.headers.connection).toBe("close");
    expect(await who(front)).toBe("two");
  });

  it("an invalid reload (a bad access log format) throws and the old config keeps serving", async () => {
    const b = await backends("one");
    const first = config([{ name: "front", port: 0, routes: [{ prefix: "/", cluster: "a" }] }], {
      a: b.one as number,
    });
    const server = await started(first);
    const bad = structuredClone(first);
    (bad.listeners[0] as { hcm: { accessLogs: unknown[] } }).hcm.accessLogs = [
      { path: "/dev/null", format: "%NOT_A_FIELD%", filter: null } as unknown,
    ];
    await expect(server.applyConfig(bad, 1000)).rejects.toThrow(/access_log/);
    expect(server.bootstrap).toBe(first);
    expect(await who(portOf(server, "front"))).toBe("one");
  });
});

describe("lifecycle", () => {
  it("/healthcheck/fail makes HTTP/1.1 responses close their connection; /healthcheck/ok stops it", async () => {
    const b = await backends("one");
    const server = await started(
      config([{ name: "front", port: 0, routes: [{ prefix: "/", cluster: "a" }] }], { a: b.one as number }),
    );
    const front = portOf(server, "front");
    const admin = server.admin?.address()?.port ?? 0;
    expect((await request(admin, "/healthcheck/fail", { method: "POST" })).status).toBe(200);
    expect((await request(admin, "/ready")).status).toBe(503);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanup.push(async () => agent.destroy());
    const failed = await request(front, "/", { agent });
    expect(failed.status).toBe(200);
    expect(failed.headers.connection).toBe("close");
    await request(admin, "/healthcheck/ok", { method: "POST" });
    expect((await request(front, "/", { agent })).headers.connection).toBeUndefined();
  });

  it("/healthcheck/fail sends open HTTP/2 connections a GOAWAY", async () => {
    const b = await backends("one");
    const server = await started(
      config([{ name: "front", port: 0, routes: [{ prefix: "/", cluster: "a" }] }], { a: b.one as number }),
    );
    const session = http2.connect(`http://127.0.0.1:${portOf(server, "front")}`);
    cleanup.push(async () => void session.destroy());
    const get = () =>
      new Promise<string>((resolve, reject) => {
        const stream = session.request({ ":path": "/" });
        let backendName = "";
        stream.on("response", (h) => {
          backendName = String(h["x-backend"]);
        });
        stream.on("error", reject);
        stream.resume();
        stream.on("end", () => resolve(backendName));
      });
    expect(await get()).toBe("one");
    const goaway = new Promise<void>((resolve) => session.once("goaway", () => resolve()));
    await request(server.admin?.address()?.port ?? 0, "/healthcheck/fail", { method: "POST" });
    await goaway;
  });

  it("POST /drain_listeners stops accepting, open connections carry on; the process and admin keep running", async () => {
    const b = await backends("one");
    const server = await started(
      config([{ name: "front", port: 0, routes: [{ prefix: "/", cluster: "a" }] }], { a: b.one as number }),
    );
    const front = portOf(server, "front");
    const admin = server.admin?.address()?.port ?? 0;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanup.push(async () => agent.destroy());
    expect(await who(front, "/", agent)).toBe("one");
    expect((await request(admin, "/drain_listeners")).status).toBe(405);
    expect((await request(admin, "/drain_listeners", { method: "POST" })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 100));
    await expect(request(front, "/", { timeoutMs: 2000 })).rejects.toThrow();
    const open = await request(front, "/", { agent });
    expect(open.headers["x-backend"]).toBe("one");
    expect(open.headers.connection).toBeUndefined();
    expect((await request(admin, "/ready")).status).toBe(200);
    expect(statOf(server, "listener_manager.listener_stopped")).toBe(1);
  });
});
