/**
 * Stats and admin as Envoy's, checked against Envoy itself: the same v3 config (ports aside) and the
 * same traffic (answers, an upstream 503 and 404, connect refused, no healthy upstream, a route and a
 * per-try timeout, an upstream reset, a retry, a direct response, no route, h2c upstream resets and
 * timeouts) go to a real Envoy and to our built proxy in front of the same upstreams; then their
 * admins are compared: every counter and gauge our `/stats` shows has Envoy's value (the ones Envoy
 * lacks or keeps differently are in docs/ENVOY-DIFFERENCES.md, "Stats and admin"), `/clusters` prints
 * the same lines, `/clusters?format=json` the same documents, and `/stats?format=json` and
 * `/stats/prometheus` use Envoy's names, types and labels. Skipped, with findEnvoy's reason, when no
 * Envoy is installed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findEnvoy } from "../../../lib/envoy.js";
import { freePort, waitForPort } from "../../../lib/net.js";
import { sleep } from "../../../lib/wait.js";
import { request } from "../../../test-support/http.js";
import { PROXY_MAIN } from "../../../test-support/paths.js";
import { startProcess, stopChild } from "../../../test-support/process.js";
import { closeServer, listen } from "../../../test-support/servers.js";
import { prefixRoutes, staticCluster, v3Bootstrap } from "../http/helpers.js";

const found = findEnvoy();
process.stdout.write(
  found.found
    ? `envoy admin comparison: Envoy ${found.version} from ${found.from} (${found.path})\n`
    : `envoy admin comparison skipped: ${found.reason}\n`,
);

/** Route prefix -> cluster and route options: each one exercises one way a request ends. */
const ROUTES = prefixRoutes({
  "/ok": "route: { cluster: ok }",
  "/refused": "route: { cluster: refused }",
  "/empty": "route: { cluster: empty }",
  "/timeout": "route: { cluster: slow, timeout: 0.2s }",
  "/pertry": `route: { cluster: pertry, timeout: 5s, retry_policy: { retry_on: "5xx", num_retries: 0, per_try_timeout: 0.2s } }`,
  "/pt2": `route: { cluster: pertry, timeout: 5s, retry_policy: { retry_on: "5xx", num_retries: 1, per_try_timeout: 0.2s } }`,
  "/reset": "route: { cluster: reset }",
  "/retry": `route: { cluster: retry, retry_policy: { retry_on: "5xx,reset,connect-failure", num_retries: 1 } }`,
  "/rfail": `route: { cluster: refused, retry_policy: { retry_on: "connect-failure", num_retries: 1 } }`,
  "/h2": "route: { cluster: h2, timeout: 0.2s }",
  "/direct": `direct_response: { status: 200, body: { inline_string: "x" } }`,
});

/** The requests, in order (path and the status both must answer). */
const TRAFFIC: ReadonlyArray<[path: string, status: number]> = [
  ["/ok", 200],
  ["/ok?status=503", 503],
  ["/ok?status=404", 404],
  ["/refused", 503],
  ["/empty", 503],
  ["/timeout?delay=1000", 504],
  ["/pertry?delay=1000", 504],
  ["/pt2?delay=1000", 504],
  ["/reset", 503],
  ["/retry?status=503", 503],
  ["/retry?flip=1", 200],
  ["/rfail", 503],
  ["/h2", 200],
  ["/h2?status=503", 503],
  ["/h2/rst", 503],
  ["/h2?delay=1000", 504],
  ["/direct", 200],
  ["/nothing", 404],
];

/** The cluster stats named by a response code (and origin), which exist once charged. */
const RESPONSE_CODE_STAT =
  /^cluster\.[^.]+\.((external|internal|retry)\.)?upstream_rq_(\d{3}|\dxx|completed)$/;

/** Stats whose value depends on timing, not on how a request was charged. */
const TIMING = /^server\.uptime$/;

interface Upstreams {
  h1: number;
  reset: number;
  h2: number;
  refused: number;
}

function config(listener: number, admin: number, up: Upstreams): string {
  const h2 = `
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: { http2_protocol_options: {} }`;
  return v3Bootstrap({
    top: `
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: ${admin} } }`,
    port: listener,
    routes: ROUTES,
    clusters: `${staticCluster("ok", up.h1)}${staticCluster("slow", up.h1)}${staticCluster("pertry", up.h1)}${staticCluster("retry", up.h1)}${staticCluster("refused", up.refused)}${staticCluster("empty", null)}${staticCluster("reset", up.reset)}${staticCluster("h2", up.h2, h2)}`,
  });
}

