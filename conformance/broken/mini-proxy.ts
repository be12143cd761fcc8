/**
 * A deliberately small Envoy-config proxy for the suite's honesty checks (and as a stand-in while
 * developing the suite). It reads the v2 subset the topologies use: one HCM listener (HTTP/1.1 and h2c
 * prior knowledge on one port), prefix routes with `cluster`/`weighted_clusters`/`timeout`/
 * `use_websocket`, strict_dns clusters resolved through `dns_resolvers` every `dns_refresh_rate` (else
 * once through `--dns-map`), round robin (smooth weighted
 * across weighted clusters), `http2_protocol_options` upstreams, WebSocket tunnels over a dedicated
 * HTTP/1.1 connection, Envoy's local replies, and an admin with `/ready` and `/stats`.
 *
 * `--break <kind>` makes it wrong in exactly one way:
 *   first-backend  always the first host of a cluster and the first of weighted_clusters
 *   h1-upstream    ignores http2_protocol_options: HTTP/1.1 to every upstream
 *   no-upgrade     refuses every WebSocket upgrade with 403
 *   dns-once       resolves each name once at start and never again (ignores dns_refresh_rate)
 *
 * Usage: node mini-proxy.js -c FILE [--dns-map a=ip,b=ip]... [--break KIND] (Envoy flags ignored)
 */
import { promises as dnsPromises } from "node:dns";
import { readFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { parseArgs } from "node:util";
import { parse } from "yaml";
import { HOP_BY_HOP } from "../../proxy/api/headers.js";

// biome-ignore lint/suspicious/noExplicitAny: raw YAML of the known subset, read without a schema
type Obj = Record<string, any>;
type Break = "none" | "first-backend" | "h1-upstream" | "no-upgrade" | "dns-once";

const { values } = parseArgs({
  options: {
    c: { type: "string" },
    "config-path": { type: "string" },
    "dns-map": { type: "string", multiple: true },
    break: { type: "string", default: "none" },
    "service-cluster": { type: "string" },
    concurrency: { type: "string" },
    "drain-time-s": { type: "string" },
  },
  strict: false,
});
const broken = String(values.break) as Break;
const config = parse(readFileSync(String(values.c ?? values["config-path"]), "utf8")) as Obj;

const dns = new Map<string, string[]>();
for (const m of (values["dns-map"] as string[] | undefined) ?? []) {
  for (const pair of m.split(",")) {
    const [name, ip] = pair.split("=");
    if (name && ip) dns.set(name.toLowerCase(), [...(dns.get(name.toLowerCase()) ?? []), ip]);
  }
}
const resolve = (name: string): string[] => (net.isIP(name) ? [name] : (dns.get(name.toLowerCase()) ?? []));

// ---- stats -------------------------------------------------------------------------------------
const stats = new Map<string, number>();
const inc = (name: string, by = 1) => stats.set(name, (stats.get(name) ?? 0) + by);

// ---- clusters ----------------------------------------------------------------------------------
interface Host {
  address: string;
  port: number;
  agent: http.Agent;
  session?: http2.ClientHttp2Session;
}
interface Cluster {
  name: string;
  h2: boolean;
  hosts: Host[];
  next: number;
}
const clusters = new Map<string, Cluster>();

/** Look `name` up on the cluster's own servers (A records); no address = an empty answer. */
async function lookUp(resolver: dnsPromises.Resolver, name: string): Promise<string[]> {
  if (net.isIP(name)) return [name];
  try {
    return await resolver.resolve4(name);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOTFOUND" || code === "ENODATA") return [];
    throw err;
  }
}

/**
 * A cluster with `dns_resolvers` takes its hosts from those servers, again every `dns_refresh_rate`
 * (default 5 s), keeping the Host (and its connections) of an address that stays; a failed lookup
 * changes nothing.
 */
async function followDns(c: Obj, cluster: Cluster): Promise<void> {
  const resolver = new dnsPromises.Resolver();
  resolver.setServers(
    (c.dns_resolvers as Obj[]).map((r) => `${r.socket_address.address}:${r.socket_address.port_value}`),
  );
  const refresh = async () => {
    try {
      const hosts: Host[] = [];
      for (const h of c.hosts as Obj[]) {
        const port = Number(h.socket_address.port_value);
        for (const address of await lookUp(resolver, String(h.socket_address.address))) {
          const kept = cluster.hosts.find((x) => x.address === address && x.port === port);
          hosts.push(kept ?? { address, port, agent: new http.Agent({ keepAlive: true }) });
        }
      }
      for (const gone of cluster.hosts.filter((x) => !hosts.includes(x))) {
        gone.agent.destroy();
        gone.session?.close();
      }
      cluster.hosts = hosts;
    } catch (err) {
      console.error(`cluster ${cluster.name}: DNS lookup failed: ${String(err)}`);
    }
  };
  await refresh();
  if (broken === "dns-once") return;
  const rateMs = c.dns_refresh_rate ? Number.parseFloat(c.dns_refresh_rate) * 1000 : 5_000;
  setInterval(refresh, rateMs);
}

for (const c of config.static_resources.clusters as Obj[]) {
  const hosts: Host[] = [];
  if (c.dns_resolvers === undefined) {
    for (const h of c.hosts as Obj[]) {
      for (const address of resolve(String(h.socket_address.address))) {
        hosts.push({
          address,
          port: Number(h.socket_address.port_value),
          agent: new http.Agent({ keepAlive: true }),
        });
      }
    }
  }
  const cluster: Cluster = {
    name: c.name,
    h2: c.http2_protocol_options !== undefined && broken !== "h1-upstream",
    hosts,
    next: 0,
  };
  clusters.set(c.name, cluster);
  if (c.dns_resolvers !== undefined) await followDns(c, cluster);
  for (const s of [
    "upstream_cx_total",
    "upstream_cx_http1_total",
    "upstream_cx_http2_total",
    "upstream_rq_total",
  ]) {
    stats.set(`cluster.${c.name}.${s}`, 0);
  }
}

function pickHost(c: Cluster): Host | undefined {
  if (c.hosts.length === 0) return undefined;
  if (broken === "first-backend") return c.hosts[0];
  const h = c.hosts[c.next % c.hosts.length];
  c.next++;
  return h;
}

// ---- routes ------------------------------------------------------------------------------------
interface Route {
  prefix: string;
  clusters: { name: string; weight: number; current: number }[];
  timeoutMs: number;
  websocket: boolean;
}
const hcm = config.static_resources.listeners[0].filter_chains[0].filters[0].config as Obj;
const prefix = `http.${hcm.stat_prefix}`;
const routes: Route[] = (hcm.route_config.virtual_hosts[0].routes as Obj[]).map((r) => ({
  prefix: String(r.match.prefix),
  clusters: r.route.weighted_clusters
    ? (r.route.weighted_clusters.clusters as Obj[]).map((w) => ({
        name: w.name,
        weight: w.weight,
        current: 0,
      }))
    : [{ name: r.route.cluster, weight: 1, current: 0 }],
  timeoutMs: r.route.timeout ? Number.parseFloat(r.route.timeout) * 1000 : 15_000,
  websocket: r.route.use_websocket === true,
}));

/** Smooth weighted round robin (nginx): deterministic 70/30. */
function pickCluster(route: Route): Cluster | undefined {
  const list = route.clusters;
  let best = list[0];
  if (broken !== "first-backend" && list.length > 1) {
    const total = list.reduce((a, c) => a + c.weight, 0);
    for (const c of list) c.current += c.weight;
    best = list.reduce((a, c) => (c.current > a.current ? c : a));
    best.current -= total;
  }
  return best ? clusters.get(best.name) : undefined;
}

/** The standard hop-by-hop list (our proxy's, the RFCs'), plus `host`: the mini proxy sets its own. */
const HOP: ReadonlySet<string> = new Set([...HOP_BY_HOP, "host"]);

/** Request headers as name -> values, hop-by-hop and pseudo headers dropped. */
function forwardHeaders(raw: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = String(raw[i]).toLowerCase();
    if (HOP.has(name) || name.startsWith(":")) continue;
    const list = out[name] ?? [];
    list.push(String(raw[i + 1]));
    out[name] = list;
  }
  return out;
}

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

