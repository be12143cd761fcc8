/**
 * The admin listener (the config's `admin:` block): Envoy's read-only endpoints over HTTP/1.1 plus
 * the POST-only mutations `/healthcheck/fail`, `/healthcheck/ok`, `/drain_listeners` and `/quitquitquit`.
 *
 * It reads everything through an AdminSource, so the same server works in one process (live objects)
 * and in the primary of a multi-worker proxy (views gathered from the workers over IPC).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { AccessLogger } from "../access_log/index.js";
import type { AdminConfig, Bootstrap } from "../config/model.js";
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from "../stats/prometheus.js";
import {
  parseStatsQuery,
  renderStatsJson,
  renderStatsText,
  StatsQueryError,
  selectStats,
} from "../stats/render.js";
import type { StatsSnapshot } from "../stats/store.js";
import {
  durationSeconds,
  renderClustersJson,
  renderClustersText,
  renderConfigDump,
  renderListenersJson,
  renderListenersText,
  type ServerState,
} from "./render.js";
import type { ClusterStatus, ListenerStatus } from "./status.js";

export interface AdminSource {
  bootstrap: Bootstrap;
  /** Every stat of the proxy (summed over workers). */
  stats(): StatsSnapshot | Promise<StatsSnapshot>;
  clusters(): ClusterStatus[] | Promise<ClusterStatus[]>;
  listeners(): ListenerStatus[];
  /** LIVE, or DRAINING after `/healthcheck/fail` or once a shutdown began. */
  state(): ServerState;
  healthCheckFail(): void;
  healthCheckOk(): void;
  /**
   * `POST /drain_listeners`: listeners stop accepting and ask their connections to finish; with
   * `graceful`, after the drain time (--drain-time-s) of drainClose. Absent: the endpoint answers 501.
   */
  drainListeners?(graceful: boolean): void;
  /** `/quitquitquit`: called after the response was sent. */
  quit(): void;
}

export interface ServerInfoOptions {
  /** e.g. `echomesh-proxy/0.1.0`. */
  version: string;
  /** Process start (ms since the epoch) for `uptime_current_epoch` / `uptime_all_epochs`. */
  startTimeMs: number;
  /** Envoy's `command_line_options` keys (`service_cluster`, `concurrency`, `drain_time`...). */
  commandLineOptions: Record<string, unknown>;
  node: { id: string; cluster: string };
}

export interface AdminServerOptions {
  config: AdminConfig;
  source: AdminSource;
  serverInfo: ServerInfoOptions;
  /** Access log for admin requests (`admin.access_log_path`), null when off. */
  accessLog: AccessLogger | null;
}

interface Endpoint {
  help: string;
  mutates: boolean;
  handle(url: URL): Reply | Promise<Reply>;
}

interface Reply {
  status: number;
  contentType: string;
  body: string;
  /** Call source.quit() once this reply is sent. */
  quit?: boolean;
}

const TEXT = "text/plain; charset=UTF-8";
const JSON_TYPE = "application/json";

const text = (body: string, status = 200): Reply => ({ status, contentType: TEXT, body });
const json = (body: string): Reply => ({ status: 200, contentType: JSON_TYPE, body });

