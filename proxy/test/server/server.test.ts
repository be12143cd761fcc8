import { createServer, type Server, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { request } from "../../../test-support/http.js";
import { closeServer, listen } from "../../../test-support/servers.js";
import type { ConnPool } from "../../api/upstream.js";
import { loadConfigString } from "../../config/load.js";
import { merge } from "../../server/config_source.js";
import { mappedResolver } from "../../server/dns_map.js";
import { silentLogger } from "../../server/log.js";
import { type ListenerFactory, type ProxyListener, ProxyServer } from "../../server/server.js";

/** A TCP listener that counts connections; drain() waits for clients to hang up. */
function fakeListenerFactory(events: string[]): ListenerFactory {
  return (config) => {
    let server: Server | null = null;
    const sockets = new Set<Socket>();
    const listener: ProxyListener = {
      name: config.name,
      listen: () =>
        new Promise((resolve, reject) => {
          server = createServer((s) => {
            sockets.add(s);
            s.on("close", () => sockets.delete(s));
            s.on("error", () => {});
          });
          server.once("error", reject);
          server.listen({ host: config.address.address, port: config.address.port }, () => {
            events.push(`listen ${config.name}`);
            resolve(server?.address() as import("node:net").AddressInfo);
          });
        }),
      drain: () =>
        new Promise((resolve) => {
          events.push(`drain ${config.name}`);
          if (server === null) return resolve();
          server.close(() => resolve());
        }),
      close: async () => {
        events.push(`close ${config.name}`);
        for (const s of sockets) s.destroy();
        server?.close();
      },
    };
    return listener;
  };
}

const fakePool = (): ConnPool => {
  throw new Error("no pools in this test");
};

const CONFIG = `
admin:
  access_log_path: /dev/null
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:
  - name: front
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.http_connection_manager
        config:
          stat_prefix: ingress_http
          route_config:
            virtual_hosts:
            - name: backend
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: myservice }
          http_filters:
          - name: envoy.router
  clusters:
  - name: myservice
    connect_timeout: 0.25s
    type: strict_dns
    lb_policy: round_robin
    hosts:
    - socket_address: { address: service1, port_value: 80 }
    - socket_address: { address: service2, port_value: 80 }
`;

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const r = await request(port, path);
  return { status: r.status, body: r.text };
}

describe("ProxyServer", () => {
  it("resolves clusters through the DNS map, binds, serves admin, drains and stops", async () => {
    const events: string[] = [];
    const resolver = mappedResolver(
      new Map([
        ["service1", ["127.0.0.2"]],
        ["service2", ["127.0.0.3"]],
      ]),
      async () => {
        throw new Error("unexpected lookup");
      },
    );
    const server = new ProxyServer(loadConfigString(CONFIG), {
      logger: silentLogger,
      createListener: fakeListenerFactory(events),
      createPool: fakePool,
      resolver,
      serverInfo: {
        version: "echomesh-proxy/test",
        startTimeMs: Date.now(),
        commandLineOptions: {},
        node: { id: "", cluster: "front-proxy" },
      },
    });
    expect(server.state()).toBe("INITIALIZING");
    await server.start();
    expect(server.state()).toBe("LIVE");
    const adminPort = server.admin?.address()?.port ?? 0;
    expect((await get(adminPort, "/ready")).body).toBe("LIVE\n");
    const clusters = (await get(adminPort, "/clusters")).body;
    expect(clusters).toContain("myservice::127.0.0.2:80::hostname::service1");
    expect(clusters).toContain("myservice::127.0.0.3:80::health_flags::healthy");
    const listeners = (await get(adminPort, "/listeners")).body;
    expect(listeners).toMatch(/^front::127\.0\.0\.1:\d+\n$/);
    expect(listeners).not.toContain(":0\n");
    expect((await get(adminPort, "/stats?filter=^server\\.live")).body).toBe("server.live: 1\n");

    await server.drain(1000);
    expect(server.state()).toBe("DRAINING");
    expect(events).toEqual(["listen front", "drain front", "close front"]);
    await server.stop();
    expect(events.filter((e) => e.startsWith("close"))).toHaveLength(1);
  });

  it("cleans up when a listener cannot bind", async () => {
    const blocker = createServer();
    const port = await listen(blocker);
    const events: string[] = [];
    const server = new ProxyServer(
      loadConfigString(
        CONFIG.replace("port_value: 0 } }\n    filter", `port_value: ${port} } }\n    filter`),
      ),
      {
        logger: silentLogger,
        createListener: fakeListenerFactory(events),
        createPool: fakePool,
        resolver: async () => ["127.0.0.9"],
        serverInfo: null,
      },
    );
    await expect(server.start()).rejects.toMatchObject({ code: "EADDRINUSE" });
    expect(events).toEqual(["close front"]);
    await closeServer(blocker);
  });
});

describe("--config-yaml merged over --config-path", () => {
  it("merges mappings, appends lists, replaces scalars (protobuf MergeFrom)", () => {
    expect(merge({ a: { b: 1, c: [1] }, d: "x" }, { a: { c: [2], e: true }, d: "y" })).toEqual({
      a: { b: 1, c: [1, 2], e: true },
      d: "y",
    });
  });
});