/** `?status=`, `?delay=`; `?flip=1` answers 503 then 200 (a retry that succeeds), per proxy run. */
function h1Upstream(): http.Server {
  const flips = new Map<string, number>();
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      let status = Number(url.searchParams.get("status") ?? 200);
      if (url.searchParams.has("flip")) {
        const run = String(req.headers["x-run"] ?? "");
        const n = (flips.get(run) ?? 0) + 1;
        flips.set(run, n);
        status = n === 1 ? 503 : 200;
      }
      const delay = Number(url.searchParams.get("delay") ?? 0);
      setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(status, { "content-type": "text/plain" });
        res.end("hi\n");
      }, delay);
    });
  });
  // Keep idle connections for the whole run: connection counts must not depend on timing.
  server.keepAliveTimeout = 60_000;
  return server;
}

/** Resets the connection once a request arrives. */
function resetUpstream(): net.Server {
  return net.createServer((s) => {
    s.on("error", () => {});
    s.once("data", () => s.resetAndDestroy());
  });
}

/** h2c: `/rst` answers RST_STREAM, else `?status=` after `?delay=`. */
function h2Upstream(): http2.Http2Server {
  const server = http2.createServer();
  server.on("session", (s) => s.on("error", () => {}));
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    const url = new URL(String(headers[":path"]), "http://x");
    if (url.pathname.endsWith("/rst")) {
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    const delay = Number(url.searchParams.get("delay") ?? 0);
    const status = Number(url.searchParams.get("status") ?? 200);
    setTimeout(() => {
      if (stream.closed) return;
      stream.respond({ ":status": status });
      stream.end("hi\n");
    }, delay);
  });
  return server;
}

/** `name: value` lines of `/stats` (histograms and text lines skipped). */
function parseStats(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^(\S+): (-?\d+)$/.exec(line);
    if (m !== null) out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

interface Admin {
  stats: Map<string, number>;
  clusters: string;
  clustersJson: { cluster_statuses: Array<{ name: string }> };
  statsJson: { stats: Array<{ name?: string; value?: number }> };
  prometheus: string;
}

interface Side {
  name: string;
  listener: number;
  admin: number;
  /** This side's listener address in stat names (`127.0.0.1_<port>`), made `<listener>` to compare. */
  listenerStat: string;
  child: ChildProcess | null;
  codes: number[];
  before: Map<string, number>;
  after: Admin | null;
}

async function get(port: number, path: string): Promise<string> {
  const r = await request(port, path);
  if (r.status !== 200) throw new Error(`admin ${path} answered ${r.status}`);
  return r.text;
}

async function readAdmin(port: number): Promise<Admin> {
  return {
    stats: parseStats(await get(port, "/stats")),
    clusters: await get(port, "/clusters"),
    clustersJson: JSON.parse(await get(port, "/clusters?format=json")),
    statsJson: JSON.parse(await get(port, "/stats?format=json")),
    prometheus: await get(port, "/stats/prometheus"),
  };
}

async function drive(side: Side): Promise<void> {
  side.before = parseStats(await get(side.admin, "/stats"));
  for (const [path] of TRAFFIC) {
    const r = await request(side.listener, path, { headers: { "x-run": side.name } });
    side.codes.push(r.status);
  }
  // Late upstream answers (after the timeouts) reach closed connections; let the counts settle.
  await sleep(1500);
  side.after = await readAdmin(side.admin);
}

/** Counter deltas and gauge values of a side, listener address made `<listener>`. */
function moved(side: Side): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, value] of side.after?.stats ?? []) {
    out.set(name.replace(side.listenerStat, "<listener>"), value - (side.before.get(name) ?? 0));
  }
  return out;
}

const sides: Side[] = [];
const servers: Array<http.Server | net.Server | http2.Http2Server> = [];
let tmp = "";

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "echomesh-envoy-admin-"));
});

afterAll(async () => {
  await Promise.all(sides.map((s) => (s.child === null ? undefined : stopChild(s.child, 2000))));
  await Promise.all(servers.map((s) => closeServer(s as net.Server)));
  rmSync(tmp, { recursive: true, force: true });
});

