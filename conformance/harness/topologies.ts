/**
 * The topologies, as data, built from the seed's Envoy files (../../proxy/test/fixtures/seeds).
 * Each variant names the edits it makes to the seed; nothing else differs.
 */
import { cloneCluster, cluster, loadSeed, routes, setHosts, setRoutes } from "./envoy-doc.js";
import type { EchoNode, EnvoyDoc, ProxyNode, Topology } from "./types.js";

/** The echo's port (zcong/echo's 8080, as the seed's part-1 compose file exposes). */
export const ECHO_PORT = 8080;
/**
 * Echo bodies up to 64 MiB, so the 50 MB body test measures the proxy, not the echo's 10 MiB default;
 * no per-request access log (it would only cost CPU).
 */
const ECHO_ENV = { MAX_BODY_SIZE: "64MiB", MAX_WS_MESSAGE_SIZE: "16MiB", ACCESS_LOG: "off" };

const echo = (name: string, aliases: string[] = [name], deferred = false): EchoNode => ({
  name,
  aliases,
  env: ECHO_ENV,
  deferred,
});

/** Echo instances answering to their own names. */
const echos = (...names: string[]): EchoNode[] => names.map((name) => echo(name));

/** Cluster hosts: each name on `port`. */
const hosts = (port: number, ...names: string[]) => names.map((address) => ({ address, port }));

/**
 * Part 1 of the post: the front proxy with round_robin over service1/service2 by strict_dns, `/ws`
 * with use_websocket. The post does not show part 1's Envoy file; it says it has proxy-envoy.yaml's
 * shape with HTTP/1.1 to the echo services (zcong/echo speaks HTTP/1.1 on 8080). So: the seed's
 * front file, hosts on the echo port, no http2_protocol_options.
 */
function frontDoc(services: string[]): EnvoyDoc {
  const doc = loadSeed("proxy-envoy.yaml");
  const c = cluster(doc, "myservice");
  delete c.http2_protocol_options;
  setHosts(c, hosts(ECHO_PORT, ...services));
  return doc;
}

function front(id: string, description: string, doc: EnvoyDoc, echos: EchoNode[]): Topology {
  return {
    id,
    description,
    echos,
    proxies: [{ name: "front", serviceCluster: "front-proxy", config: doc, aliases: ["front-envoy"] }],
    entry: "front",
  };
}

const frontProxy = front(
  "front",
  "seed part 1: front proxy, round_robin over service1/service2 (strict_dns), /ws websocket route",
  frontDoc(["service1", "service2"]),
  echos("service1", "service2"),
);

const front3 = front(
  "front-3",
  "front proxy with a third strict_dns host service3",
  frontDoc(["service1", "service2", "service3"]),
  echos("service1", "service2", "service3"),
);

/** Variant: `/` routes by weighted_clusters 70/30 to one-host clusters service1 and service2. */
function weightedDoc(): EnvoyDoc {
  const doc = frontDoc(["service1"]);
  cloneCluster(doc, "myservice", "service1", hosts(ECHO_PORT, "service1"));
  cloneCluster(doc, "myservice", "service2", hosts(ECHO_PORT, "service2"));
  const slash = routes(doc).find((r) => (r.match as { prefix?: string }).prefix === "/");
  if (!slash) throw new Error("seed has no / route");
  slash.route = {
    weighted_clusters: {
      clusters: [
        { name: "service1", weight: 70 },
        { name: "service2", weight: 30 },
      ],
      total_weight: 100,
    },
  };
  return doc;
}

const weighted = front(
  "weighted",
  "front proxy, / by weighted_clusters service1 70 / service2 30",
  weightedDoc(),
  echos("service1", "service2"),
);

/**
 * Variant: one strict_dns host name `echo` that several echo instances answer to (Docker's DNS returns
 * every container with the alias), re-resolved every second (dns_refresh_rate: 1s).
 */
