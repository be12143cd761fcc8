/**
 * Active health checking (Envoy's `HealthCheckerImplBase` with its HTTP and TCP checkers): one
 * checker per cluster with `health_checks`, one session per host, each on its own timers.
 *
 * As Envoy 1.40 does it (measured against it, see docs/ENVOY-DIFFERENCES.md for what differs):
 * - A host joins with FAILED_ACTIVE_HC set; its first check decides at once (one pass makes it
 *   healthy); later an unhealthy host needs `healthy_threshold` passes in a row. Cluster
 *   initialization waits for the first check of every host (`firstRound()`).
 * - A response with a status outside `expected_statuses` fails the host at once; a status in
 *   `retriable_statuses`, a timeout or a connection failure (`network_failure`) counts towards
 *   `unhealthy_threshold`.
 * - The next check is due `interval` after a pass, `unhealthy_interval` after a failure, the edge
 *   intervals while a transition is pending, `no_traffic_interval` (`no_traffic_healthy_interval`
 *   for a healthy host) while the cluster never opened a connection; plus jitter. The first check
 *   waits a random part of `initial_jitter`.
 * - HTTP: `GET <path>` over HTTP/1.1 (h2c with `codec_client_type: HTTP2`) with `host: <cluster
 *   name or host>` and `user-agent: Envoy/HC`, the connection kept between checks
 *   (`reuse_connection`) unless the response closes it; a timeout closes it. These connections are
 *   not the cluster's (no `upstream_cx_*` stats).
 * - TCP: a connect within `timeout` passes (no payloads).
 */
import net from "node:net";
import { H1Client, type H1Exchange, type H1Handler } from "../../lib/http1/client_connection.js";
import type { RawHeaders } from "../../lib/http1/types.js";
import { Http2Connection } from "../../lib/http2/connection.js";
import type { Fields, Http2Stream } from "../../lib/http2/stream.js";
import type { HealthCheckConfig } from "../config/model.js";
import type { RandomSource } from "../load_balancer/index.js";
import type { UpstreamTls } from "../tls/client.js";
import type { HealthCheckStats } from "./cluster_stats.js";
import { HealthFlag, type Host } from "./host.js";

export interface HealthCheckerDeps {
  /** The cluster's name: the default `host` header. */
  clusterName: string;
  /** The cluster's `connect_timeout` (a check's connect is also bounded by its `timeout`). */
  connectTimeoutMs: number;
  stats: HealthCheckStats;
  random: RandomSource;
  /** True once the cluster has opened a connection (Envoy: `upstream_cx_total` was used). */
  hadTraffic: () => boolean;
  /** A host's health changed: rebuild the balancer. */
  onHostChange: (host: Host) => void;
  /** A check completed with the host healthy (the outlier detector may un-eject it). */
  onHealthyCheck?: (host: Host) => void;
  /** The cluster's TLS transport socket (checks go over TLS as the cluster's requests do); absent: plain. */
  tls?: UpstreamTls | null;
}

/** What a check's result did to the host (Envoy's `HealthTransition`). */
enum Transition {
  Unchanged,
  Changed,
  ChangePending,
}

export class HealthChecker {
  private readonly sessions = new Map<Host, Session>();
  private started = false;
  private closed = false;
  /** Hosts whose first check is awaited by `firstRound()`, and its waiters. */
  private readonly awaiting = new Set<Host>();
  private waiters: Array<() => void> = [];
  /** The request head of an HTTP check, built once. */
  readonly headers: RawHeaders;

  constructor(
    readonly config: HealthCheckConfig,
    readonly deps: HealthCheckerDeps,
  ) {
    this.headers = requestHeaders(config, deps.clusterName);
  }

  /**
   * The cluster's members now: a new host gets FAILED_ACTIVE_HC and a session (started once the
   * checker is); a host that left stops being checked. Call before rebuilding the balancer.
   */
  setHosts(hosts: readonly Host[]): void {
    if (this.closed) return;
    const keep = new Set(hosts);
    for (const [host, session] of this.sessions) {
      if (keep.has(host)) continue;
      session.stop();
      this.sessions.delete(host);
      this.firstCheckDone(host);
    }
    for (const host of hosts) {
      if (this.sessions.has(host)) continue;
      host.setHealthFlag(HealthFlag.FAILED_ACTIVE_HC, true);
      const session = new Session(this, host);
      this.sessions.set(host, session);
      if (this.started) session.start();
    }
    this.deps.stats.healthy.value = this.healthyCount();
  }

