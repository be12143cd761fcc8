/**
 * The shapes every part builds its topologies from: the seed's proxy (one listener, `/ws` and `/`
 * round robin to one cluster) and the seed's mesh (a front proxy speaking h2c to one sidecar per
 * service, each sidecar speaking HTTP/1.1 to its own echo). `npm start`, the conformance suite and
 * the benchmarks all build their meshes here, and only here; they differ only in addresses.
 */
import type { Address, ClusterSpec, HostSpec, ListenerSpec, ProxySpec, RouteSpec } from "./model.js";

/** The seed's names and numbers (the blog's proxy-envoy.yaml and service-envoy.yaml). */
export const SEED = {
  /** Every proxy listens on port 80 and has its admin on 8001, on 0.0.0.0. */
  listen: { host: "0.0.0.0", port: 80 },
  admin: { host: "0.0.0.0", port: 8001 },
  adminAccessLog: "/dev/null",
  cluster: "myservice",
  connectTimeoutMs: 250,
  statPrefix: "ingress_http",
  routeConfigName: "local_route",
  virtualHostName: "backend",
  /** zcong/echo's port. */
  echoPort: 8080,
  /** The mesh's services: each is an echo with a sidecar, reached by the front as `<name>:80`. */
  services: ["service1", "service2"],
} as const;

export interface SeedProxyOptions {
  /** Default: the seed's 0.0.0.0:80. */
  listen?: Address;
  /** Default: the seed's 0.0.0.0:8001; null for none. */
  admin?: Address | null;
  /** Downstream codec (default `auto`: HTTP/1.1 and h2c). */
  codec?: ListenerSpec["codec"];
  hosts: HostSpec[];
  /** Default `strict_dns`, as the seed. */
  discovery?: ClusterSpec["discovery"];
  dnsRefreshMs?: number;
  /** What the proxy speaks upstream (the seed's cluster has `http2_protocol_options`: h2c). */
  protocol: ClusterSpec["protocol"];
  /** Routes in place of the seed's `/ws` and `/` (default: those two, to the seed's cluster). */
  routes?: RouteSpec[];
  /** More clusters beside the seed's (for `routes` that name them). */
  extraClusters?: ClusterSpec[];
}

/** The seed's `/ws` (WebSocket) and `/` routes, both to `cluster`. */
export function seedRoutes(cluster: string = SEED.cluster): RouteSpec[] {
  return [
    { prefix: "/ws", to: cluster, websocket: true },
    { prefix: "/", to: cluster },
  ];
}

/** A cluster shaped as the seed's (round robin, 0.25 s connect timeout). */
export function seedCluster(
  name: string,
  hosts: HostSpec[],
  protocol: ClusterSpec["protocol"],
  discovery: ClusterSpec["discovery"] = "strict_dns",
  dnsRefreshMs?: number,
): ClusterSpec {
  return {
    name,
    discovery,
    ...(dnsRefreshMs === undefined ? {} : { dnsRefreshMs }),
    lb: "round_robin",
    protocol,
    connectTimeoutMs: SEED.connectTimeoutMs,
    hosts,
  };
}

/** The seed's proxy file as a spec: listener, admin, `/ws` + `/` to one round-robin cluster. */
export function seedProxy(o: SeedProxyOptions): ProxySpec {
  const admin = o.admin === undefined ? SEED.admin : o.admin;
  return {
    listener: {
      address: o.listen ?? SEED.listen,
      codec: o.codec ?? "auto",
      statPrefix: SEED.statPrefix,
      routeConfigName: SEED.routeConfigName,
      virtualHostName: SEED.virtualHostName,
    },
    admin: admin === null ? null : { ...admin, accessLogPath: SEED.adminAccessLog },
    routes: o.routes ?? seedRoutes(),
    clusters: [
      seedCluster(SEED.cluster, o.hosts, o.protocol, o.discovery ?? "strict_dns", o.dnsRefreshMs),
      ...(o.extraClusters ?? []),
    ],
  };
}

export interface MeshOptions {
  /** The front proxy's listener and admin (defaults: the seed's). */
  front?: { listen?: Address; admin?: Address | null };
  /** One per service, in order. */
  sidecars: Array<{
    /** Where the sidecar listens (default: the seed's 0.0.0.0:80) and its admin (default 0.0.0.0:8001). */
    listen?: Address;
    admin?: Address | null;
    /** How the front reaches this sidecar (the seed: `service1:80`). */
    reachAs: Address;
    /** Its own echo (the seed's layout: 127.0.0.1:8080, same network namespace). */
    echo?: Address;
  }>;
  /** How the front finds the sidecars (the seed: strict_dns). */
  discovery?: ClusterSpec["discovery"];
}

/**
 * The seed's mesh: front (HTTP/1.1 and h2c in, h2c out to the sidecars) -> one sidecar per service
 * (h2c in, HTTP/1.1 out to its echo). The seed's sidecar file is a copy of the front's, whose cluster
 * loops back to the sidecars and asks the echo for HTTP/2; the one fix made (documented in
 * docs/ENVOY-DIFFERENCES.md and conformance/README.md): the sidecar's cluster is its own echo over
 * HTTP/1.1.
 */
export function seedMesh(o: MeshOptions): { front: ProxySpec; sidecars: ProxySpec[] } {
  const discovery = o.discovery ?? "strict_dns";
  return {
    front: seedProxy({
      ...(o.front?.listen ? { listen: o.front.listen } : {}),
      ...(o.front?.admin !== undefined ? { admin: o.front.admin } : {}),
      hosts: o.sidecars.map((s) => ({ ...s.reachAs })),
      discovery,
      protocol: "h2c",
    }),
    sidecars: o.sidecars.map((s) =>
      seedProxy({
        ...(s.listen ? { listen: s.listen } : {}),
        ...(s.admin !== undefined ? { admin: s.admin } : {}),
        hosts: [{ ...(s.echo ?? { host: "127.0.0.1", port: SEED.echoPort }) }],
        discovery,
        protocol: "http1",
      }),
    ),
  };
}
