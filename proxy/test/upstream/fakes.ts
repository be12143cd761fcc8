import { afterEach, beforeEach, vi } from "vitest";
import type {
  ConnPool,
  TunnelResult,
  UpstreamRequest,
  UpstreamRequestHandle,
  UpstreamResponseHandler,
} from "../../api/upstream.js";
import type { ClusterConfig } from "../../config/model.js";
import { StatsStore } from "../../stats/store.js";
import { createClusterManager, type Resolver } from "../../upstream/cluster_manager.js";
import type { ClusterStats, Host } from "../../upstream/host.js";

/** A pool that only records what the cluster did to it; `finishDrain()` completes a drain. */
export class FakePool implements ConnPool {
  readonly protocol = "http1" as const;
  draining = false;
  destroyed = false;
  private release: (() => void) | null = null;

  constructor(
    readonly host: Host,
    readonly cluster: ClusterConfig,
    readonly stats: ClusterStats,
  ) {}

  request(_req: UpstreamRequest, _handler: UpstreamResponseHandler): UpstreamRequestHandle {
    throw new Error("not used");
  }
  tunnel(_req: UpstreamRequest, _upgradeType: string): Promise<TunnelResult> {
    return Promise.reject(new Error("not used"));
  }
  drain(): Promise<void> {
    this.draining = true;
    return new Promise((resolve) => {
      this.release = resolve;
    });
  }
  finishDrain(): void {
    this.release?.();
  }
  destroy(): void {
    this.destroyed = true;
  }
}

export function poolFactory(): {
  pools: FakePool[];
  createPool: (h: Host, c: ClusterConfig, s: ClusterStats) => FakePool;
} {
  const pools: FakePool[] = [];
  return {
    pools,
    createPool: (h, c, s) => {
      const p = new FakePool(h, c, s);
      pools.push(p);
      return p;
    },
  };
}

/** A resolver whose answers the test sets per name; an Error answer makes the lookup fail. */
export class FakeDns {
  /** An Error fails the lookup; a Promise answers when it settles. */
  readonly answers = new Map<string, string[] | Error | Promise<string[]>>();
  readonly calls: { name: string; family: string }[] = [];
  readonly resolver: Resolver = async (name, family) => {
    this.calls.push({ name, family });
    const a = this.answers.get(name);
    if (a === undefined) throw new Error(`no answer configured for ${name}`);
    if (a instanceof Error) throw a;
    return Array.isArray(a) ? [...a] : a;
  };
}

/** A cluster named `service` with the loader's defaults (Envoy's), then `overrides`. */
export function clusterConfig(overrides: Partial<ClusterConfig> = {}): ClusterConfig {
  return {
    name: "service",
    type: "static",
    lbPolicy: "round_robin",
    connectTimeoutMs: 5000,
    protocol: "http1",
    http2MaxConcurrentStreams: 2147483647,
    http2InitialStreamWindowSize: 16 * 1024 * 1024,
    http2InitialConnectionWindowSize: 24 * 1024 * 1024,
    endpoints: [],
    dnsRefreshRateMs: 5000,
    dnsLookupFamily: "auto",
    respectDnsTtl: false,
    dnsResolvers: [],
    leastRequestChoiceCount: 2,
    upstreamIdleTimeoutMs: 4000,
    maxRequestsPerConnection: 0,
    ...overrides,
  };
}

export function endpoint(address: string, port = 80, weight = 1): ClusterConfig["endpoints"][number] {
  return { address: { address, port }, weight, hostname: null };
}

/** `n` picks as `address` strings (`null` when the cluster had no host). */
export function picks(cluster: { chooseHost(): Host | null }, n: number): (string | null)[] {
  const out: (string | null)[] = [];
  for (let i = 0; i < n; i++) out.push(cluster.chooseHost()?.address ?? null);
  return out;
}

export function tally(seq: readonly (string | null)[]): Record<string, number> {
  const m: Record<string, number> = {};
  for (const x of seq) m[String(x)] = (m[String(x)] ?? 0) + 1;
  return m;
}

/**
 * A cluster manager holding one DNS cluster named `service` (defaults of `clusterConfig`, then
 * `config`), resolved by a FakeDns, with FakePools; `counter`/`gauge` read its stats by short name.
 */
export function dnsClusterSetup(config: Partial<ClusterConfig>) {
  const stats = new StatsStore();
  const dns = new FakeDns();
  const { pools, createPool } = poolFactory();
  const cm = createClusterManager([clusterConfig(config)], {
    stats,
    createPool,
    resolver: dns.resolver,
    random: () => 0,
  });
  const cluster = cm.get("service")!;
  const counter = (name: string) => stats.snapshot().counters[`cluster.service.${name}`];
  const gauge = (name: string) => stats.snapshot().gauges[`cluster.service.${name}`];
  return { cm, cluster, dns, pools, counter, gauge };
}

/** Fake timers in each test of the calling `describe` (DNS refreshes are timers); real ones after. */
export function useFakeTimers(): void {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });
}
