/**
 * The topologies, as data, built from the seed's Envoy files (../../proxy/test/fixtures/seeds).
 * Each variant names the edits it makes to the seed; nothing else differs.
 */
import { cloneCluster, cluster, hcms, loadSeed, routes, setHosts, setRoutes } from "./envoy-doc.js";
import type { DiscoveryDoc, EchoNode, EnvoyDoc, ProxyNode, Topology } from "./types.js";
import { XDS_DIR } from "./xds_files.js";

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
/**
 * The `health-check` topology's `health_checks`: short intervals so a test sees a host leave and
 * come back in about a second; `no_traffic_interval` as short, so the checks do not slow down
 * before the first request (Envoy's default is 60 s). The panic threshold stays Envoy's 50%.
 */
export const HEALTH_CHECK = {
  path: "/_echo/health",
  intervalMs: 300,
  timeoutMs: 1_000,
  unhealthyThreshold: 2,
  healthyThreshold: 2,
} as const;

function healthCheckDoc(): EnvoyDoc {
  const doc = frontDoc(["service1", "service2", "service3"]);
  const seconds = (ms: number) => `${ms / 1000}s`;
  const c = cluster(doc, "myservice");
  // Envoy holds health-only membership updates for up to `update_merge_window` (default 1 s; seen
  // to hold one until the next DNS refresh at start-up); echomesh-proxy applies each at once, which
  // is Envoy with the window at 0. DNS refreshes every second all the same.
  c.common_lb_config = { update_merge_window: "0s" };
  c.dns_refresh_rate = "1s";
  c.health_checks = [
    {
      timeout: seconds(HEALTH_CHECK.timeoutMs),
      interval: seconds(HEALTH_CHECK.intervalMs),
      no_traffic_interval: seconds(HEALTH_CHECK.intervalMs),
      unhealthy_threshold: HEALTH_CHECK.unhealthyThreshold,
      healthy_threshold: HEALTH_CHECK.healthyThreshold,
      http_health_check: { path: HEALTH_CHECK.path },
    },
  ];
  return doc;
}

const healthCheckTopologies: Topology[] = [
  front(
    "health-check",
    "front proxy over service1..3 (strict_dns) with an HTTP health check of /_echo/health every 0.3 s",
    healthCheckDoc(),
    echos("service1", "service2", "service3"),
  ),
];
// ---- end health-check topologies ----

// ---- outlier topologies ----
/** The `outlier` topology's `outlier_detection`: short times, so a test sees an ejection end. */
export const OUTLIER = {
  consecutive5xx: 5,
  consecutiveGatewayFailure: 3,
  intervalMs: 200,
  baseEjectionTimeMs: 2_000,
  maxEjectionPercent: 50,
} as const;

/**
 * Variant for outlier detection: the front proxy's cluster (service1, service2) with
 * `outlier_detection`: 5 consecutive 5xx or 3 consecutive gateway failures (enforced) eject a host
 * for 2 s, swept every 200 ms, at most 50% of the hosts (one of the two).
 */
function outlierDoc(): EnvoyDoc {
  const doc = frontDoc(["service1", "service2"]);
  cluster(doc, "myservice").outlier_detection = {
    consecutive_5xx: OUTLIER.consecutive5xx,
    consecutive_gateway_failure: OUTLIER.consecutiveGatewayFailure,
    enforcing_consecutive_gateway_failure: 100,
    interval: `${OUTLIER.intervalMs / 1000}s`,
    base_ejection_time: `${OUTLIER.baseEjectionTimeMs / 1000}s`,
    max_ejection_percent: OUTLIER.maxEjectionPercent,
  };
  return doc;
}

const outlierTopologies: Topology[] = [
  front(
    "outlier",
    "front proxy, round_robin over service1/service2 with outlier_detection (5 x 5xx or 3 x 502-504 eject for 2 s, at most 50%)",
    outlierDoc(),
    echos("service1", "service2"),
  ),
];
// ---- end outlier topologies ----

// ---- circuit-breaker and retry topologies ----
/** The `breaker` topology's thresholds (one each per cluster; Envoy's defaults for the rest). */
export const BREAKER_LIMITS = { maxRequests: 2, maxPendingRequests: 1, maxRetries: 1 } as const;

/**
 * Variant for circuit breakers, each cluster one host (service1, `connect_timeout: 1s`) with one
 * threshold lowered: `/cbrq` -> `cbrq` (`max_requests: 2`), `/cbrq2` -> `cbrq2` (the same over h2c),
 * `/cbpend` -> `cbpend` (`max_connections: 1`,
 * `max_pending_requests: 1`), `/cbretry` -> `cbretry` (`max_retries: 1`; the route retries 5xx 3
 * times). Each route rewrites its prefix to `/` (the echo's own route).
 */
