/**
 * `--concurrency N` (N > 1): N worker processes (node:cluster) each run the whole proxy (clusters,
 * pools, listeners) and share the listen sockets; the primary runs the admin listener and adds up
 * what the workers report over IPC (stats, per-host counters). As in Envoy, round robin rotates
 * exactly within a worker, not across them, which is why the default is 1. As Envoy's main thread,
 * the primary resolves the strict_dns/logical_dns names (once per `dns_refresh_rate`, its
 * `update_*` stats counted once) and pushes every outcome to the workers, whose DNS clusters
 * follow it (proxy/upstream/dns_feed.ts).
 *
 * Signals: SIGTERM/SIGINT to the primary -> every worker drains for --drain-time-s and exits; then
 * the primary exits 0. Workers ignore SIGINT and SIGHUP (they reach the whole process group; the
 * primary decides) and drain on SIGTERM or when the primary goes away. SIGHUP to the primary (and
 * --watch, and the LDS/CDS files, which the primary watches): the primary loads and validates the
 * config, follows the new DNS clusters, then every worker loads and applies it (./reload.ts). A worker that dies unexpectedly is
 * replaced (at most 5 times a minute; after that the proxy shuts down with exit code 1).
 */
import cluster, { type Worker } from "node:cluster";
import { AccessLogManager, compileFormat } from "../access_log/index.js";
import type { ServerState } from "../admin/render.js";
import { AdminServer } from "../admin/server.js";
import {
  type ClusterStatus,
  type ListenerStatus,
  mergeClusterStatuses,
  mergeSnapshots,
} from "../admin/status.js";
import type { Bootstrap } from "../config/model.js";
import { createConnPool } from "../conn_pool/index.js";
import { type StatsSnapshot, StatsStore } from "../stats/store.js";
import { ClusterManagerImpl, DnsFeed, type DnsOutcome } from "../upstream/cluster_manager.js";
import { systemResolver } from "../upstream/resolver.js";
import { mappedResolver } from "./dns_map.js";
import type { Logger } from "./log.js";
import type { ProxyOptions } from "./options.js";
import { describeSummary, Reloader, type ReloadTrigger } from "./reload.js";
import { countConfigChanges, type ProxyServer, type ReloadSummary, startSummary } from "./server.js";
import { waitForSignal } from "./signals.js";
import { buildServer, describeError, type Factories, loadStateOrReport, serverInfoFor } from "./startup.js";
import { createServerStats } from "./stats.js";

type ToWorker =
  | { type: "snapshot"; id: number }
  | { type: "drain"; ms: number }
  | { type: "dns"; outcome: DnsOutcome }
  /** The primary validated a new config: load it again and apply it. */
  | { type: "reload"; id: number; trigger: ReloadTrigger }
  /** `/healthcheck/fail` (true) and `/healthcheck/ok` (false). */
  | { type: "health-check-failed"; failed: boolean }
  | { type: "drain-listeners"; graceful: boolean };
type FromWorker =
  /** The worker listens for DNS outcomes: the primary sends it the latest of each name. */
  | { type: "dns-hello" }
  | { type: "ready"; listeners: ListenerStatus[] }
  | { type: "failed"; message: string }
  | { type: "snapshot"; id: number; stats: StatsSnapshot; clusters: ClusterStatus[] }
  /** `summary`: what it changed, when it applied it (the primary counts it once). */
  | { type: "reloaded"; id: number; ok: boolean; summary: ReloadSummary | null };

const SNAPSHOT_TIMEOUT_MS = 2000;
/** How long the primary waits for each worker to apply a reload (DNS of new clusters included). */
const RELOAD_TIMEOUT_MS = 30_000;