  /** Start checking (at cluster initialization); resolves once every host had its first check. */
  start(): Promise<void> {
    if (!this.started && !this.closed) {
      this.started = true;
      for (const host of this.sessions.keys()) this.awaiting.add(host);
      for (const session of this.sessions.values()) session.start();
    }
    return this.firstRound();
  }

  /** Resolves once every host present at `start()` had its first check (or left, or the checker closed). */
  firstRound(): Promise<void> {
    if (this.awaiting.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const session of this.sessions.values()) session.stop();
    this.sessions.clear();
    this.awaiting.clear();
    this.release();
  }

  /** A session's result changed its host's health. */
  hostChanged(host: Host): void {
    this.deps.stats.healthy.value = this.healthyCount();
    this.deps.onHostChange(host);
  }

  firstCheckDone(host: Host): void {
    if (this.awaiting.delete(host) && this.awaiting.size === 0) this.release();
  }

  /** The interval before the next check (Envoy's `HealthCheckerImplBase::interval`), with jitter. */
  nextInterval(passed: boolean, transition: Transition, hostHealthy: boolean): number {
    const c = this.config;
    let base: number;
    if (!this.deps.hadTraffic()) {
      base = hostHealthy ? c.noTrafficHealthyIntervalMs : c.noTrafficIntervalMs;
    } else if (passed) {
      base = transition === Transition.ChangePending ? c.healthyEdgeIntervalMs : c.intervalMs;
    } else {
      base = transition === Transition.ChangePending ? c.unhealthyEdgeIntervalMs : c.unhealthyIntervalMs;
    }
    const random = this.deps.random;
    const percentMod = Math.floor((c.intervalJitterPercent * base) / 100);
    if (percentMod > 0) base += Math.floor(random() * percentMod);
    if (c.intervalJitterMs > 0) base += Math.floor(random() * c.intervalJitterMs);
    return Math.max(1, base);
  }

  private healthyCount(): number {
    let n = 0;
    for (const host of this.sessions.keys()) if (!host.hasHealthFlag(HealthFlag.FAILED_ACTIVE_HC)) n++;
    return n;
  }