function dnsDoc(): EnvoyDoc {
  const doc = frontDoc(["echo"]);
  cluster(doc, "myservice").dns_refresh_rate = "1s";
  return doc;
}

const dnsJoin = front(
  "dns-join",
  "front proxy, one DNS name `echo` with two instances; a third joins at runtime (dns_refresh_rate 1s)",
  dnsDoc(),
  [echo("echo-a", ["echo"]), echo("echo-b", ["echo"]), echo("echo-c", ["echo"], true)],
);

const dnsLeave = front(
  "dns-leave",
  "front proxy, one DNS name `echo` with three instances; one stops at runtime (dns_refresh_rate 1s)",
  dnsDoc(),
  [echo("echo-a", ["echo"]), echo("echo-b", ["echo"]), echo("echo-c", ["echo"])],
);

/** Variant: the seed's front file with its cluster's http2_protocol_options, straight to the echos. */
function h2UpstreamDoc(): EnvoyDoc {
  const doc = loadSeed("proxy-envoy.yaml");
  setHosts(cluster(doc, "myservice"), hosts(ECHO_PORT, "service1", "service2"));
  return doc;
}

const h2Upstream = front(
  "h2-upstream",
  "front proxy with the seed's http2_protocol_options cluster, one h2c hop to the echos",
  h2UpstreamDoc(),
  echos("service1", "service2"),
);

/**
 * The seed's sidecar file is a copy of the front's: its cluster points at service1/service2:80, the
 * sidecars themselves, which loops (front -> sidecar1 -> sidecar2 -> ...), and asks for HTTP/2 to the
 * echo, which the post's zcong/echo does not speak. The post's text says each sidecar hands traffic
 * over HTTP/1.1 to the echo in its own container. This is the ONLY change made: the cluster's hosts
 * become that echo (127.0.0.1:8080, same network namespace, as in the post's Dockerfile-service) and
 * its http2_protocol_options go. Layout: each sidecar runs in its echo's network namespace (Docker
 * `--network container:<echo>`, like a Kubernetes pod), which keeps the seed's 127.0.0.1 addressing and
 * the service names on the sidecar's listener without a shell or supervisor in the scratch image.
 */
function sidecarDoc(): EnvoyDoc {
  const doc = loadSeed("service-envoy.yaml");
  const c = cluster(doc, "myservice");
  delete c.http2_protocol_options;
  setHosts(c, hosts(ECHO_PORT, "127.0.0.1"));
  return doc;
}

/** The sidecar of `service`, in its echo's network namespace. */
const sidecar = (name: string, service: string): ProxyNode => ({
  name,
  serviceCluster: service,
  config: sidecarDoc(),
  aliases: [],
  sidecarOf: service,
});

const mesh: Topology = {
  id: "mesh",
  description: "seed part 2: front -> h2c -> sidecar per service -> HTTP/1.1 -> its echo",
  echos: echos("service1", "service2"),
  proxies: [
    // The seed's front file exactly as written (hosts service1/service2:80 = the sidecars, h2c).
    {
      name: "front",
      serviceCluster: "front-proxy",
      config: loadSeed("proxy-envoy.yaml"),
      aliases: ["front-envoy"],
    },
    sidecar("sidecar1", "service1"),
    sidecar("sidecar2", "service2"),
  ],
  entry: "front",
};

/** Port nothing listens on: the `down` cluster's hosts refuse every connection. */
export const CLOSED_PORT = 9;

/**
 * Variant for local replies: `/slow` with a 1 s route timeout, `/down` to a cluster whose every host
 * refuses connections, `/app` to the echos, and no catch-all, so other paths match no route.
 */
function localRepliesDoc(): EnvoyDoc {
  const doc = frontDoc(["service1", "service2"]);
  cloneCluster(doc, "myservice", "down", hosts(CLOSED_PORT, "service1", "service2"));
  setRoutes(doc, [
    { match: { prefix: "/slow" }, route: { cluster: "myservice", timeout: "1s" } },
    { match: { prefix: "/down" }, route: { cluster: "down" } },
    { match: { prefix: "/app" }, route: { cluster: "myservice" } },
  ]);
  return doc;
}