/** Starts Envoy or our proxy (`name`) on the config, with `concurrency` workers. */
async function side(name: string, up: Upstreams, concurrency = 1): Promise<Side> {
  const listener = await freePort();
  const admin = await freePort();
  const file = join(tmp, `${name}-${concurrency}.yaml`);
  writeFileSync(file, config(listener, admin, up));
  const s: Side = {
    name,
    listener,
    admin,
    listenerStat: `127.0.0.1_${listener}`,
    child: null,
    codes: [],
    before: new Map(),
    after: null,
  };
  sides.push(s);
  if (name === "envoy") {
    if (!found.found) throw new Error(found.reason);
    const child = spawn(
      found.path,
      ["-c", file, "--concurrency", String(concurrency), "--use-dynamic-base-id", "-l", "error"],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    child.stderr?.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    s.child = child;
    await waitForPort(admin, { child, describeExit: () => stderr });
  } else {
    const p = startProcess(PROXY_MAIN, ["-c", file, "--concurrency", String(concurrency)]);
    s.child = p.child;
    await waitForPort(admin, { child: p.child, describeExit: p.output });
  }
  await waitForPort(listener, { child: s.child ?? undefined });
  return s;
}

describe.skipIf(!found.found)("stats and admin compared with Envoy on the same config and traffic", () => {
  let envoy: Side;
  let ours: Side;

  beforeAll(async () => {
    const h1 = h1Upstream();
    const reset = resetUpstream();
    const h2 = h2Upstream();
    servers.push(h1, reset, h2);
    const up: Upstreams = {
      h1: await listen(h1),
      reset: await listen(reset),
      h2: await listen(h2),
      refused: await freePort(),
    };
    envoy = await side("envoy", up);
    ours = await side("echomesh", up);
    await drive(envoy);
    await drive(ours);
  }, 60_000);

  it("answers the traffic with the same statuses", () => {
    expect(envoy.codes).toEqual(TRAFFIC.map(([, status]) => status));
    expect(ours.codes).toEqual(envoy.codes);
  });

  it("moves every stat our /stats shows as Envoy moves it (local replies, resets, retries, timeouts)", () => {
    const theirs = moved(envoy);
    const mine = moved(ours);
    const differ: string[] = [];
    let compared = 0;
    for (const [name, value] of mine) {
      if (TIMING.test(name)) continue;
      const expected = theirs.get(name);
      expect(expected, `${name} is one of Envoy's stats`).toBeDefined();
      compared++;
      if (expected !== value) differ.push(`${name}: envoy ${expected}, echomesh ${value}`);
    }
    // The response-code families are made on first use: Envoy's must all be ours too.
    for (const [name, value] of theirs) {
      if (value !== 0 && RESPONSE_CODE_STAT.test(name) && !mine.has(name))
        differ.push(`${name}: envoy ${value}, echomesh none`);
    }
    expect(differ).toEqual([]);
    // The charges this comparison is about, so that it cannot pass by comparing zeros.
    for (const [name, value] of [
      ["cluster.refused.upstream_rq_503", 2],
      ["cluster.refused.upstream_rq_total", 0],
      ["cluster.refused.upstream_rq_pending_failure_eject", 3],
      ["cluster.empty.upstream_cx_none_healthy", 1],
      ["cluster.empty.external.upstream_rq_503", 1],
      ["cluster.slow.upstream_rq_504", 1],
      ["cluster.pertry.upstream_rq_per_try_timeout", 3],
      ["cluster.pertry.upstream_rq_retry_limit_exceeded", 2],
      ["cluster.reset.upstream_rq_503", 1],
      ["cluster.retry.retry.upstream_rq_503", 2],
      ["cluster.retry.upstream_rq_retry_success", 1],
      ["cluster.h2.upstream_rq_rx_reset", 1],
      ["cluster.h2.upstream_rq_tx_reset", 1],
      ["http.ingress.downstream_rq_5xx", 12],
      ["listener.<listener>.http.ingress.downstream_rq_completed", TRAFFIC.length],
    ] as const) {
      expect(mine.get(name), name).toBe(value);
    }
    process.stdout.write(`envoy admin comparison: ${compared} stats compared\n`);
    expect(compared).toBeGreaterThan(200);
  });

  it("/clusters prints Envoy's lines: circuit breakers, added_via_api, every host field", () => {
    const lines = (admin: Admin | null) => new Set((admin?.clusters ?? "").trimEnd().split("\n"));
    const theirs = lines(envoy.after);
    const mine = lines(ours.after);
    expect([...mine].filter((l) => !theirs.has(l))).toEqual([]);
    expect([...theirs].filter((l) => !mine.has(l))).toEqual([]);
    expect(mine).toContain("ok::default_priority::max_connections::1024");
    expect(mine).toContain("ok::added_via_api::false");
    expect(
      [...mine].filter((l) => /^refused::127\.0\.0\.1:\d+::(cx_connect_fail::3|rq_total::0)$/.test(l)),
    ).toHaveLength(2);
  });

  it("/clusters?format=json is Envoy's document", () => {
    const byName = (admin: Admin | null) =>
      [...(admin?.clustersJson.cluster_statuses ?? [])].sort((a, b) => (a.name < b.name ? -1 : 1));
    expect(byName(ours.after)).toEqual(byName(envoy.after));
  });

  it("/stats?format=json and /stats/prometheus use Envoy's names, types and labels", () => {
    const jsonNames = (s: Side) =>
      new Set(
        (s.after?.statsJson.stats ?? []).flatMap((e) =>
          e.name === undefined ? [] : [e.name.replace(s.listenerStat, "<listener>")],
        ),
      );
    const theirNames = jsonNames(envoy);
    expect([...jsonNames(ours)].filter((n) => !theirNames.has(n))).toEqual([]);

    const families = (s: Side) => {
      const types = new Map<string, string>();
      const samples = new Map<string, string>();
      for (const line of (s.after?.prometheus ?? "").split("\n")) {
        const t = /^# TYPE (\S+) (\S+)$/.exec(line);
        if (t !== null) types.set(t[1] as string, t[2] as string);
        else if (line !== "") {
          const m = /^(\S+\{[^}]*\}) (\S+)$/.exec(line.replace(s.listenerStat, "<listener>"));
          expect(m, `a prometheus sample: ${line}`).not.toBeNull();
          samples.set(m?.[1] as string, m?.[2] as string);
        }
      }
      return { types, samples };
    };
    const theirs = families(envoy);
    const mine = families(ours);
    for (const [family, type] of mine.types) expect(theirs.types.get(family), family).toBe(type);
    const missing = [...mine.samples.keys()].filter((k) => !theirs.samples.has(k));
    expect(missing).toEqual([]);
    expect(
      mine.samples.get('envoy_cluster_upstream_rq{envoy_response_code="504",envoy_cluster_name="slow"}'),
    ).toBe("1");
    expect(
      mine.samples.get(
        'envoy_listener_http_downstream_rq_xx{envoy_response_code_class="5",envoy_http_conn_manager_prefix="ingress",envoy_listener_address="<listener>"}',
      ),
    ).toBe(
      theirs.samples.get(
        'envoy_listener_http_downstream_rq_xx{envoy_response_code_class="5",envoy_http_conn_manager_prefix="ingress",envoy_listener_address="<listener>"}',
      ),
    );
  });
});

describe.skipIf(!found.found)("with --concurrency 2, as Envoy with two workers", () => {
  it("shows every gauge as Envoy does: per-process ones once, not once per worker", async () => {
    const up: Upstreams = {
      h1: await freePort(),
      reset: await freePort(),
      h2: await freePort(),
      refused: await freePort(),
    };
    const two = [await side("envoy", up, 2), await side("echomesh", up, 2)];
    const [envoy, ours] = await Promise.all(
      two.map(async (s) => {
        const stats = parseStats(await get(s.admin, "/stats"));
        return new Map([...stats].map(([k, v]) => [k.replace(s.listenerStat, "<listener>"), v]));
      }),
    );
    const differ: string[] = [];
    for (const [name, value] of ours ?? []) {
      if (TIMING.test(name)) continue;
      if (envoy?.get(name) !== value) differ.push(`${name}: envoy ${envoy?.get(name)}, echomesh ${value}`);
    }
    expect(differ).toEqual([]);
    expect(ours?.get("server.concurrency")).toBe(2);
    expect(ours?.get("cluster_manager.active_clusters")).toBe(8);
    expect(ours?.get("cluster.ok.membership_total")).toBe(1);
  }, 60_000);
});