  private release(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** `host`, `user-agent: Envoy/HC`, then `request_headers_to_add`, minus `request_headers_to_remove`. */
function requestHeaders(config: HealthCheckConfig, clusterName: string): RawHeaders {
  const http = config.http;
  if (http === undefined) return [];
  const out: RawHeaders = ["host", http.host ?? clusterName, "user-agent", "Envoy/HC"];
  for (const [name, value] of http.headersToAdd) {
    if (name === "host") out[1] = value;
    else out.push(name, value);
  }
  const removed: RawHeaders = [];
  for (let i = 0; i < out.length; i += 2) {
    const name = out[i] as string;
    if (name !== "host" && http.headersToRemove.includes(name)) continue;
    removed.push(name, out[i + 1] as string);
  }
  return removed;
}

function inRanges(status: number, ranges: ReadonlyArray<readonly [number, number]>): boolean {
  for (const [start, end] of ranges) if (status >= start && status < end) return true;
  return false;
}

/** One host's checks (Envoy's `ActiveHealthCheckSession`). */
class Session implements H1Handler {
  private numHealthy = 0;
  private numUnhealthy = 0;
  private firstCheck = true;
  private intervalTimer: NodeJS.Timeout | null = null;
  private timeoutTimer: NodeJS.Timeout | null = null;
  private client: H1Client | null = null;
  /** The h2c session of HTTP/2 checks (`codec_client_type: HTTP2`). */
  private h2: Http2Connection | null = null;
  /** The HTTP/2 check's stream in flight. */
  private stream: Http2Stream | null = null;
  /** A TCP check's socket while it connects. */
  private probe: net.Socket | null = null;
  /** The check in flight (its result is taken once). */
  private inFlight = false;
  private stopped = false;
  private status = 0;
  private readonly exchange: H1Exchange;

  constructor(
    private readonly parent: HealthChecker,
    private readonly host: Host,
  ) {
    this.exchange = {
      method: "GET",
      path: parent.config.http?.path ?? "/",
      headers: parent.headers,
      body: null,
    };
  }

  start(): void {
    const jitter = this.parent.config.initialJitterMs;
    if (jitter > 0) this.schedule(Math.floor(this.parent.deps.random() * jitter));
    else this.check();
  }

  stop(): void {
    this.stopped = true;
    this.inFlight = false;
    this.clearTimers();
    this.closeConnection();
  }

  // --- H1Handler: the response of an HTTP check ---

  onConnect(): void {}

  onHeaders(status: number): boolean {
    this.status = status;
    return true;
  }

  onData(): boolean {
    return true;
  }

  onComplete(): void {
    if (!this.inFlight) return;
    const http = this.parent.config.http;
    const status = this.status;
    if (http === undefined || inRanges(status, http.expectedStatuses)) this.passed();
    else this.failed(false, inRanges(status, http.retriableStatuses));
    if (!this.parent.config.reuseConnection) this.closeConnection();
  }

  onError(): void {
    // The connection failed or closed before a response: a network failure.
    if (this.inFlight) this.failed(true, false);
  }

  // --- the checks ---

  private readonly onInterval = (): void => {
    this.intervalTimer = null;
    this.check();
  };

  private readonly onTimeout = (): void => {
    this.timeoutTimer = null;
    if (!this.inFlight) return;
    // Closed first, with the check no longer in flight: the aborted exchange reports nothing.
    this.inFlight = false;
    this.closeConnection();
    this.failed(true, false);
  };

  private check(): void {
    if (this.stopped) return;
    this.parent.deps.stats.attempt.value++;
    this.inFlight = true;
    this.status = 0;
    this.timeoutTimer = setTimeout(this.onTimeout, this.parent.config.timeoutMs);
    this.timeoutTimer.unref();
    if (this.parent.config.kind === "tcp") this.connectProbe();
    else if (this.parent.config.http?.http2 === true) this.sendH2Request();
    else this.sendRequest();
  }

  private sendRequest(): void {
    if (this.client === null) {
      const client = new H1Client(
        (cb) => this.connect(cb),
        {
          onOpen: () => {},
          onClose: () => {
            if (this.client === client) this.client = null;
          },
          onCloseNotify: () => {},
          onProtocolError: () => {},
        },
        0,
        0,
      );
      this.client = client;
    }
    this.client.dispatch(this.exchange, this);
  }

  /**
   * The check over h2c (our HTTP/2 client, lib/http2/), on one connection kept between checks as
   * Envoy keeps it: `:method GET`, `:authority` the `host`, `:path`, `:scheme http`, then
   * `user-agent` and the added headers.
   */
  private sendH2Request(): void {
    if (this.h2?.canRequest) {
      this.h2Request(this.h2);
      return;
    }
    this.closeConnection();
    const probe = this.connect((err, socket) => {
      if (this.probe !== probe) {
        socket?.destroy();
        return;
      }
      this.probe = null;
      if (err !== null || socket === null) {
        if (this.inFlight) this.failed(true, false);
        return;
      }
      const created: Http2Connection = new Http2Connection(
        socket,
        "client",
        {},
        {
          // Every stream was reset or closed before: the check in flight has failed already.
          onClose: () => {
            if (this.h2 === created) this.h2 = null;
          },
        },
      );
      this.h2 = created;
      if (this.inFlight) this.h2Request(created);
    });
    this.probe = probe;
  }

  private h2Request(conn: Http2Connection): void {
    const raw = this.exchange.headers;
    // `host` comes first in the check's head: it is the `:authority`.
    const fields: Fields = [":method", "GET", ":authority", raw[1] as string, ":path", this.exchange.path];
    fields.push(":scheme", "http");
    for (let i = 2; i < raw.length; i++) fields.push(raw[i] as string);
    const stream = conn.request(fields, true);
    stream.owner = this;
    stream.onHeaders = onH2Headers;
    stream.onEnd = onH2End;
    stream.onClose = onH2Close;
    this.stream = stream;
  }

  /** @internal The check's response head (1xx ones are not final). */
  h2Headers(stream: Http2Stream, fields: Fields): void {
    const status = Number(fields[1]);
    if (this.stream === stream && status >= 200) this.status = status;
  }

  /** @internal The check's stream ended (END_STREAM) or closed (reset, the connection gone). */
  h2Done(stream: Http2Stream, ended: boolean): void {
    if (this.stream !== stream) return;
    this.stream = null;
    if (ended && this.status !== 0) this.onComplete();
    else if (this.inFlight) this.failed(true, false);
  }

  private connectProbe(): void {
    const probe = this.connect((err, socket) => {
      socket?.destroy();
      if (this.probe !== probe) return;
      this.probe = null;
      if (!this.inFlight) return;
      if (err === null) this.passed();
      else this.failed(true, false);
    });
    this.probe = probe;
  }

  /**
   * A TCP connection to the host within `connect_timeout` (with the cluster's TLS handshake, if it
   * has a transport socket); `cb` called once.
   */
  private connect(cb: (err: Error | null, socket: net.Socket | null) => void): net.Socket {
    const socket = net.connect({ host: this.host.address, port: this.host.port, noDelay: true });
    const tls = this.parent.deps.tls ?? null;
    let done = false;
    const timer = setTimeout(() => finish(new Error("connect timeout")), this.parent.deps.connectTimeoutMs);
    timer.unref();
    const onError = (err: Error): void => finish(err);
    const finish = (err: Error | null, connected: net.Socket = socket): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.removeListener("connect", onConnect);
      if (err !== null) {
        // `onError` stays: a second error of this socket finds `done` set.
        socket.destroy();
        cb(err, null);
      } else {
        // The connection's owner (H1Client, or the TCP check that closes it) handles its errors now.
        socket.removeListener("error", onError);
        cb(null, connected);
      }
    };
    const onConnect = (): void => {
      if (tls === null) finish(null);
      else
        tls.handshake(socket, (failure, secure) =>
          failure === null ? finish(null, secure) : finish(new Error(failure)),
        );
    };
    socket.on("connect", onConnect);
    socket.on("error", onError);
    // Destroyed while connecting (the check timed out, the host left): the timer goes with it.
    socket.on("close", () => finish(new Error("connection closed")));
    return socket;
  }

  private passed(): void {
    this.inFlight = false;
    this.clearTimeout();
    this.numUnhealthy = 0;
    const host = this.host;
    let transition = Transition.Unchanged;
    if (host.hasHealthFlag(HealthFlag.FAILED_ACTIVE_HC)) {
      if (this.firstCheck || ++this.numHealthy === this.parent.config.healthyThreshold) {
        host.setHealthFlag(HealthFlag.FAILED_ACTIVE_HC, false);
        transition = Transition.Changed;
      } else {
        transition = Transition.ChangePending;
      }
    }
    this.parent.deps.stats.success.value++;
    this.finishCheck(true, transition);
  }

  /** A failed check: `network` for a timeout or connection failure; `retriable` for a retriable status. */
  private failed(network: boolean, retriable: boolean): void {
    this.inFlight = false;
    this.clearTimeout();
    this.numHealthy = 0;
    const host = this.host;
    let transition = Transition.Unchanged;
    if (!host.hasHealthFlag(HealthFlag.FAILED_ACTIVE_HC)) {
      if ((!network && !retriable) || ++this.numUnhealthy === this.parent.config.unhealthyThreshold) {
        host.setHealthFlag(HealthFlag.FAILED_ACTIVE_HC, true);
        transition = Transition.Changed;
      } else {
        transition = Transition.ChangePending;
      }
    }
    const stats = this.parent.deps.stats;
    stats.failure.value++;
    if (network) stats.network_failure.value++;
    this.finishCheck(false, transition);
  }

  private finishCheck(passed: boolean, transition: Transition): void {
    this.firstCheck = false;
    if (transition === Transition.Changed) this.parent.hostChanged(this.host);
    this.parent.firstCheckDone(this.host);
    if (this.stopped) return;
    const healthy = !this.host.hasHealthFlag(HealthFlag.FAILED_ACTIVE_HC);
    if (healthy) this.parent.deps.onHealthyCheck?.(this.host);
    this.schedule(this.parent.nextInterval(passed, transition, healthy));
  }

  private schedule(ms: number): void {
    if (this.intervalTimer !== null) clearTimeout(this.intervalTimer);
    this.intervalTimer = setTimeout(this.onInterval, ms);
    this.intervalTimer.unref();
  }

  private clearTimeout(): void {
    if (this.timeoutTimer !== null) clearTimeout(this.timeoutTimer);
    this.timeoutTimer = null;
  }

  private clearTimers(): void {
    this.clearTimeout();
    if (this.intervalTimer !== null) clearTimeout(this.intervalTimer);
    this.intervalTimer = null;
  }

  private closeConnection(): void {
    const client = this.client;
    this.client = null;
    client?.destroy();
    const conn = this.h2;
    this.h2 = null;
    this.stream = null;
    conn?.destroy();
    this.probe?.destroy();
    this.probe = null;
  }
}

function onH2Headers(this: Http2Stream, fields: Fields): void {
  (this.owner as Session).h2Headers(this, fields);
}

function onH2End(this: Http2Stream): void {
  (this.owner as Session).h2Done(this, true);
}

function onH2Close(this: Http2Stream): void {
  (this.owner as Session).h2Done(this, false);
}