export async function runWorker(
  options: ProxyOptions,
  factories: Factories,
  logger: Logger,
): Promise<number> {
  const send = (m: FromWorker): Promise<void> =>
    new Promise((resolve) => {
      if (!process.connected || process.send === undefined) resolve();
      else process.send(m, undefined, undefined, () => resolve());
    });
  const state = await loadStateOrReport(options, logger);
  if (state === null) {
    await send({ type: "failed", message: "invalid config" });
    return 1;
  }
  const bootstrap = state.bootstrap;
  // The primary resolves DNS names; this worker's DNS clusters follow its outcomes.
  const dnsFeed = new DnsFeed();
  process.on("message", (m: ToWorker) => {
    if (m.type === "dns") dnsFeed.push(m.outcome);
  });
  void send({ type: "dns-hello" });
  let server: ProxyServer;
  try {
    // The primary counts cluster and listener changes, once for all workers.
    server = buildServer(bootstrap, options, factories, logger, {
      serverInfo: null,
      dnsFeed,
      countConfigChanges: false,
    });
    await server.start();
  } catch (err) {
    await send({ type: "failed", message: describeError(err) });
    return 1;
  }
  process.on("SIGINT", () => {});
  // A hangup reaches the whole process group: the primary reloads and tells the workers.
  process.on("SIGHUP", () => {});
  // The primary watches and validates; this worker applies when told (its stats count nothing twice).
  let applied: ReloadSummary | null = null;
  const apply = async (next: Bootstrap) => {
    applied = await server.applyConfig(next, options.drainTimeS * 1000);
    return describeSummary(applied);
  };
  const reloader = new Reloader(state, options, logger, apply, null);
  process.on("message", (m: ToWorker) => {
    if (m.type === "reload") {
      applied = null;
      void reloader
        .reload(m.trigger)
        .then((ok) => send({ type: "reloaded", id: m.id, ok, summary: ok ? applied : null }));
    } else if (m.type === "health-check-failed") server.setHealthCheckFailed(m.failed);
    else if (m.type === "drain-listeners")
      void server.drainListeners(m.graceful ? options.drainTimeS * 1000 : 0);
  });
  let drainMs = options.drainTimeS * 1000;
  const drainRequested = new Promise<void>((resolve) => {
    process.on("message", (m: ToWorker) => {
      if (m.type === "snapshot") {
        void send({
          type: "snapshot",
          id: m.id,
          stats: server.snapshot(),
          clusters: server.clusterStatuses(),
        });
      } else if (m.type === "drain") {
        drainMs = m.ms;
        resolve();
      }
    });
    process.on("disconnect", () => resolve());
    process.on("SIGTERM", () => resolve());
  });
  void send({ type: "ready", listeners: server.listenerStatuses() });
  await drainRequested;
  reloader.close();
  await server.drain(drainMs);
  return 0;
}

