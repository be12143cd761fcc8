/**
 * The conformance suite's vocabulary: topologies (what runs), targets (which proxy implementation),
 * drivers (how it runs: containers or loopback processes) and tests (what is asserted).
 */
import { EchomeshError } from "../../lib/errors.js";

/** A proxy config as a parsed Envoy YAML document (v2 seed dialect; targets may translate it). */
export type EnvoyDoc = Record<string, unknown>;

/** One echo service instance. */
export interface EchoNode {
  /** Unique node name; also the echo's `INSTANCE`, so `x-echo-instance` names it. */
  name: string;
  /** DNS names it answers to on the topology's network (several nodes may share one: strict_dns). */
  aliases: string[];
  /** Extra echo env (e.g. a larger body limit). */
  env?: Record<string, string>;
  /** Not started with the topology; a test starts it (a backend joining a DNS name). */
  deferred?: boolean;
}

/** One proxy instance. */
export interface ProxyNode {
  name: string;
  /** `--service-cluster` as in the seed's command line. */
  serviceCluster: string;
  /** The config in the seed's v2 dialect (targets that need v3 translate it). */
  config: EnvoyDoc;
  /** DNS names it answers to (the mesh's sidecars are `service1`/`service2`). */
  aliases: string[];
  /**
   * Run inside this echo node's network namespace (a sidecar next to its service, as the seed's
   * `Dockerfile-service` ran echo and Envoy in one container): the config reaches the echo at 127.0.0.1.
   */
  sidecarOf?: string;
  /**
   * File-based LDS/CDS: DiscoveryResponse files placed in the proxy's XDS_DIR (./xds_files.ts) before
   * it starts, by file name; the config's `dynamic_resources` names them there.
   */
  files?: Record<string, DiscoveryDoc>;
}

/** A DiscoveryResponse file in the seed's v2 dialect (targets translate it, as they do configs). */
export interface DiscoveryDoc {
  kind: "listener" | "cluster";
  versionInfo: string;
  /** v2 listeners or clusters, without `@type`. */
  resources: EnvoyDoc[];
}

export interface Topology {
  id: string;
  description: string;
  echos: EchoNode[];
  proxies: ProxyNode[];
  /** The proxy that clients talk to. */
  entry: string;
}

/** Where a test reaches a started thing from the test process. */
export interface Endpoint {
  host: string;
  port: number;
}

/** A topology that a driver has started. */
export interface RunningTopology {
  topology: Topology;
  /** The listener of a proxy (default: the entry proxy). */
  listener(proxy?: string): Endpoint;
  admin(proxy?: string): Endpoint;
  /** An echo's own HTTP port (for metrics), bypassing proxies. */
  echo(name: string): Endpoint;
  startEcho(name: string): Promise<void>;
  stopEcho(name: string): Promise<void>;
  /** The echos running now (deferred ones once started, minus stopped ones). */
  runningEchos(): string[];
  /**
   * Replace one of a proxy's LDS/CDS files as Envoy expects it (written next to it, then renamed
   * over it: the move is what the proxy reacts to). Rendered for the target like the config.
   */
  writeProxyFile(name: string, doc: DiscoveryDoc, proxy?: string): Promise<void>;
  stop(): Promise<void>;
}

export interface DriverCapabilities {
  /** Backends can join and leave a DNS name at runtime (Docker's DNS follows containers). */
  dynamicDns: boolean;
}

export interface Driver {
  name: "containers" | "processes";
  /** Why this driver was chosen (printed and written to the report). */
  reason: string;
  capabilities: DriverCapabilities;
  start(topology: Topology, target: Target): Promise<RunningTopology>;
  /** Remove everything this run created (and, for containers, stale runs). */
  close(): Promise<void>;
}

/** How the proxy under test is run: a small adapter so users can add their own. */
export interface Target {
  name: string;
  /** What runs (for Envoy: the version and where the binary or image came from, once `unavailable()` ran). */
  description: string;
  /** Config dialect the implementation reads. */
  dialect: "v2" | "v3";
  /**
   * Container image, or null when the target only runs as a process. A target that builds its image
   * (Envoy from the local binary) sets it in `unavailable("containers")`.
   */
  image: string | null;
  /**
   * How the process driver tells the proxy where names live. Every DNS cluster is pointed at the
   * driver's DNS server (`dns_resolvers`), whose records follow echos starting and stopping; besides,
   * `flag` (default) passes the names as `--dns-map` (fixed at start); `inline` writes the loopback
   * addresses into the config in place of the names, one cluster host per address, for a proxy that
   * reads neither (a strict_dns host that is an IP literal resolves to itself; names fixed at start).
   */
  names?: "flag" | "inline";
  /** Where the config file goes inside the container. */
  configPath: string;
  /** Container command (the image's entrypoint gets it). */
  containerCommand(configPath: string, serviceCluster: string): string[];
  /**
   * Process command on loopback ([program, ...args]); null if the target has no process form.
   * `dnsMap` maps names to loopback addresses (`--dns-map`).
   */
  processCommand:
    | ((configPath: string, serviceCluster: string, dnsMap: Map<string, string[]>) => string[])
    | null;
  /** Last-moment config mutation (broken proxies use it to break things on purpose). */
  transform?: (doc: EnvoyDoc) => EnvoyDoc;
  /** Filter applied to the process driver's DNS answers (broken proxies). */
  transformDns?: (dnsMap: Map<string, string[]>) => Map<string, string[]>;
  /** Why this target cannot run here, or null when it can (checked once per run). */
  unavailable(driver: Driver["name"]): Promise<string | null>;
  /** Versions for the report and the printed summary (e.g. `{ envoy: "1.40.0" }`), after `unavailable()`. */
  versions?(): Record<string, string>;
}

/**
 * `envoy-headers` asserts headers Envoy adds (x-forwarded-proto, x-request-id,
 * x-envoy-expected-rq-timeout-ms), not RFC behaviour: a proxy that is not Envoy-compatible need not claim it.
 */
export type Feature =
  | "round-robin"
  | "lb-weights"
  | "http2-hop"
  | "headers"
  | "envoy-headers"
  | "framing"
  | "websocket"
  | "local-replies"
  | "health-check"
  | "outlier"
  | "circuit-breaker"
  | "retry"
  | "reload";

/** Numbers a check measured, written to the report (per-backend counts and the like). */
export type Measurements = Record<string, unknown>;

export interface CheckContext {
  topo: RunningTopology;
  driver: Driver;
  /** Record a number for the report. */
  measure(key: string, value: unknown): void;
  /** Skip this test with a reason (reported, never silent). */
  skip(reason: string): never;
}

/** A conformance test, declared as data (Gateway API style). */
export interface ConformanceTest {
  id: string;
  description: string;
  feature: Feature;
  /** Topology id (tests sharing a topology share one start). */
  topology: string;
  /** Needs these driver capabilities; otherwise skipped with the reason. */
  requires?: (keyof DriverCapabilities)[];
  /** Generous per-test timeout (ms). */
  timeoutMs?: number;
  check(ctx: CheckContext): Promise<void>;
}

export type Outcome = "passed" | "failed" | "skipped";

export interface TestResult {
  id: string;
  feature: Feature;
  topology: string;
  outcome: Outcome;
  /** Failure message or skip reason. */
  reason?: string;
  durationMs: number;
  measurements: Measurements;
}

/** Thrown by `ctx.skip(reason)`: the runner reports the test as skipped with the reason. */
export class SkipError extends EchomeshError {
  readonly code = "ECHOMESH_CONFORMANCE_SKIP";
}