function localReply(res: Res, status: number, body: string) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    "content-type": "text/plain",
    "content-length": Buffer.byteLength(body),
    server: "envoy",
  });
  res.end(body);
}

function handle(req: Req, res: Res) {
  inc(`${prefix}.downstream_rq_total`);
  const path = req.url ?? "/";
  const route = routes.find((r) => path.startsWith(r.prefix));
  if (!route) return localReply(res, 404, "");
  const cluster = pickCluster(route);
  const host = cluster && pickHost(cluster);
  if (!cluster || !host) return localReply(res, 503, "no healthy upstream");
  inc(`cluster.${cluster.name}.upstream_rq_total`);
  const headers = forwardHeaders(req.rawHeaders);
  const authority = String(req.headers[":authority"] ?? req.headers.host ?? "");
  let timer: NodeJS.Timeout | undefined;
  let abort = () => {};
  const armTimeout = () => {
    timer = setTimeout(() => {
      abort();
      localReply(res, 504, "upstream request timeout");
    }, route.timeoutMs);
  };
  res.on("close", () => {
    clearTimeout(timer);
    abort();
  });
  const fail = () => {
    clearTimeout(timer);
    localReply(
      res,
      503,
      "upstream connect error or disconnect/reset before headers. reset reason: connection failure",
    );
  };
  const respond = (status: number, h: Record<string, unknown>, body: NodeJS.ReadableStream) => {
    clearTimeout(timer);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(h)) if (!HOP.has(k) && !k.startsWith(":") && k !== "host") out[k] = v;
    res.writeHead(status, out as http.OutgoingHttpHeaders);
    body.pipe(res as NodeJS.WritableStream);
  };

  if (cluster.h2) {
    if (!host.session || host.session.closed || host.session.destroyed) {
      const session = http2.connect(`http://${host.address}:${host.port}`);
      inc(`cluster.${cluster.name}.upstream_cx_total`);
      inc(`cluster.${cluster.name}.upstream_cx_http2_total`);
      session.on("error", () => session.destroy());
      session.on("close", () => {
        if (host.session === session) host.session = undefined;
      });
      host.session = session;
    }
    const stream = host.session.request({
      ":method": req.method ?? "GET",
      ":path": path,
      ":authority": authority,
      ...headers,
    });
    abort = () => stream.close(http2.constants.NGHTTP2_CANCEL);
    stream.on("error", fail);
    stream.on("response", (h) => respond(Number(h[":status"]), h, stream));
    req.pipe(stream);
    req.on("end", armTimeout);
  } else {
    const up = http.request({
      host: host.address,
      port: host.port,
      method: req.method,
      path,
      agent: host.agent,
      headers: { ...headers, host: authority },
    });
    abort = () => up.destroy();
    up.on("socket", (s) => {
      if (!counted.has(s)) {
        counted.add(s);
        inc(`cluster.${cluster.name}.upstream_cx_total`);
        inc(`cluster.${cluster.name}.upstream_cx_http1_total`);
      }
    });
    up.on("error", fail);
    up.on("response", (r) => respond(r.statusCode ?? 502, r.headers, r));
    req.pipe(up);
    req.on("end", armTimeout);
  }
}
const counted = new WeakSet<object>();

