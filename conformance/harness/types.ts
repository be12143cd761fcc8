/**
 * The conformance suite's vocabulary: topologies (what runs), targets (which proxy implementation),
 * drivers (how it runs: containers or loopback processes) and tests (what is asserted).
 */
import { EchomeshError } from "../../lib/errors.js";
import type { Dialect, DiscoveryDoc, EnvoyDoc, Topology } from "../../lib/topology/model.js";

export type {
  DiscoveryDoc,
  EchoNode,
  EnvoyDoc,
  ProxyNode,
  Topology,
} from "../../lib/topology/model.js";

/** Where a test reaches a started thing from the test process. */
export interface Endpoint {
  host: string;
  port: number;
}

/** A topology that a driver has started. */
export interface RunningTopology {
  topology: Topology;
  /** The target it runs (checks that measure Envoy's admin look at `target.dialect`). */
  target: Target;
  /**
   * Where the test reaches a proxy's listener (default: the entry proxy's main one); `port` names
   * another of its listeners by its configured port (a TLS listener on TLS_PORT).
   */
  listener(proxy?: string, port?: number): Endpoint;
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
  /**
   * Config dialect the implementation reads; `external` for a proxy the suite did not start and does
   * not configure (`--target-url`).
   */
  dialect: Dialect | "external";
  /** What it claims (tests of other features are skipped with "not supported by <name>"). */
  features: readonly Feature[];
  /**
   * Real defects of the peer found by the suite, by test id, each with its evidence: the test still
   * runs and fails, and the report and matrix show it as a known finding (not a suite failure).
   */
  knownDefects?: Readonly<Record<string, string>>;
  /** Extra environment of the process form (e.g. Caddy keeps state under HOME); `workDir` is the run's scratch folder. */
  processEnv?: (workDir: string) => Record<string, string>;
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
  /** The drivers it runs with (default: both); a run uses the process driver for a process-only target. */
  drivers?: readonly Driver["name"][];
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
 * What a target can claim, as Gateway API implementations declare supported features. A test of a
 * feature the target does not claim is skipped with "not supported by TARGET"; a claimed feature
 * that fails is a failure. Each feature's meaning, in words, is `FEATURES` (./features.ts).
 */
export type Feature =
  | "round-robin"
  | "weighted"
  | "lb-weights"
  | "dns-membership"
  | "h2-upstream"
  | "h2-downstream"
  | "mesh"
  | "headers"
  | "envoy-headers"
  | "framing"
  | "websocket"
  | "websocket-over-h2"
  | "local-replies"
  | "health-check"
  | "outlier"
  | "circuit-breaker"
  | "retries"
  | "reload"
  | "tls";

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
  /** What passing means, in words (the criterion the check asserts), for the report. */
  criterion?: string;
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
  description: string;
  /** What passing means, in words. */
  criterion?: string;
  outcome: Outcome;
  /** Failure message or skip reason. */
  reason?: string;
  /**
   * The target declares this test's failure a real defect of the peer (`Target.knownDefects`), with
   * this evidence: a failure is reported as a finding, not as a suite failure.
   */
  knownDefect?: string;
  durationMs: number;
  measurements: Measurements;
}

/** Thrown by `ctx.skip(reason)`: the runner reports the test as skipped with the reason. */
export class SkipError extends EchomeshError {
  readonly code = "ECHOMESH_CONFORMANCE_SKIP";
}
