/**
 * How the router and the pools charge the cluster, host and listener stats for each way a request
 * ends, as Envoy 1.40 charges them (measured on Envoy; proxy/test/cli/envoy_admin.test.ts compares
 * with a running Envoy): a local reply standing for the upstream's answer (503 connect failure, no
 * healthy upstream, reset; 504 route or per-try timeout) counts as the cluster's response code
 * (`upstream_rq_<code>`, `_<N>xx`, `_completed`, and their `external.` copies); a request whose
 * connect failed was never sent (`upstream_rq_total` 0, `upstream_rq_pending_failure_eject`); a
 * retried response counts only under `retry.`.
 */
import http from "node:http";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { freePort } from "../../../lib/net.js";
import { waitUntil } from "../../../lib/wait.js";
import { request } from "../../../test-support/http.js";
import type { HostStats } from "../../conn_pool/host_stats.js";
import { prefixRoutes, staticCluster, type TestProxy, useProxies, v3Bootstrap } from "../http/helpers.js";

const { bootstrap, serve } = useProxies();

const ROUTES = prefixRoutes({
  "/ok": "route: { cluster: ok }",
  "/refused": "route: { cluster: refused }",
  "/empty": "route: { cluster: empty }",
  "/timeout": "route: { cluster: ok, timeout: 0.1s }",
  "/pertry": `route: { cluster: ok, timeout: 5s, retry_policy: { retry_on: "5xx", num_retries: 0, per_try_timeout: 0.1s } }`,
  "/reset": "route: { cluster: reset }",
  "/retry": `route: { cluster: ok, retry_policy: { retry_on: "5xx", num_retries: 1 } }`,
});

function cluster(name: string, endpoints: boolean): string {
  return staticCluster(name, endpoints ? `{{${name}}}` : null);
}

const YAML = v3Bootstrap({
  routes: ROUTES,
  clusters: `${cluster("ok", true)}${cluster("refused", true)}${cluster("empty", false)}${cluster("reset", true)}`,
});

/** `?status=`, `?delay=`; `?flip` answers 503 the first time, then 200. */
function h1Upstream(): http.Server {
  let flips = 0;
  return http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      const status = url.searchParams.has("flip")
        ? flips++ === 0
          ? 503
          : 200
        : Number(url.searchParams.get("status") ?? 200);
      const delay = Number(url.searchParams.get("delay") ?? 0);
      setTimeout(() => {
        if (!res.destroyed) res.writeHead(status).end("hi");
      }, delay);
    });
  });
}

async function start(): Promise<TestProxy> {
  const ok = await serve(h1Upstream());
  const reset = await serve(
    net.createServer((s) => {
      s.on("error", () => {});
      s.once("data", () => s.resetAndDestroy());
    }),
  );
  return bootstrap(YAML, { ok: ok.port, reset: reset.port, refused: await freePort() });
}

function hostStats(p: TestProxy, cluster: string): HostStats {
  const host = p.server.clusterManager.get(cluster)?.hosts[0];
  if (host === undefined) throw new Error(`no host in ${cluster}`);
  return host.stats;
}

interface Case {
  name: string;
  path: string;
  status: number;
  /** Full stat names and their values after the request (absent = 0). */
  stats: Record<string, number>;
  /** The cluster's (only) host and its stats, as `/clusters` prints them. */
  host?: [cluster: string, stats: Partial<HostStats>];
}

const L = "listener.127.0.0.1_0.";