/** WebSocket (any upgrade) over a dedicated HTTP/1.1 connection, then a byte tunnel. */
function upgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer) {
  socket.on("error", () => socket.destroy());
  const route = routes.find((r) => (req.url ?? "/").startsWith(r.prefix));
  const cluster = route?.websocket && broken !== "no-upgrade" ? pickCluster(route) : undefined;
  const host = cluster && pickHost(cluster);
  if (!route || !cluster || !host) {
    socket.end(
      `HTTP/1.1 ${route ? 403 : 404} ${route ? "Forbidden" : "Not Found"}\r\ncontent-length: 0\r\n\r\n`,
    );
    return;
  }
  inc(`${prefix}.downstream_cx_upgrades_total`);
  inc(`${prefix}.downstream_cx_upgrades_active`);
  const up = net.connect(host.port, host.address);
  let lines = `${req.method} ${req.url} HTTP/1.1\r\n`;
  for (let i = 0; i < req.rawHeaders.length; i += 2)
    lines += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
  up.write(`${lines}\r\n`);
  if (head.length > 0) up.write(head);
  let open = true;
  const done = () => {
    if (!open) return;
    open = false;
    inc(`${prefix}.downstream_cx_upgrades_active`, -1);
    up.destroy();
    socket.destroy();
  };
  up.on("error", done);
  up.on("close", done);
  socket.on("close", done);
  up.pipe(socket);
  socket.pipe(up);
}

// ---- listener ----------------------------------------------------------------------------------
for (const s of [
  "downstream_cx_total",
  "downstream_cx_http1_total",
  "downstream_cx_http2_total",
  "downstream_cx_active",
  "downstream_rq_total",
  "downstream_cx_upgrades_total",
  "downstream_cx_upgrades_active",
]) {
  stats.set(`${prefix}.${s}`, 0);
}
const h1 = http.createServer(handle);
h1.on("upgrade", upgrade);
const h2 = http2.createServer(handle);
h2.on("sessionError", () => undefined);
const listener = net.createServer((socket) => {
  socket.on("error", () => socket.destroy());
  inc(`${prefix}.downstream_cx_total`);
  inc(`${prefix}.downstream_cx_active`);
  socket.on("close", () => inc(`${prefix}.downstream_cx_active`, -1));
  socket.once("data", (chunk: Buffer) => {
    socket.pause();
    socket.unshift(chunk);
    const isH2 = chunk.subarray(0, 4).toString("latin1") === "PRI ";
    inc(`${prefix}.${isH2 ? "downstream_cx_http2_total" : "downstream_cx_http1_total"}`);
    // The h2 session reads the buffered preface itself; the h1 parser needs the stream flowing.
    if (isH2) {
      h2.emit("connection", socket);
    } else {
      h1.emit("connection", socket);
      socket.resume();
    }
  });
});
const addr = config.static_resources.listeners[0].address.socket_address;
listener.listen(Number(addr.port_value), String(addr.address));

const admin = http.createServer((req, res) => {
  if (req.url === "/ready") return res.end("LIVE\n");
  if (req.url?.startsWith("/stats")) {
    return res.end(
      [...stats]
        .sort()
        .map(([k, v]) => `${k}: ${v}`)
        .join("\n"),
    );
  }
  res.writeHead(404).end();
});
const adminAddr = config.admin.address.socket_address;
admin.listen(Number(adminAddr.port_value), String(adminAddr.address));

const stop = () => {
  listener.close();
  admin.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
