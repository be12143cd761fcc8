/**
 * The topologies, as data: echo services and proxies whose configs are specs of the topology model
 * (lib/topology), built from the seed's shapes (`seedProxy`, `seedMesh`). What only Envoy can express
 * (health checks, outlier detection, circuit breakers, retry policies, LDS/CDS files) is a named edit
 * of the rendered Envoy document (`ProxyNode.envoy`); targets of other dialects render the spec
 * without it and do not claim those features, so their tests are skipped there.
 */
import { chmodSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestPki } from "../../lib/test_pki.js";
import { SEED, seedCluster, seedMesh, seedProxy } from "../../lib/topology/catalog.js";
import { envoyDoc } from "../../lib/topology/envoy.js";
import { cluster, hcms, setRoutes } from "../../lib/topology/envoy_doc.js";
import type {
  CertFiles,
  ClusterSpec,
  EnvoyDoc,
  HostSpec,
  ListenerSpec,
  ProxySpec,
  RouteSpec,
} from "../../lib/topology/model.js";
import type { DiscoveryDoc, EchoNode, ProxyNode, Topology } from "./types.js";
import { XDS_DIR } from "./xds_files.js";

/** The echo's port (zcong/echo's 8080, as the seed's part-1 compose file exposes). */
export const ECHO_PORT = SEED.echoPort;
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
const hosts = (port: number, ...names: string[]): HostSpec[] => names.map((host) => ({ host, port }));

/**
 * Part 1 of the post: the front proxy with round_robin over service1/service2 by strict_dns, `/ws`
 * with use_websocket. The post does not show part 1's Envoy file; it says it has proxy-envoy.yaml's
 * shape with HTTP/1.1 to the echo services (zcong/echo speaks HTTP/1.1 on 8080). So: the seed's
 * front, hosts on the echo port, HTTP/1.1.
 */
function frontSpec(services: string[], more: Partial<Parameters<typeof seedProxy>[0]> = {}): ProxySpec {
  return seedProxy({ hosts: hosts(ECHO_PORT, ...services), protocol: "http1", ...more });
}

/** The front proxy node; `envoy`: Envoy-only edits of its rendered document. */
const frontNode = (spec: ProxySpec, envoy?: ProxyNode["envoy"]): ProxyNode => ({
  name: "front",
  serviceCluster: "front-proxy",
  spec,
  ...(envoy === undefined ? {} : { envoy }),
  aliases: ["front-envoy"],
});

function front(
  id: string,
  description: string,
  spec: ProxySpec,
  echos: EchoNode[],
  envoy?: ProxyNode["envoy"],
): Topology {
  return { id, description, echos, proxies: [frontNode(spec, envoy)], entry: "front" };
}

/** A one-cluster-per-name copy of the seed's cluster shape, HTTP/1.1 to the echo port. */
const echoCluster = (name: string, port: number, ...services: string[]): ClusterSpec =>
  seedCluster(name, hosts(port, ...services), "http1");

const frontProxy = front(
  "front",
  "seed part 1: front proxy, round_robin over service1/service2 (strict_dns), /ws websocket route",
  frontSpec(["service1", "service2"]),
  echos("service1", "service2"),
);

const front3 = front(
  "front-3",
  "front proxy with a third strict_dns host service3",
  frontSpec(["service1", "service2", "service3"]),
  echos("service1", "service2", "service3"),
);

/** Variant: `/` routes by weighted_clusters 70/30 to one-host clusters service1 and service2. */
const weighted = front(
  "weighted",
  "front proxy, / by weighted_clusters service1 70 / service2 30",
  frontSpec(["service1"], {
    routes: [
      { prefix: "/ws", to: SEED.cluster, websocket: true },
      {
        prefix: "/",
        to: [
          { cluster: "service1", weight: 70 },
          { cluster: "service2", weight: 30 },
        ],
      },
    ],
    extraClusters: [
      echoCluster("service1", ECHO_PORT, "service1"),
      echoCluster("service2", ECHO_PORT, "service2"),
    ],
  }),
  echos("service1", "service2"),
);

/**
 * Variant: one strict_dns host name `echo` that several echo instances answer to (Docker's DNS returns
 * every container with the alias), re-resolved every second (dns_refresh_rate: 1s).
 */
const dnsSpec = () => frontSpec(["echo"], { dnsRefreshMs: 1_000 });