export async function runPrimary(options: ProxyOptions, logger: Logger): Promise<number> {
  const startTimeMs = Date.now();
  const loaded = await loadStateOrReport(options, logger);
  if (loaded === null) return 1;
  const bootstrap = loaded.bootstrap;
  logger.info("main", `starting ${options.concurrency} workers`);

  // DNS discovery, once for all workers (clusters of this process serve no request).
  const dnsStats = new StatsStore();
  const dnsOutcomes = new Map<string, DnsOutcome>();
  const dnsClusters = new ClusterManagerImpl(
    bootstrap.clusters.filter((c) => c.type !== "static"),
    {
      stats: dnsStats,
      createPool: (host, cluster, stats) => createConnPool(host, cluster, stats),
      resolver: mappedResolver(options.dnsMap, systemResolver),
      // Each worker health-checks its own hosts (docs/ENVOY-DIFFERENCES.md).
      healthChecks: false,
      onDnsOutcome: (outcome) => {
        const key = `${outcome.index}:${outcome.cluster}`;
        // A failure after an answer changes nothing in a follower: keep the answer to replay.
        if (outcome.addresses !== null || !dnsOutcomes.has(key)) dnsOutcomes.set(key, outcome);
        for (const w of workers) if (w.isConnected()) w.send({ type: "dns", outcome } satisfies ToWorker);
      },
    },
  );

  const workers = new Set<Worker>();
  let listeners: ListenerStatus[] = [];
  let ready = 0;
  let draining = false;
  let serving = false;
  let healthCheckFailed = false;
  let nextId = 1;
  const pending = new Map<
    number,
    { want: number; got: Array<Extract<FromWorker, { type: "snapshot" }>>; done: () => void }
  >();
  const restarts: number[] = [];
  let fail: (message: string) => void = () => {};
  const failed = new Promise<string>((resolve) => {
    fail = resolve;
  });
  let allReady: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    allReady = resolve;
  });

  const fork = () => {
    const w = cluster.fork();
    workers.add(w);
    w.on("message", (m: FromWorker) => {
      if (m.type === "dns-hello") {
        for (const outcome of dnsOutcomes.values()) w.send({ type: "dns", outcome } satisfies ToWorker);
      } else if (m.type === "ready") {
        if (listeners.length === 0) listeners = m.listeners;
        ready++;
        if (ready === options.concurrency) allReady();
      } else if (m.type === "failed") {
        fail(m.message);
      } else if (m.type === "reloaded") {
        reloads.get(m.id)?.(m.ok, m.summary);
      } else if (m.type === "snapshot") {
        const p = pending.get(m.id);
        if (p !== undefined) {
          p.got.push(m);
          if (p.got.length >= p.want) p.done();
        }
      }
    });
    w.on("error", (err) => logger.error("main", `worker ${w.process.pid}: ${err.message}`));
    w.on("exit", (code, signal) => {
      workers.delete(w);
      for (const p of pending.values()) p.want--;
      if (draining) return;
      if (!serving) {
        fail(`worker ${w.process.pid} exited during startup (code ${code}, signal ${signal})`);
        return;
      }
      logger.error("main", `worker ${w.process.pid} exited (code ${code}, signal ${signal})`);
      const now = Date.now();
      while (restarts.length > 0 && (restarts[0] ?? 0) < now - 60_000) restarts.shift();
      if (restarts.length >= 5) {
        fail("workers keep dying");
        return;
      }
      restarts.push(now);
      fork();
    });
  };

  const gather = async (): Promise<Array<Extract<FromWorker, { type: "snapshot" }>>> => {
    const id = nextId++;
    const entry = {
      want: workers.size,
      got: [] as Array<Extract<FromWorker, { type: "snapshot" }>>,
      done: () => {},
    };
    const done = new Promise<void>((resolve) => {
      entry.done = resolve;
    });
    pending.set(id, entry);
    for (const w of workers) if (w.isConnected()) w.send({ type: "snapshot", id } satisfies ToWorker);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise((r) => (timer = setTimeout(r, SNAPSHOT_TIMEOUT_MS)))]);
    clearTimeout(timer);
    pending.delete(id);
    return entry.got;
  };

  const state = (): ServerState =>
    draining || healthCheckFailed ? "DRAINING" : ready >= options.concurrency ? "LIVE" : "INITIALIZING";

  const accessLogs = new AccessLogManager({ flushIntervalMs: options.fileFlushIntervalMs });
  const adminLogPath = bootstrap.admin?.accessLogPath ?? null;
  const adminFormat = compileFormat(null);
  const adminSink =
    adminLogPath !== null && adminLogPath !== "/dev/null" ? accessLogs.open(adminLogPath) : null;
  let quit: () => void = () => {};
  const quitRequested = new Promise<string>((resolve) => {
    quit = () => resolve("quitquitquit");
  });
  const admin =
    bootstrap.admin === null
      ? null
      : new AdminServer({
          config: bootstrap.admin,
          serverInfo: serverInfoFor(options, bootstrap, startTimeMs),
          accessLog: adminSink === null ? null : { log: (e) => adminSink.write(adminFormat(e)) },
          source: {
            get bootstrap() {
              return reloader.bootstrap;
            },
            stats: async () => {
              const own = new StatsStore();
              const serverStats = createServerStats(own);
              serverStats.concurrency.set(options.concurrency);
              serverStats.live.set(state() === "LIVE" ? 1 : 0);
              serverStats.uptime.set(Math.floor((Date.now() - startTimeMs) / 1000));
              return mergeSnapshots([
                own.snapshot(),
                dnsStats.snapshot(),
                primaryStats.snapshot(),
                ...(await gather()).map((s) => s.stats),
              ]);
            },
            clusters: async () => mergeClusterStatuses((await gather()).map((s) => s.clusters)),
            listeners: () => listeners,
            state,
            healthCheckFail: () => {
              healthCheckFailed = true;
              tellWorkers({ type: "health-check-failed", failed: true });
            },
            healthCheckOk: () => {
              healthCheckFailed = false;
              tellWorkers({ type: "health-check-failed", failed: false });
            },
            drainListeners: (graceful) => tellWorkers({ type: "drain-listeners", graceful }),
            quit: () => quit(),
          },
        });

  /**
   * Reload, as the primary: the config was loaded and validated (Reloader); DNS clusters of the new
   * config are followed here first (the workers' DNS clusters wait for these lookups), then every
   * worker loads and applies it. A worker that cannot apply it reports it; the reload fails.
   */
  const primaryStats = new StatsStore();
  const reloads = new Map<number, (ok: boolean, summary: ReloadSummary | null) => void>();
  const tellWorkers = (m: ToWorker) => {
    for (const w of workers) if (w.isConnected()) w.send(m);
  };
  const applyInWorkers = async (next: Bootstrap, trigger: ReloadTrigger): Promise<string> => {
    await dnsClusters.update(
      next.clusters.filter((c) => c.type !== "static"),
      0,
    );
    let summary: ReloadSummary | null = null;
    const results = await Promise.all(
      [...workers].map((w) => {
        const id = nextId++;
        return new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), RELOAD_TIMEOUT_MS);
          timer.unref();
          reloads.set(id, (ok, s) => {
            clearTimeout(timer);
            reloads.delete(id);
            summary ??= s;
            resolve(ok);
          });
          if (w.isConnected()) w.send({ type: "reload", id, trigger } satisfies ToWorker);
        });
      }),
    );
    // Counted once, from the first worker's account (every worker applied the same files).
    if (summary !== null) countConfigChanges(primaryStats, summary);
    const failedCount = results.filter((ok) => !ok).length;
    if (failedCount > 0)
      throw new Error(`${failedCount} of ${results.length} workers could not apply it (see their log lines)`);
    return `applied by ${results.length} workers`;
  };
  const reloader: Reloader = new Reloader(loaded, options, logger, applyInWorkers, primaryStats);

  const stopWorkers = async (ms: number): Promise<void> => {
    draining = true;
    const exited = [...workers].map((w) => new Promise<void>((resolve) => w.once("exit", () => resolve())));
    for (const w of workers) if (w.isConnected()) w.send({ type: "drain", ms } satisfies ToWorker);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(exited), new Promise((r) => (timer = setTimeout(r, ms + 3000)))]);
    clearTimeout(timer);
    for (const w of workers) w.process.kill("SIGKILL");
  };
  const shutdown = async (ms: number) => {
    await stopWorkers(ms);
    await dnsClusters.close();
    await admin?.close();
    await accessLogs.closeAll();
  };

  // Lookups start now; each worker's clusters wait for the first outcome of each name.
  void dnsClusters.initialize();
  for (let i = 0; i < options.concurrency; i++) fork();
  const first = await Promise.race([started.then(() => null), failed]);
  if (first !== null) {
    process.stderr.write(`${first}\n`);
    await shutdown(0);
    return 1;
  }
  try {
    if (admin !== null) {
      const a = await admin.listen();
      logger.info("admin", `admin address: ${a.address}:${a.port}`);
    }
  } catch (err) {
    process.stderr.write(`admin: ${describeError(err)}\n`);
    await shutdown(0);
    return 1;
  }
  serving = true;
  countConfigChanges(primaryStats, startSummary(bootstrap));
  reloader.watch();
  const onHangup = () => {
    logger.info("main", "caught SIGHUP: reloading the config");
    void reloader.reload("SIGHUP");
  };
  process.on("SIGHUP", onHangup);
  logger.info("main", `all ${options.concurrency} workers serving`);

  const reason = await Promise.race([waitForSignal(), quitRequested, failed]);
  process.off("SIGHUP", onHangup);
  reloader.close();
  logger.info("main", `shutting down: ${reason}`);
  if (reason !== "SIGTERM" && reason !== "SIGINT" && reason !== "quitquitquit") {
    process.stderr.write(`${reason}\n`);
    await shutdown(0);
    return 1;
  }
  const drainMs = reason === "quitquitquit" ? 0 : options.drainTimeS * 1000;
  const again = waitForSignal().then(() => stopWorkers(0));
  await Promise.race([shutdown(drainMs), again]);
  await admin?.close();
  await accessLogs.closeAll();
  return 0;
}