function breakerDoc(): EnvoyDoc {
  const doc = frontDoc(["service1", "service2"]);
  const only = (name: string, thresholds: Record<string, number>, h2 = false) => {
    const c = cloneCluster(doc, "myservice", name, hosts(ECHO_PORT, "service1"));
    if (h2) c.http2_protocol_options = {};
    c.circuit_breakers = { thresholds: [thresholds] };
    // Not the seed's 0.25 s: a connect timed out on a stalled loop would change the counts.
    c.connect_timeout = "1s";
  };
  only("cbrq", { max_requests: BREAKER_LIMITS.maxRequests });
  only("cbrq2", { max_requests: BREAKER_LIMITS.maxRequests }, true);
  only("cbpend", { max_connections: 1, max_pending_requests: BREAKER_LIMITS.maxPendingRequests });
  only("cbretry", { max_retries: BREAKER_LIMITS.maxRetries });
  setRoutes(doc, [
    { match: { prefix: "/cbrq2" }, route: { cluster: "cbrq2", prefix_rewrite: "/" } },
    { match: { prefix: "/cbrq" }, route: { cluster: "cbrq", prefix_rewrite: "/" } },
    { match: { prefix: "/cbpend" }, route: { cluster: "cbpend", prefix_rewrite: "/" } },
    {
      match: { prefix: "/cbretry" },
      route: { cluster: "cbretry", prefix_rewrite: "/", retry_policy: { retry_on: "5xx", num_retries: 3 } },
    },
    { match: { prefix: "/" }, route: { cluster: "myservice" } },
  ]);
  return doc;
}

/** The `retries` topology's `retry_on` conditions: route `/r/<condition>/` (and `/rdown/<condition>/`). */
export const RETRY_CONDITIONS = [
  "5xx",
  "gateway-error",
  "reset",
  "reset-before-request",
  "connect-failure",
  "retriable-4xx",
  "retriable-status-codes",
  "retriable-headers",
  "envoy-ratelimited",
] as const;
/** `num_retries` of the `retries` topology's condition routes. */
export const RETRY_NUM = 2;
/** Its `retriable_status_codes`. */
export const RETRIABLE_CODE = 418;
/** Its `retriable_headers`: a response carrying this header (any value) is retriable. */
export const RETRIABLE_HEADER = "x-retry-me";
/** `host_selection_retry_max_attempts` of `/prev`: a retry lands on the tried host with p = 2^-20. */
export const HOST_SELECTION_ATTEMPTS = 20;

/**
 * Variant for retries. Per condition of RETRY_CONDITIONS, `/r/<condition>/` -> `solo` (service1) and
 * `/rdown/<condition>/` -> `down` (every host refuses connections), each with `retry_on:
 * <condition>`, `num_retries: 2`, `retriable_status_codes: [418]`, `retriable_headers: [x-retry-me
 * present]`; `/prev` -> `pair` (service1, service2, lb_policy random) retrying 5xx once with the
 * previous_hosts predicate. The virtual host sets include_request_attempt_count and
 * include_attempt_count_in_response. Routes rewrite their prefix to `/` (the echo's own route).
 */
function retriesDoc(): EnvoyDoc {
  const doc = frontDoc(["service1", "service2"]);
  // Not the seed's 0.25 s connect_timeout: a connect timed out on a stalled loop would be retried.
  cloneCluster(doc, "myservice", "solo", hosts(ECHO_PORT, "service1")).connect_timeout = "1s";
  cloneCluster(doc, "myservice", "down", hosts(CLOSED_PORT, "service1", "service2"));
  const pair = cloneCluster(doc, "myservice", "pair", hosts(ECHO_PORT, "service1", "service2"));
  pair.lb_policy = "random";
  pair.connect_timeout = "1s";
  const policy = (retryOn: string) => ({
    retry_on: retryOn,
    num_retries: RETRY_NUM,
    retriable_status_codes: [RETRIABLE_CODE],
    retriable_headers: [{ name: RETRIABLE_HEADER, present_match: true }],
  });
  setRoutes(doc, [
    ...RETRY_CONDITIONS.flatMap((c) => [
      {
        match: { prefix: `/r/${c}/` },
        route: { cluster: "solo", prefix_rewrite: "/", retry_policy: policy(c) },
      },
      {
        match: { prefix: `/rdown/${c}/` },
        route: { cluster: "down", prefix_rewrite: "/", retry_policy: policy(c) },
      },
    ]),
    {
      match: { prefix: "/prev" },
      route: {
        cluster: "pair",
        prefix_rewrite: "/",
        retry_policy: {
          retry_on: "5xx",
          num_retries: 1,
          retry_host_predicate: [{ name: "envoy.retry_host_predicates.previous_hosts" }],
          host_selection_retry_max_attempts: HOST_SELECTION_ATTEMPTS,
        },
      },
    },
    { match: { prefix: "/" }, route: { cluster: "myservice" } },
  ]);
  for (const hcm of hcms(doc)) {
    for (const vh of (hcm.route_config as { virtual_hosts: Record<string, unknown>[] }).virtual_hosts) {
      vh.include_request_attempt_count = true;
      vh.include_attempt_count_in_response = true;
    }
  }
  return doc;
}