const localReplies = front(
  "local-replies",
  "front proxy with /slow (1 s timeout), /down (every host refuses) and /app; nothing else routes",
  localRepliesDoc(),
  echos("service1", "service2"),
);

/** Retries on what a first attempt can meet: a 5xx, a reset, a refused connection (Envoy's names). */
export const RETRY_ON = "5xx,reset,connect-failure";
/** Endpoint `load_balancing_weight`s of the `routes` topology's `lbw` cluster. */
export const ENDPOINT_WEIGHTS = { service1: 3, service2: 1 } as const;
/** The `routes` topology's `host_rewrite` value. */
export const REWRITTEN_HOST = "rewritten.example.test";

/**
 * Variant for what routes and clusters do beyond picking a backend: `/hello` with `host_rewrite`
 * (v3 `host_rewrite_literal`), `/echo` to the one-host cluster `solo` (service1) with a retry_policy,
 * `/lbw` to the cluster `lbw` whose endpoints carry load_balancing_weight 3 and 1, `/` as the seed.
 */
function routesDoc(): EnvoyDoc {
  const doc = frontDoc(["service1", "service2"]);
  cloneCluster(doc, "myservice", "solo", hosts(ECHO_PORT, "service1"));
  const lbw = cloneCluster(doc, "myservice", "lbw", []);
  delete lbw.hosts;
  lbw.load_assignment = {
    cluster_name: "lbw",
    endpoints: [
      {
        lb_endpoints: Object.entries(ENDPOINT_WEIGHTS).map(([address, weight]) => ({
          endpoint: { address: { socket_address: { address, port_value: ECHO_PORT } } },
          load_balancing_weight: weight,
        })),
      },
    ],
  };
  setRoutes(doc, [
    { match: { prefix: "/hello" }, route: { cluster: "myservice", host_rewrite: REWRITTEN_HOST } },
    {
      match: { prefix: "/echo" },
      route: { cluster: "solo", retry_policy: { retry_on: RETRY_ON, num_retries: 2 } },
    },
    { match: { prefix: "/lbw" }, route: { cluster: "lbw" } },
    { match: { prefix: "/" }, route: { cluster: "myservice" } },
  ]);
  return doc;
}

const routesTopology = front(
  "routes",
  "front proxy with /hello (host_rewrite), /echo (retry_policy, one host), /lbw (endpoint weights 3:1), /",
  routesDoc(),
  echos("service1", "service2"),
);

// ---- health-check topologies ----
const healthCheckTopologies: Topology[] = [];
// ---- end health-check topologies ----

// ---- outlier topologies ----
const outlierTopologies: Topology[] = [];
// ---- end outlier topologies ----

// ---- circuit-breaker and retry topologies ----
const breakerRetryTopologies: Topology[] = [];
// ---- end circuit-breaker and retry topologies ----

// ---- reload topologies ----
const reloadTopologies: Topology[] = [];
// ---- end reload topologies ----

export const topologies: ReadonlyMap<string, Topology> = new Map(
  [
    frontProxy,
    front3,
    weighted,
    dnsJoin,
    dnsLeave,
    h2Upstream,
    mesh,
    localReplies,
    routesTopology,
    ...healthCheckTopologies,
    ...outlierTopologies,
    ...breakerRetryTopologies,
    ...reloadTopologies,
  ].map((t) => [t.id, t]),
);

/**
 * Path the driver polls through the entry proxy until an echo answers it consistently (the echo
 * answers 404 for paths it has no route for, still as itself: `x-echo-instance`).
 */
export function probePath(topology: Topology): string {
  return topology.id === "local-replies" ? "/app" : "/";
}

export function topology(id: string): Topology {
  const t = topologies.get(id);
  if (!t) throw new Error(`unknown topology ${id}`);
  return t;
}