const CASES: Case[] = [
  {
    name: "an upstream answer",
    path: "/ok",
    status: 200,
    stats: {
      "cluster.ok.upstream_rq_total": 1,
      "cluster.ok.upstream_rq_200": 1,
      "cluster.ok.upstream_rq_2xx": 1,
      "cluster.ok.upstream_rq_completed": 1,
      "cluster.ok.external.upstream_rq_200": 1,
      "cluster.ok.external.upstream_rq_2xx": 1,
      "cluster.ok.external.upstream_rq_completed": 1,
      "cluster.ok.upstream_rq_pending_total": 1,
      "cluster.ok.upstream_rq_pending_active": 0,
      "cluster.ok.upstream_rq_active": 0,
      [`${L}downstream_cx_total`]: 1,
      [`${L}http.ingress.downstream_rq_2xx`]: 1,
      [`${L}http.ingress.downstream_rq_completed`]: 1,
    },
    host: ["ok", { rq_total: 1, rq_success: 1, rq_error: 0, rq_active: 0, rq_pending_active: 0 }],
  },
  {
    name: "connect refused: a 503 of the cluster, the request never sent and ejected from the queue",
    path: "/refused",
    status: 503,
    stats: {
      "cluster.refused.upstream_rq_total": 0,
      "cluster.refused.upstream_rq_503": 1,
      "cluster.refused.upstream_rq_5xx": 1,
      "cluster.refused.upstream_rq_completed": 1,
      "cluster.refused.external.upstream_rq_503": 1,
      "cluster.refused.upstream_cx_connect_fail": 1,
      "cluster.refused.upstream_rq_pending_total": 1,
      "cluster.refused.upstream_rq_pending_failure_eject": 1,
      "cluster.refused.upstream_rq_pending_active": 0,
      "cluster.refused.upstream_rq_rx_reset": 0,
      [`${L}http.ingress.downstream_rq_5xx`]: 1,
    },
    host: ["refused", { rq_total: 0, rq_error: 1, cx_connect_fail: 1, cx_total: 1, rq_pending_active: 0 }],
  },
  {
    name: "no healthy upstream: a 503 of the cluster and upstream_cx_none_healthy",
    path: "/empty",
    status: 503,
    stats: {
      "cluster.empty.upstream_cx_none_healthy": 1,
      "cluster.empty.upstream_rq_503": 1,
      "cluster.empty.upstream_rq_completed": 1,
      "cluster.empty.external.upstream_rq_503": 1,
      "cluster.empty.upstream_rq_total": 0,
    },
  },
  {
    name: "route timeout: a 504 of the cluster, the host's rq_timeout and rq_error",
    path: "/timeout?delay=500",
    status: 504,
    stats: {
      "cluster.ok.upstream_rq_total": 1,
      "cluster.ok.upstream_rq_timeout": 1,
      "cluster.ok.upstream_rq_504": 1,
      "cluster.ok.upstream_rq_5xx": 1,
      "cluster.ok.upstream_rq_completed": 1,
      "cluster.ok.upstream_rq_tx_reset": 0,
    },
    host: ["ok", { rq_total: 1, rq_timeout: 1, rq_error: 1, rq_success: 0, rq_active: 0 }],
  },
  {
    name: "per-try timeout with num_retries 0: applied, a 504, the retry limit exceeded",
    path: "/pertry?delay=500",
    status: 504,
    stats: {
      "cluster.ok.upstream_rq_per_try_timeout": 1,
      "cluster.ok.upstream_rq_retry_limit_exceeded": 1,
      "cluster.ok.upstream_rq_retry": 0,
      "cluster.ok.upstream_rq_504": 1,
      "cluster.ok.upstream_rq_timeout": 0,
    },
    host: ["ok", { rq_total: 1, rq_timeout: 1, rq_error: 1 }],
  },
  {
    name: "an upstream reset before headers: a 503 of the cluster (no rx_reset on HTTP/1.1)",
    path: "/reset",
    status: 503,
    stats: {
      "cluster.reset.upstream_rq_total": 1,
      "cluster.reset.upstream_rq_503": 1,
      "cluster.reset.upstream_rq_completed": 1,
      "cluster.reset.upstream_rq_rx_reset": 0,
    },
    host: ["reset", { rq_total: 1, rq_error: 1 }],
  },
  {
    name: "a retried 503 counts under retry. only; the 200 after it as usual",
    path: "/retry?flip",
    status: 200,
    stats: {
      "cluster.ok.upstream_rq_total": 2,
      "cluster.ok.retry.upstream_rq_503": 1,
      "cluster.ok.retry.upstream_rq_5xx": 1,
      "cluster.ok.retry.upstream_rq_completed": 1,
      "cluster.ok.upstream_rq_503": 0,
      "cluster.ok.upstream_rq_200": 1,
      "cluster.ok.upstream_rq_completed": 1,
      "cluster.ok.upstream_rq_retry": 1,
      "cluster.ok.upstream_rq_retry_backoff_exponential": 1,
      "cluster.ok.upstream_rq_retry_success": 1,
    },
    host: ["ok", { rq_total: 2, rq_error: 1, rq_success: 1 }],
  },
];

describe("stats charged per outcome, as Envoy charges them", () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const p = await start();
      const r = await request(p.port, c.path);
      expect(r.status).toBe(c.status);
      await p.logged();
      await waitUntil("the tries are over", () => p.stat("cluster.ok.upstream_rq_active") === 0);
      const actual = Object.fromEntries(Object.keys(c.stats).map((name) => [name, p.stat(name)]));
      expect(actual).toEqual(c.stats);
      if (c.host !== undefined) expect(hostStats(p, c.host[0])).toMatchObject(c.host[1]);
    });
  }
});