const breakerRetryTopologies: Topology[] = [
  front(
    "breaker",
    "front proxy with /cbrq (max_requests 2; /cbrq2 the same over h2c), /cbpend (max_connections 1, max_pending_requests 1), /cbretry (max_retries 1), each to service1",
    breakerDoc(),
    echos("service1", "service2"),
  ),
  front(
    "retries",
    "front proxy with /r/<retry_on>/ per condition (to service1) and /rdown/<retry_on>/ (refused), /prev (previous_hosts over service1/service2), attempt counts on",
    retriesDoc(),
    echos("service1", "service2"),
  ),
];
// ---- end circuit-breaker and retry topologies ----

// ---- reload topologies ----
/** The `reload` topology's LDS and CDS files (in the proxy's XDS_DIR). */
export const RELOAD_FILES = { lds: "lds.yaml", cds: "cds.yaml" } as const;

/**
 * The seed's front listener as an LDS resource, named (an update with the same name and address is
 * the same listener), `/` to `myservice`; `routes` go before it.
 */
function reloadListener(routes: EnvoyDoc[]): EnvoyDoc {
  const seedListener = (loadSeed("proxy-envoy.yaml").static_resources as { listeners: EnvoyDoc[] })
    .listeners[0];
  const listener = { name: "front", ...structuredClone(seedListener) } as EnvoyDoc;
  setRoutes({ static_resources: { listeners: [listener], clusters: [] } }, [
    ...routes,
    { match: { prefix: "/" }, route: { cluster: "myservice" } },
  ]);
  return listener;
}

/** The LDS file: the front listener, `extraRoutes` ahead of `/`. */
export function reloadLds(versionInfo: string, extraRoutes: EnvoyDoc[] = []): DiscoveryDoc {
  return { kind: "listener", versionInfo, resources: [reloadListener(extraRoutes)] };
}

/**
 * The CDS file: one strict_dns cluster per entry (the seed's `myservice` shape, HTTP/1.1 to the
 * echo port), `extra` fields merged in (a broken `connect_timeout`, for instance).
 */
export function reloadCds(
  versionInfo: string,
  clusters: Record<string, string[]>,
  extra: EnvoyDoc = {},
): DiscoveryDoc {
  const base = cluster(frontDoc(["service1"]), "myservice");
  return {
    kind: "cluster",
    versionInfo,
    resources: Object.entries(clusters).map(([name, services]) => {
      const c = { ...structuredClone(base), name, ...structuredClone(extra) };
      return setHosts(c, hosts(ECHO_PORT, ...services));
    }),
  };
}

/** Before every reload test: `myservice` over service1 and service2. */
export const RELOAD_INITIAL = { myservice: ["service1", "service2"] };

function reloadDoc(): EnvoyDoc {
  const seed = loadSeed("proxy-envoy.yaml");
  return {
    // Envoy requires a node id and cluster for LDS/CDS.
    node: { id: "front", cluster: "front-proxy" },
    // Empty, so the drivers' rewrites of static listeners and clusters find nothing to do.
    static_resources: { listeners: [], clusters: [] },
    dynamic_resources: {
      lds_config: { path: `${XDS_DIR}/${RELOAD_FILES.lds}` },
      cds_config: { path: `${XDS_DIR}/${RELOAD_FILES.cds}` },
    },
    admin: seed.admin,
  };
}

const reloadTopologies: Topology[] = [
  {
    id: "reload",
    description:
      "front proxy whose listener and clusters come from LDS/CDS files (dynamic_resources path), rewritten by the tests",
    echos: echos("service1", "service2", "service3"),
    proxies: [
      {
        name: "front",
        serviceCluster: "front-proxy",
        config: reloadDoc(),
        aliases: ["front-envoy"],
        files: {
          [RELOAD_FILES.lds]: reloadLds("1"),
          [RELOAD_FILES.cds]: reloadCds("1", RELOAD_INITIAL),
        },
      },
    ],
    entry: "front",
  },
];
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