export class AdminServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly endpoints: Map<string, Endpoint>;

  constructor(private readonly options: AdminServerOptions) {
    this.endpoints = this.buildEndpoints();
    this.server = createServer((req, res) => this.onRequest(req, res));
    this.server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    this.server.on("clientError", (_err, socket: Socket) => {
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
      else socket.destroy();
    });
  }

  /** Binds the admin address. Rejects (EADDRINUSE...) without leaving anything open. */
  listen(): Promise<AddressInfo> {
    const { address, port } = this.options.config.address;
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once("error", onError);
      this.server.listen({ host: address, port }, () => {
        this.server.off("error", onError);
        this.server.on("error", (err) => process.stderr.write(`admin listener: ${err.message}\n`));
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  address(): AddressInfo | null {
    const a = this.server.address();
    return a !== null && typeof a === "object" ? a : null;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const start = Date.now();
    let sent = 0;
    const log = this.options.accessLog;
    if (log !== null) {
      res.on("close", () => {
        log.log({
          startTime: start,
          method: req.method ?? "",
          path: req.url ?? "",
          authority: req.headers.host ?? "",
          scheme: "http",
          protocol: `HTTP/${req.httpVersion}`,
          requestHeaders: req.rawHeaders,
          responseHeaders: res.headersSent ? flatHeaders(res) : null,
          responseTrailers: null,
          responseCode: res.headersSent ? res.statusCode : 0,
          responseCodeDetails: "admin_filter_response",
          responseFlags: [],
          bytesReceived: 0,
          bytesSent: sent,
          durationMs: Date.now() - start,
          upstreamHost: null,
          upstreamCluster: null,
          downstreamRemoteAddress: peer(req.socket.remoteAddress, req.socket.remotePort),
          downstreamLocalAddress: peer(req.socket.localAddress, req.socket.localPort),
          routeName: null,
        });
      });
    }
    req.on("error", () => res.destroy());
    req.resume();
    this.dispatch(req).then(
      (reply) => {
        const body = Buffer.from(reply.body);
        sent = body.length;
        res.writeHead(reply.status, {
          "content-type": reply.contentType,
          "content-length": body.length,
          "cache-control": "no-cache, max-age=0",
          "x-content-type-options": "nosniff",
        });
        if (reply.quit === true) res.on("finish", () => this.options.source.quit());
        res.end(req.method === "HEAD" ? undefined : body);
      },
      (err: unknown) => {
        const body = `admin error: ${err instanceof Error ? err.message : String(err)}\n`;
        sent = Buffer.byteLength(body);
        if (!res.headersSent) res.writeHead(500, { "content-type": TEXT });
        res.end(body);
      },
    );
  }

  private async dispatch(req: IncomingMessage): Promise<Reply> {
    const url = new URL(req.url ?? "/", "http://admin");
    const endpoint = this.endpoints.get(url.pathname);
    if (endpoint === undefined) return text(`invalid path. ${this.helpText()}`, 404);
    if (endpoint.mutates && req.method !== "POST") {
      // Envoy: Http::Code::MethodNotAllowed with this exact text (source/server/admin/admin.cc).
      return text(`Method ${req.method ?? ""} not allowed, POST required.`, 405);
    }
    return endpoint.handle(url);
  }

  private helpText(): string {
    let out = "admin commands are:\n";
    for (const [path, e] of [...this.endpoints].sort(([a], [b]) => (a < b ? -1 : 1))) {
      out += `  ${path}${e.mutates ? " (POST)" : ""}: ${e.help}\n`;
    }
    return out;
  }

  private buildEndpoints(): Map<string, Endpoint> {
    const src = this.options.source;
    const info = this.options.serverInfo;
    const stats = async (url: URL): Promise<Reply> => {
      let query: ReturnType<typeof parseStatsQuery>;
      try {
        query = parseStatsQuery(url.searchParams);
      } catch (err) {
        if (err instanceof StatsQueryError) return text(`${err.message}\n`, 400);
        throw err;
      }
      const snapshot = await src.stats();
      const format = url.searchParams.get("format");
      if (url.pathname === "/stats/prometheus" || format === "prometheus") {
        return {
          status: 200,
          contentType: PROMETHEUS_CONTENT_TYPE,
          body: renderPrometheus(snapshot, query),
        };
      }
      const selected = selectStats(snapshot, query);
      if (format === "json") return json(renderStatsJson(selected));
      if (format !== null && format !== "text")
        return text(`usage: /stats?format=(json|prometheus|text)\n`, 400);
      return text(renderStatsText(selected));
    };
    const e = (help: string, handle: Endpoint["handle"], mutates = false): Endpoint => ({
      help,
      handle,
      mutates,
    });
    return new Map<string, Endpoint>([
      ["/", e("this list of admin commands", () => text(this.helpText()))],
      ["/help", e("print out list of admin commands", () => text(this.helpText()))],
      [
        "/ready",
        e("print server state, return 200 if LIVE, otherwise return 503", () => {
          const state = src.state();
          return text(`${state}\n`, state === "LIVE" ? 200 : 503);
        }),
      ],
      [
        "/server_info",
        e("print server version/status information", () => {
          const uptime = durationSeconds(Date.now() - info.startTimeMs);
          return json(
            JSON.stringify(
              {
                version: info.version,
                state: src.state(),
                hot_restart_version: "disabled",
                command_line_options: info.commandLineOptions,
                node: { id: info.node.id, cluster: info.node.cluster, user_agent_name: "echomesh-proxy" },
                uptime_current_epoch: uptime,
                uptime_all_epochs: uptime,
              },
              null,
              1,
            ),
          );
        }),
      ],
      [
        "/config_dump",
        e("dump current Envoy configs (the normalised model)", () => json(renderConfigDump(src.bootstrap))),
      ],
      [
        "/clusters",
        e("upstream cluster status", async (url) => {
          const clusters = await src.clusters();
          return url.searchParams.get("format") === "json"
            ? json(renderClustersJson(clusters))
            : text(renderClustersText(clusters));
        }),
      ],
      [
        "/listeners",
        e("print listener info", (url) =>
          url.searchParams.get("format") === "json"
            ? json(renderListenersJson(src.listeners()))
            : text(renderListenersText(src.listeners())),
        ),
      ],
      ["/stats", e("print server stats (?filter=regex, ?usedonly, ?format=json|prometheus)", stats)],
      ["/stats/prometheus", e("print server stats in prometheus format", stats)],
      [
        "/healthcheck/fail",
        e(
          "cause the server to fail health checks",
          () => {
            src.healthCheckFail();
            return text("OK\n");
          },
          true,
        ),
      ],
      [
        "/healthcheck/ok",
        e(
          "cause the server to pass health checks",
          () => {
            src.healthCheckOk();
            return text("OK\n");
          },
          true,
        ),
      ],
      [
        "/drain_listeners",
        e(
          "drain listeners (?graceful: after the drain time; ?inboundonly: every listener here is inbound)",
          (url) => {
            if (src.drainListeners === undefined) return text("not supported by this process\n", 501);
            src.drainListeners(url.searchParams.has("graceful"));
            return text("OK\n");
          },
          true,
        ),
      ],
      ["/quitquitquit", e("exit the server", () => ({ ...text("OK\n"), quit: true }), true)],
    ]);
  }
}

function flatHeaders(res: ServerResponse): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(res.getHeaders())) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.push(k, x);
    else out.push(k, String(v));
  }
  return out;
}

function peer(address: string | undefined, port: number | undefined): string | null {
  if (address === undefined) return null;
  return address.includes(":") ? `[${address}]:${port ?? 0}` : `${address}:${port ?? 0}`;
}