const dnsJoin = front(
  "dns-join",
  "front proxy, one DNS name `echo` with two instances; a third joins at runtime (dns_refresh_rate 1s)",
  dnsSpec(),
  [echo("echo-a", ["echo"]), echo("echo-b", ["echo"]), echo("echo-c", ["echo"], true)],
);

const dnsLeave = front(
  "dns-leave",
  "front proxy, one DNS name `echo` with three instances; one stops at runtime (dns_refresh_rate 1s)",
  dnsSpec(),
  [echo("echo-a", ["echo"]), echo("echo-b", ["echo"]), echo("echo-c", ["echo"])],
);

/** Variant: the seed's front with its cluster's http2_protocol_options, straight to the echos. */
const h2Upstream = front(
  "h2-upstream",
  "front proxy with the seed's http2_protocol_options cluster, one h2c hop to the echos",
  frontSpec(["service1", "service2"], { protocol: "h2c" }),
  echos("service1", "service2"),
);

/**
 * The seed's mesh (`seedMesh`): the front exactly as the seed's file (hosts service1/service2:80 =
 * the sidecars, h2c), each sidecar the seed's sidecar file with its one fix (its cluster is its own
 * echo, 127.0.0.1:8080 over HTTP/1.1). Layout: each sidecar runs in its echo's network namespace
 * (Docker `--network container:<echo>`, like a Kubernetes pod), which keeps the seed's 127.0.0.1
 * addressing and the service names on the sidecar's listener without a shell or supervisor in the
 * scratch image.
 */
const seedMeshSpecs = seedMesh({
  sidecars: SEED.services.map((name) => ({ reachAs: { host: name, port: SEED.listen.port } })),
});

const mesh: Topology = {
  id: "mesh",
  description: "seed part 2: front -> h2c -> sidecar per service -> HTTP/1.1 -> its echo",
  echos: echos(...SEED.services),
  proxies: [
    frontNode(seedMeshSpecs.front),
    ...SEED.services.map(
      (service, i): ProxyNode => ({
        name: `sidecar${i + 1}`,
        serviceCluster: service,
        spec: seedMeshSpecs.sidecars[i] as ProxySpec,
        aliases: [],
        sidecarOf: service,
      }),
    ),
  ],
  entry: "front",
};

/** Port nothing listens on: the `down` cluster's hosts refuse every connection. */
export const CLOSED_PORT = 9;

/**
 * Variant for local replies: `/slow` with a 1 s route timeout, `/down` to a cluster whose every host
 * refuses connections, `/app` to the echos, and no catch-all, so other paths match no route.
 */
