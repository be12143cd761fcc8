import type { Counter, Gauge } from "../stats/store.js";

/** Per-host counters shown by the admin `/clusters` endpoint (Envoy's `cx_total`, `rq_total`, ...). */
export interface HostStats {
  cxTotal: number;
  cxActive: number;
  rqTotal: number;
  rqActive: number;
  rqError: number;
  rqSuccess: number;
}

/** One upstream endpoint (an IP:port). Owned by a Cluster; load balancers only read it. */
export class Host {
  readonly stats: HostStats = { cxTotal: 0, cxActive: 0, rqTotal: 0, rqActive: 0, rqError: 0, rqSuccess: 0 };
  /** Set when DNS stopped returning this address: no new requests; pools close once idle. */
  draining = false;
  /** Health as the admin reports it; without health checking every host is healthy. */
  healthy = true;

  constructor(
    /** IP literal to connect to. */
    readonly address: string,
    readonly port: number,
    readonly weight: number,
    /** DNS name (or endpoint hostname) for auto_host_rewrite and the admin; the address otherwise. */
    readonly hostname: string,
  ) {}

  /** `address:port`, IPv6 in brackets: the key for pools and the `%UPSTREAM_HOST%` log field. */
  get key(): string {
    return this.address.includes(":") ? `[${this.address}]:${this.port}` : `${this.address}:${this.port}`;
  }
}

/** Cluster-level stats resolved once; see proxy/stats/store.ts. */
export interface ClusterStats {
  upstream_rq_total: Counter;
  upstream_rq_active: Gauge;
  upstream_rq_completed: Counter;
  upstream_rq_timeout: Counter;
  upstream_rq_retry: Counter;
  upstream_rq_pending_total: Counter;
  upstream_rq_rx_reset: Counter;
  upstream_rq_tx_reset: Counter;
  upstream_cx_total: Counter;
  upstream_cx_active: Gauge;
  upstream_cx_http1_total: Counter;
  upstream_cx_http2_total: Counter;
  upstream_cx_connect_fail: Counter;
  upstream_cx_connect_timeout: Counter;
  upstream_cx_destroy: Counter;
  membership_total: Gauge;
  membership_healthy: Gauge;
  update_attempt: Counter;
  update_success: Counter;
  update_failure: Counter;
  /** `upstream_rq_200`, `upstream_rq_2xx`...: counted through this, which caches the Counter per code. */
  countResponse(status: number): void;
}
