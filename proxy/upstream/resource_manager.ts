/**
 * A cluster's circuit breakers (Envoy's `ResourceManagerImpl`, DEFAULT priority): four counted
 * resources shared by the pools of all its hosts. Each has its `circuit_breakers.default.*_open`
 * gauge, 1 while the resource is at its limit. The pools (and the router, for retries) ask
 * `canCreate()` before taking one and count the overflow stat themselves. With `track_remaining`,
 * each also keeps its `remaining_*` gauge at the limit minus the count.
 *
 * With `--concurrency N` each worker process has its own (Envoy shares them across its workers).
 */
import type { CircuitBreakerThresholds } from "../config/model.js";
import type { Gauge } from "../stats/store.js";
import type { ClusterStats, RemainingStats } from "./cluster_stats.js";

export class Resource {
  private count = 0;

  constructor(
    readonly max: number,
    /** 1 while `count >= max` (updated as Envoy does, when the count moves); null without stats. */
    private readonly open: Gauge | null,
    /** `remaining_*`: `max - count`; null without `track_remaining`. */
    private readonly remaining: Gauge | null = null,
  ) {
    remaining?.set(max);
  }

  get current(): number {
    return this.count;
  }

  canCreate(): boolean {
    return this.count < this.max;
  }

  inc(): void {
    this.count++;
    this.update();
  }

  dec(): void {
    this.count--;
    this.update();
  }

  private update(): void {
    this.open?.set(this.count >= this.max ? 1 : 0);
    this.remaining?.set(Math.max(0, this.max - this.count));
  }
}

export class ResourceManager {
  /** `max_connections`: upstream connections of the cluster (connecting or open). */
  readonly connections: Resource;
  /** `max_pending_requests`: requests waiting for a connection. */
  readonly pendingRequests: Resource;
  /** `max_requests`: requests on a connection. */
  readonly requests: Resource;
  /** `max_retries`: retries scheduled or in flight. */
  readonly retries: Resource;

  constructor(
    t: CircuitBreakerThresholds,
    stats: ClusterStats | null,
    /** The DEFAULT priority's `remaining_*` gauges, when its thresholds set `track_remaining`. */
    remaining: RemainingStats | null = null,
  ) {
    this.connections = new Resource(
      t.maxConnections,
      stats?.["circuit_breakers.default.cx_open"] ?? null,
      remaining?.remaining_cx ?? null,
    );
    this.pendingRequests = new Resource(
      t.maxPendingRequests,
      stats?.["circuit_breakers.default.rq_pending_open"] ?? null,
      remaining?.remaining_pending ?? null,
    );
    this.requests = new Resource(
      t.maxRequests,
      stats?.["circuit_breakers.default.rq_open"] ?? null,
      remaining?.remaining_rq ?? null,
    );
    this.retries = new Resource(
      t.maxRetries,
      stats?.["circuit_breakers.default.rq_retry_open"] ?? null,
      remaining?.remaining_retries ?? null,
    );
  }
}
