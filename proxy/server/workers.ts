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
 * the primary exits 0. Workers ignore SIGINT (Ctrl-C reaches the whole process group; the primary
 * decides) and drain on SIGTERM or when the primary goes away. A worker that dies unexpectedly is
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
import { createConnPool } from "../conn_pool/index.js";
import { type StatsSnapshot, StatsStore } from "../stats/store.js";
import { createClusterManager, DnsFeed, type DnsOutcome } from "../upstream/cluster_manager.js";
import { systemResolver } from "../upstream/resolver.js";
import { mappedResolver } from "./dns_map.js";
import type { Logger } from "./log.js";
import type { ProxyOptions } from "./options.js";
import type { ProxyServer } from "./server.js";
import { waitForSignal } from "./signals.js";
import { buildServer, describeError, type Factories, loadOrReport, serverInfoFor } from "./startup.js";
import { createServerStats } from "./stats.js";

type ToWorker =
  | { type: "snapshot"; id: number }
  | { type: "drain"; ms: number }
  | { type: "dns"; outcome: DnsOutcome };
type FromWorker =
  /** The worker listens for DNS outcomes: the primary sends it the latest of each name. */
  | { type: "dns-hello" }
  | { type: "ready"; listeners: ListenerStatus[] }
  | { type: "failed"; message: string }
  | { type: "snapshot"; id: number; stats: StatsSnapshot; clusters: ClusterStatus[] };

const SNAPSHOT_TIMEOUT_MS = 2000;

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
  const bootstrap = await loadOrReport(options, logger);
  if (bootstrap === null) {
    await send({ type: "failed", message: "invalid config" });
    return 1;
  }
  // The primary resolves DNS names; this worker's DNS clusters follow its outcomes.
  const dnsFeed = new DnsFeed();
  process.on("message", (m: ToWorker) => {
    if (m.type === "dns") dnsFeed.push(m.outcome);
  });
  void send({ type: "dns-hello" });
  let server: ProxyServer;
  try {
    server = buildServer(bootstrap, options, factories, logger, { serverInfo: null, dnsFeed });
    await server.start();
  } catch (err) {
    await send({ type: "failed", message: describeError(err) });
    return 1;
  }
  process.on("SIGINT", () => {});
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
  await server.drain(drainMs);
  return 0;
}

export async function runPrimary(options: ProxyOptions, logger: Logger): Promise<number> {
  const startTimeMs = Date.now();
  const bootstrap = await loadOrReport(options, logger);
  if (bootstrap === null) return 1;
  logger.info("main", `starting ${options.concurrency} workers`);

  // DNS discovery, once for all workers (clusters of this process serve no request).
  const dnsStats = new StatsStore();
  const dnsOutcomes = new Map<string, DnsOutcome>();
  const dnsClusters = createClusterManager(
    bootstrap.clusters.filter((c) => c.type !== "static"),
    {
      stats: dnsStats,
      createPool: (host, cluster, stats) => createConnPool(host, cluster, stats),
      resolver: mappedResolver(options.dnsMap, systemResolver),
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
            bootstrap,
            stats: async () => {
              const own = new StatsStore();
              const serverStats = createServerStats(own);
              serverStats.concurrency.set(options.concurrency);
              serverStats.live.set(state() === "LIVE" ? 1 : 0);
              serverStats.uptime.set(Math.floor((Date.now() - startTimeMs) / 1000));
              return mergeSnapshots([
                own.snapshot(),
                dnsStats.snapshot(),
                ...(await gather()).map((s) => s.stats),
              ]);
            },
            clusters: async () => mergeClusterStatuses((await gather()).map((s) => s.clusters)),
            listeners: () => listeners,
            state,
            healthCheckFail: () => {
              healthCheckFailed = true;
            },
            healthCheckOk: () => {
              healthCheckFailed = false;
            },
            quit: () => quit(),
          },
        });

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
  logger.info("main", `all ${options.concurrency} workers serving`);

  const reason = await Promise.race([waitForSignal(), quitRequested, failed]);
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