const localReplies = front(
  "local-replies",
  "front proxy with /slow (1 s timeout), /down (every host refuses) and /app; nothing else routes",
  frontSpec(["service1", "service2"], {
    routes: [
      { prefix: "/slow", to: SEED.cluster, timeoutMs: 1_000 },
      { prefix: "/down", to: "down" },
      { prefix: "/app", to: SEED.cluster },
    ],
    extraClusters: [echoCluster("down", CLOSED_PORT, "service1", "service2")],
  }),
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
 * (v3 `host_rewrite_literal`), `/echo` to the one-host cluster `solo` (service1) with a retry_policy
 * (Envoy only), `/lbw` to the cluster `lbw` whose endpoints carry load_balancing_weight 3 and 1, `/`
 * as the seed.
 */
const routesTopology = front(
  "routes",
  "front proxy with /hello (host_rewrite), /echo (retry_policy, one host), /lbw (endpoint weights 3:1), /",
  frontSpec(["service1", "service2"], {
    routes: [
      { prefix: "/hello", to: SEED.cluster, hostRewrite: REWRITTEN_HOST },
      { prefix: "/echo", to: "solo" },
      { prefix: "/lbw", to: "lbw" },
      { prefix: "/", to: SEED.cluster },
    ],
    extraClusters: [
      echoCluster("solo", ECHO_PORT, "service1"),
      seedCluster(
        "lbw",
        Object.entries(ENDPOINT_WEIGHTS).map(([host, weight]) => ({ host, port: ECHO_PORT, weight })),
        "http1",
      ),
    ],
  }),
  echos("service1", "service2"),
  {
    what: "a retry_policy on /echo",
    edit: (doc) => {
      const echoRoute = hcms(doc)
        .flatMap((h) => (h.route_config as { virtual_hosts: { routes: EnvoyDoc[] }[] }).virtual_hosts)
        .flatMap((vh) => vh.routes)
        .find((r) => (r.match as { prefix: string }).prefix === "/echo");
      if (echoRoute === undefined) throw new Error("routes topology: no /echo route");
      (echoRoute.route as EnvoyDoc).retry_policy = { retry_on: RETRY_ON, num_retries: 2 };
    },
  },
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

const healthCheckTopologies: Topology[] = [
  front(
    "health-check",
    "front proxy over service1..3 (strict_dns) with an HTTP health check of /_echo/health every 0.3 s",
    frontSpec(["service1", "service2", "service3"], { dnsRefreshMs: 1_000 }),
    echos("service1", "service2", "service3"),
    {
      what: "an HTTP health check of /_echo/health every 0.3 s",
      edit: (doc) => {
        const seconds = (ms: number) => `${ms / 1000}s`;
        const c = cluster(doc, SEED.cluster);
        // Envoy holds health-only membership updates for up to `update_merge_window` (default 1 s;
        // seen to hold one until the next DNS refresh at start-up); echomesh-proxy applies each at
        // once, which is Envoy with the window at 0. DNS refreshes every second all the same.
        c.common_lb_config = { update_merge_window: "0s" };
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
      },
    },
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
const outlierTopologies: Topology[] = [
  front(
    "outlier",
    "front proxy, round_robin over service1/service2 with outlier_detection (5 x 5xx or 3 x 502-504 eject for 2 s, at most 50%)",
    frontSpec(["service1", "service2"]),
    echos("service1", "service2"),
    {
      what: "outlier_detection on myservice",
      edit: (doc) => {
        cluster(doc, SEED.cluster).outlier_detection = {
          consecutive_5xx: OUTLIER.consecutive5xx,
          consecutive_gateway_failure: OUTLIER.consecutiveGatewayFailure,
          enforcing_consecutive_gateway_failure: 100,
          interval: `${OUTLIER.intervalMs / 1000}s`,
          base_ejection_time: `${OUTLIER.baseEjectionTimeMs / 1000}s`,
          max_ejection_percent: OUTLIER.maxEjectionPercent,
        };
      },
    },
  ),
];
// ---- end outlier topologies ----

// ---- circuit-breaker and retry topologies ----
/** The `breaker` topology's thresholds (one each per cluster; Envoy's defaults for the rest). */
export const BREAKER_LIMITS = { maxRequests: 2, maxPendingRequests: 1, maxRetries: 1 } as const;

/** The route action of the rendered route whose prefix is `prefix` (for Envoy-only route fields). */
function routeAction(doc: EnvoyDoc, prefix: string): EnvoyDoc {
  for (const hcm of hcms(doc))
    for (const vh of (hcm.route_config as { virtual_hosts: { routes: EnvoyDoc[] }[] }).virtual_hosts)
      for (const r of vh.routes)
        if ((r.match as { prefix: string }).prefix === prefix) return r.route as EnvoyDoc;
  throw new Error(`no route with prefix ${prefix}`);
}

/** A one-host cluster on service1 with a 1 s connect timeout (not the seed's 0.25 s: a connect timed out on a stalled loop would change the counts). */
const soloCluster = (name: string, protocol: ClusterSpec["protocol"] = "http1"): ClusterSpec => ({
  ...seedCluster(name, hosts(ECHO_PORT, "service1"), protocol),
  connectTimeoutMs: 1_000,
});

/**
 * Variant for circuit breakers, each cluster one host (service1, `connect_timeout: 1s`) with one
 * threshold lowered: `/cbrq` -> `cbrq` (`max_requests: 2`), `/cbrq2` -> `cbrq2` (the same over h2c),
 * `/cbpend` -> `cbpend` (`max_connections: 1`,
 * `max_pending_requests: 1`), `/cbretry` -> `cbretry` (`max_retries: 1`; the route retries 5xx 3
 * times). Each route rewrites its prefix to `/` (the echo's own route).
 */
const BREAKERS: Array<[prefix: string, cluster: string, thresholds: Record<string, number>, h2: boolean]> = [
  ["/cbrq2", "cbrq2", { max_requests: BREAKER_LIMITS.maxRequests }, true],
  ["/cbrq", "cbrq", { max_requests: BREAKER_LIMITS.maxRequests }, false],
  [
    "/cbpend",
    "cbpend",
    { max_connections: 1, max_pending_requests: BREAKER_LIMITS.maxPendingRequests },
    false,
  ],
  ["/cbretry", "cbretry", { max_retries: BREAKER_LIMITS.maxRetries }, false],
];

const breakerSpec = frontSpec(["service1", "service2"], {
  routes: [...BREAKERS.map(([prefix, to]): RouteSpec => ({ prefix, to })), { prefix: "/", to: SEED.cluster }],
  // Clusters in the order cbrq, cbrq2, cbpend, cbretry (routes: /cbrq2 must come before /cbrq).
  extraClusters: ["cbrq", "cbrq2", "cbpend", "cbretry"].map((name) =>
    soloCluster(name, name === "cbrq2" ? "h2c" : "http1"),
  ),
});

function breakerEdit(doc: EnvoyDoc): void {
  for (const [prefix, name, thresholds] of BREAKERS) {
    cluster(doc, name).circuit_breakers = { thresholds: [thresholds] };
    routeAction(doc, prefix).prefix_rewrite = "/";
  }
  routeAction(doc, "/cbretry").retry_policy = { retry_on: "5xx", num_retries: 3 };
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
const retriesSpec = frontSpec(["service1", "service2"], {
  routes: [
    ...RETRY_CONDITIONS.flatMap((c): RouteSpec[] => [
      { prefix: `/r/${c}/`, to: "solo" },
      { prefix: `/rdown/${c}/`, to: "down" },
    ]),
    { prefix: "/prev", to: "pair" },
    { prefix: "/", to: SEED.cluster },
  ],
  extraClusters: [
    soloCluster("solo"),
    echoCluster("down", CLOSED_PORT, "service1", "service2"),
    { ...echoCluster("pair", ECHO_PORT, "service1", "service2"), connectTimeoutMs: 1_000 },
  ],
});

function retriesEdit(doc: EnvoyDoc): void {
  cluster(doc, "pair").lb_policy = "random";
  const policy = (retryOn: string) => ({
    retry_on: retryOn,
    num_retries: RETRY_NUM,
    retriable_status_codes: [RETRIABLE_CODE],
    retriable_headers: [{ name: RETRIABLE_HEADER, present_match: true }],
  });
  for (const c of RETRY_CONDITIONS) {
    for (const prefix of [`/r/${c}/`, `/rdown/${c}/`]) {
      const action = routeAction(doc, prefix);
      action.prefix_rewrite = "/";
      action.retry_policy = policy(c);
    }
  }
  const prev = routeAction(doc, "/prev");
  prev.prefix_rewrite = "/";
  prev.retry_policy = {
    retry_on: "5xx",
    num_retries: 1,
    retry_host_predicate: [{ name: "envoy.retry_host_predicates.previous_hosts" }],
    host_selection_retry_max_attempts: HOST_SELECTION_ATTEMPTS,
  };
  for (const hcm of hcms(doc)) {
    for (const vh of (hcm.route_config as { virtual_hosts: Record<string, unknown>[] }).virtual_hosts) {
      vh.include_request_attempt_count = true;
      vh.include_attempt_count_in_response = true;
    }
  }
}

const breakerRetryTopologies: Topology[] = [
  front(
    "breaker",
    "front proxy with /cbrq (max_requests 2; /cbrq2 the same over h2c), /cbpend (max_connections 1, max_pending_requests 1), /cbretry (max_retries 1), each to service1",
    breakerSpec,
    echos("service1", "service2"),
    {
      what: "circuit_breakers on cbrq, cbrq2, cbpend, cbretry and a retry_policy on /cbretry",
      edit: breakerEdit,
    },
  ),
  front(
    "retries",
    "front proxy with /r/<retry_on>/ per condition (to service1) and /rdown/<retry_on>/ (refused), /prev (previous_hosts over service1/service2), attempt counts on",
    retriesSpec,
    echos("service1", "service2"),
    { what: "retry policies per retry_on condition, lb_policy random on pair", edit: retriesEdit },
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
  const seedListener = (
    envoyDoc(frontSpec(["service1", "service2"]), { workDir: "", profile: "default" }).static_resources as {
      listeners: EnvoyDoc[];
    }
  ).listeners[0];
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
  return {
    kind: "cluster",
    versionInfo,
    resources: Object.entries(clusters).map(([name, services]) => {
      const spec = frontSpec(services);
      const doc = envoyDoc(spec, { workDir: "", profile: "default" });
      return { ...cluster(doc, SEED.cluster), name, ...structuredClone(extra) };
    }),
  };
}

/** Before every reload test: `myservice` over service1 and service2. */
export const RELOAD_INITIAL = { myservice: ["service1", "service2"] };

/** The reload front's own file: no static listener or cluster, LDS and CDS from XDS_DIR. */
function reloadEdit(doc: EnvoyDoc): void {
  // Envoy requires a node id and cluster for LDS/CDS.
  doc.node = { id: "front", cluster: "front-proxy" };
  // Empty, so the drivers' rewrites of static listeners and clusters find nothing to do.
  doc.static_resources = { listeners: [], clusters: [] };
  doc.dynamic_resources = {
    lds_config: { path: `${XDS_DIR}/${RELOAD_FILES.lds}` },
    cds_config: { path: `${XDS_DIR}/${RELOAD_FILES.cds}` },
  };
}

const reloadTopologies: Topology[] = [
  front(
    "reload",
    "front proxy whose listener and clusters come from LDS/CDS files (dynamic_resources path), rewritten by the tests",
    frontSpec(["service1", "service2"]),
    echos("service1", "service2", "service3"),
    {
      what: "its listener and clusters from LDS/CDS files",
      edit: reloadEdit,
      files: {
        [RELOAD_FILES.lds]: reloadLds("1"),
        [RELOAD_FILES.cds]: reloadCds("1", RELOAD_INITIAL),
      },
    },
  ),
];
// ---- end reload topologies ----

// ---- tls topologies ----
/**
 * The configured port of the TLS listeners (beside each proxy's plain one, which the drivers probe);
 * tests reach one as `topo.listener(proxy, TLS_PORT)`. The process driver does not remap it: each node
 * listens on its own 127.B.x.y, so only a wildcard listener on this port elsewhere on the machine would
 * collide. The container driver publishes it on a free host port.
 */
export const TLS_PORT = 8443;
/** The names in the test certificates (DNS SANs). */
export const TLS_NAMES = {
  /** The front proxy: its server certificate, and its client certificate towards the sidecars. */
  front: "front.echomesh.test",
  /** Every sidecar's server certificate (the service identity the front verifies). */
  sidecar: "sidecar.echomesh.test",
  /** A SAN no certificate carries: the `wrong-san` cluster expects it. */
  elsewhere: "elsewhere.echomesh.test",
} as const;
/**
 * The test certificates of this process, made before the first TLS topology starts (never committed);
 * the TLS topologies' `hostFiles`: the container driver mounts it into their proxies at the same path.
 */
export const TLS_DIR = join(tmpdir(), `echomesh-conformance-tls-${process.pid}`);
const TEST_CA = "echomesh-test-CA";
const OTHER_CA = "other-CA";
const certIn = (dir: string, name: string): CertFiles => ({
  cert: join(dir, `${name}.crt`),
  key: join(dir, `${name}.key`),
});
/** The files the TLS topologies and tests use (paths; the files exist once `prepareTls()` ran). */
export const TLS_FILES = {
  ca: join(TLS_DIR, `${TEST_CA}.crt`),
  front: certIn(TLS_DIR, "front"),
  sidecar: certIn(TLS_DIR, "sidecar"),
  /** A certificate for the front's name, from another CA (a client the sidecars must refuse). */
  intruder: certIn(join(TLS_DIR, "other"), "intruder"),
} as const;

/** Whether process `pid` is still running. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes the certificate folders of processes that are gone (an exit hook does not run in every worker). */
function removeStaleTlsDirs(): void {
  for (const name of readdirSync(tmpdir())) {
    const pid = /^echomesh-conformance-tls-(\d+)$/.exec(name)?.[1];
    if (pid !== undefined && !alive(Number(pid)))
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

let tlsReady: Promise<void> | undefined;
/** Makes the test CA, the front's and the sidecars' certificates, and another CA's (once per process). */
export function prepareTls(): Promise<void> {
  tlsReady ??= (async () => {
    removeStaleTlsDirs();
    rmSync(TLS_DIR, { recursive: true, force: true });
    process.once("exit", () => rmSync(TLS_DIR, { recursive: true, force: true }));
    const pki = await createTestPki(TLS_DIR, TEST_CA);
    await pki.issue("front", { dns: [TLS_NAMES.front] });
    await pki.issue("sidecar", { dns: [TLS_NAMES.sidecar, ...SEED.services] });
    const other = await createTestPki(join(TLS_DIR, "other"), OTHER_CA);
    await other.issue("intruder", { dns: [TLS_NAMES.front] });
    readableByAll(TLS_DIR);
  })();
  return tlsReady;
}

/**
 * The container driver mounts TLS_DIR into proxy containers, which run as another user (10001) than
 * the one that wrote the keys (0600): throw-away test keys, so the folder and its files are made
 * readable by all (0755, 0644).
 */
function readableByAll(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true }))
    if (entry.isFile()) chmodSync(join(dir, entry.name), 0o644);
}

/** An HTTPS listener on TLS_PORT beside the plain one: same routes, its own stat prefix `ingress_https`. */
const httpsListener = (tls: NonNullable<ListenerSpec["tls"]>): ListenerSpec => ({
  address: { host: SEED.listen.host, port: TLS_PORT },
  codec: "auto",
  statPrefix: "ingress_https",
  routeConfigName: SEED.routeConfigName,
  virtualHostName: SEED.virtualHostName,
  tls,
});

/**
 * TLS at the front: the seed's front proxy (service1/service2, HTTP/1.1) with an HTTPS listener on
 * TLS_PORT presenting a certificate for front.echomesh.test and offering ALPN h2 and http/1.1.
 */
const tlsFront: Topology = {
  ...front(
    "tls-front",
    "the seed's front proxy plus an HTTPS listener (certificate for front.echomesh.test, ALPN h2,http/1.1)",
    {
      ...frontSpec(["service1", "service2"]),
      extraListeners: [httpsListener({ cert: TLS_FILES.front, alpn: ["h2", "http/1.1"] })],
    },
    echos("service1", "service2"),
  ),
  prepare: prepareTls,
  hostFiles: TLS_DIR,
};

/** The `tls-mesh` front's cluster to the sidecars' TLS listeners, expecting `san`. */
const sidecarsOverTls = (name: string, san: string): ClusterSpec => ({
  ...seedCluster(
    name,
    SEED.services.map((host) => ({ host, port: TLS_PORT })),
    "h2c",
  ),
  tls: { sni: TLS_NAMES.sidecar, ca: TLS_FILES.ca, sans: [san], clientCert: TLS_FILES.front },
});

/**
 * mTLS on the mesh's HTTP/2 hop: the seed's mesh, the front's cluster speaking HTTP/2 over TLS (ALPN
 * h2) to each sidecar's TLS listener, presenting front.echomesh.test and verifying
 * sidecar.echomesh.test; each sidecar requires a client certificate of the test CA carrying
 * front.echomesh.test. `/wrong-san` goes to a cluster that expects a SAN the sidecars do not have.
 */
const tlsMeshSpecs = seedMesh({
  sidecars: SEED.services.map((name) => ({ reachAs: { host: name, port: SEED.listen.port } })),
});
const tlsMesh: Topology = {
  id: "tls-mesh",
  description:
    "the seed's mesh with mutual TLS on the h2 hop: front -> h2 over TLS (client cert front.echomesh.test) -> sidecar TLS listener (requires it) -> HTTP/1.1 -> echo",
  echos: echos(...SEED.services),
  proxies: [
    frontNode({
      ...tlsMeshSpecs.front,
      routes: [{ prefix: "/wrong-san", to: "wrong-san" }, ...tlsMeshSpecs.front.routes],
      clusters: [
        sidecarsOverTls(SEED.cluster, TLS_NAMES.sidecar),
        sidecarsOverTls("wrong-san", TLS_NAMES.elsewhere),
      ],
    }),
    ...SEED.services.map(
      (service, i): ProxyNode => ({
        name: `sidecar${i + 1}`,
        serviceCluster: service,
        spec: {
          ...(tlsMeshSpecs.sidecars[i] as ProxySpec),
          extraListeners: [
            httpsListener({
              cert: TLS_FILES.sidecar,
              alpn: ["h2", "http/1.1"],
              clientCa: TLS_FILES.ca,
              requireClientCert: true,
              clientSans: [TLS_NAMES.front],
            }),
          ],
        },
        aliases: [],
        sidecarOf: service,
      }),
    ),
  ],
  entry: "front",
  prepare: prepareTls,
  hostFiles: TLS_DIR,
};
// ---- end tls topologies ----

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
    tlsFront,
    tlsMesh,
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
