/**
 * The process driver: the same topologies with processes on loopback. Each echo and each front proxy
 * gets its own 127.x.y.z address; a sidecar shares its echo's address (its "network namespace").
 * Names resolve as in the container driver through a DNS server: each started topology gets its own
 * (lib/dns_server.ts, on its own 127.x.y.z), holding every node's aliases; an echo's aliases are added
 * when it has started and removed when it stops, as Docker's DNS follows containers, so backends join
 * and leave a name at runtime. Every strict_dns/logical_dns cluster is pointed at it (`dns_resolvers`;
 * v3 targets get `typed_dns_resolver_config`). A `flag` target also gets the names as `--dns-map`, an
 * `inline` one has them written into its config as addresses (`Target.names`; fixed at start). Ports
 * are the config's, remapped to free ports so a wildcard listener elsewhere cannot collide.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DnsServer } from "../../lib/dns_server.js";
import { freePort } from "../../lib/net.js";
import { fromDist } from "../../lib/paths.js";
import { stopChild } from "../../lib/process.js";
import { clusters, inlineNames } from "../../lib/topology/envoy_doc.js";
import type { Address } from "../../lib/topology/model.js";
import { CONFIG_EXT } from "../../lib/topology/render.js";
import { sleep, waitUntil } from "../../lib/wait.js";
import { CONSISTENTLY, request } from "./client.js";
import {
  adminPortOf,
  configured,
  isEnvoyDialect,
  listenerPort,
  listenerPortOf,
  nodeDoc,
  renderConfig,
  renderSpec,
} from "./render.js";
import { ECHO_PORT, probePath } from "./topologies.js";
import type { Driver, Endpoint, EnvoyDoc, ProxyNode, RunningTopology, Target, Topology } from "./types.js";
import { renderDiscovery, withXdsDir, writeAtomically, xdsDir } from "./xds_files.js";

/** The echo service (built, like the rest of dist/, by the `conformance` project's global setup). */
const echoMain = fromDist("echo/main.js");

export class Proc {
  private tail: string[] = [];
  private child: ChildProcess;
  /** An `error` event came: the program could not be started. */
  private spawnFailed = false;

  constructor(
    readonly label: string,
    argv: string[],
    env: Record<string, string>,
  ) {
    const [cmd, ...args] = argv;
    this.child = spawn(cmd ?? process.execPath, args, {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const keep = (chunk: Buffer) => {
      this.tail.push(...chunk.toString().split("\n").filter(Boolean));
      if (this.tail.length > 40) this.tail.splice(0, this.tail.length - 40);
    };
    this.child.stdout?.on("data", keep);
    this.child.stderr?.on("data", keep);
    this.child.on("error", (err) => {
      this.spawnFailed = true;
      this.tail.push(String(err));
    });
  }

  get running(): boolean {
    return !this.spawnFailed && this.child.exitCode === null && this.child.signalCode === null;
  }

  output(): string {
    return this.tail.join("\n");
  }

  async stop(): Promise<void> {
    await stopChild(this.child, 5_000);
  }
}

/** Poll until `ep` answers HTTP with `ok(status)`, failing fast if the process exits. */
export async function ready(
  proc: Proc,
  ep: Endpoint,
  path: string,
  ok: (status: number) => boolean,
): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (!proc.running) throw new Error(`${proc.label} exited during startup:\n${proc.output()}`);
    try {
      const r = await request(ep, path, { timeoutMs: 2_000 });
      if (ok(r.status)) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${proc.label} not ready at ${ep.host}:${ep.port}${path} after 30 s:\n${proc.output()}`);
}

export async function processDriver(reason: string): Promise<Driver> {
  const dir = mkdtempSync(join(tmpdir(), "echomesh-conformance-"));
  // A random 127.B.0.0/16 per run, so parallel runs (suite + self-test) never share addresses.
  const b = 20 + Math.floor(Math.random() * 200);
  let nextHost = 1;
  const nextIp = () => {
    const n = nextHost++;
    return `127.${b}.${Math.floor(n / 250)}.${(n % 250) + 1}`;
  };
  const ports = new Map<number, number>();
  // Free on every IPv4 address (bound on 0.0.0.0): each node listens on its own 127.B.x.y.
  for (const p of [80, 8001, ECHO_PORT]) ports.set(p, await freePort("0.0.0.0"));
  const port = (p: number) => ports.get(p) ?? p;
  const all = new Set<Proc>();

  const driver: Driver = {
    name: "processes",
    reason,
    capabilities: { dynamicDns: true },
    async start(topology: Topology, target: Target): Promise<RunningTopology> {
      const processCommand = target.processCommand;
      if (!processCommand) throw new Error(`target ${target.name} has no process form`);
      const ips = new Map<string, string>();
      for (const e of topology.echos) ips.set(e.name, nextIp());
      for (const p of topology.proxies)
        ips.set(p.name, p.sidecarOf ? (ips.get(p.sidecarOf) ?? "") : nextIp());
      const echoProcs = new Map<string, Proc>();
      const proxyProcs: Proc[] = [];
      const dns = await DnsServer.start(nextIp());
      const ipOf = (name: string) => {
        const ip = ips.get(name);
        if (!ip) throw new Error(`no node ${name} in topology ${topology.id}`);
        return ip;
      };

      const startEcho = async (name: string) => {
        const ip = ipOf(name);
        const node = topology.echos.find((e) => e.name === name);
        const proc = new Proc(
          `echo ${name}`,
          [process.execPath, echoMain, "--port", String(port(ECHO_PORT)), "--host", ip],
          { INSTANCE: name, ...node?.env },
        );
        all.add(proc);
        echoProcs.set(name, proc);
        await ready(proc, { host: ip, port: port(ECHO_PORT) }, "/", () => true);
        for (const alias of node?.aliases ?? []) dns.add(alias, ip);
      };

      const dnsMap = () => {
        const map = new Map<string, string[]>();
        const add = (alias: string, ip: string) => map.set(alias, [...(map.get(alias) ?? []), ip]);
        for (const e of topology.echos) if (!e.deferred) for (const a of e.aliases) add(a, ipOf(e.name));
        for (const p of topology.proxies) for (const a of p.aliases) add(a, ipOf(p.name));
        return target.transformDns ? target.transformDns(map) : map;
      };

      /** Each proxy's LDS/CDS directory (proxies with `files`). */
      const xdsDirs = new Map<string, string>();
      const rewriteFor = (p: ProxyNode) => {
        const ip = ipOf(p.name);
        return {
          // 0.0.0.0 (listen) and 127.0.0.1 (the sidecar's own echo) are this node's address.
          address: (a: string) => (a === "0.0.0.0" || a === "127.0.0.1" ? ip : undefined),
          port,
        };
      };
      const prepareFor = (names: Map<string, string[]>) => (b: EnvoyDoc) =>
        askDns(target.names === "inline" ? inlineNames(b, names) : b, dns);

      const stopAll = async () => {
        await Promise.all([...proxyProcs, ...echoProcs.values()].map((p) => p.stop()));
        for (const p of [...proxyProcs, ...echoProcs.values()]) all.delete(p);
        await dns.close();
      };

      try {
        for (const p of topology.proxies) for (const alias of p.aliases) dns.add(alias, ipOf(p.name));
        await Promise.all(topology.echos.filter((e) => !e.deferred).map((e) => startEcho(e.name)));
        // Sidecars first, then the entry proxy.
        const order = [...topology.proxies].sort((x, y) => Number(!!y.sidecarOf) - Number(!!x.sidecarOf));
        for (const p of order) {
          const ip = ipOf(p.name);
          const names = dnsMap();
          // The proxy's own folder: its config file and whatever it writes (pid, temp files, state).
          const workDir = join(dir, `${topology.id}-${p.name}`);
          mkdirSync(workDir, { recursive: true });
          const dialect = configured(target);
          const file = join(workDir, `config.${CONFIG_EXT[dialect]}`);
          if (!isEnvoyDialect(target.dialect)) {
            // HAProxy, nginx, Caddy: the spec with this node's addresses, in the target's dialect.
            const map = ({ host, port: p0 }: Address) => ({
              host: host === "0.0.0.0" || host === "127.0.0.1" ? ip : host,
              port: port(p0),
            });
            writeFileSync(file, renderSpec(p, target, { map, names, resolver: dns, workDir }));
            const proc = new Proc(
              `proxy ${p.name}`,
              processCommand(file, p.serviceCluster, names),
              target.processEnv?.(workDir) ?? {},
            );
            all.add(proc);
            proxyProcs.push(proc);
            await ready(proc, { host: ip, port: port(listenerPortOf(p)) }, "/", () => true);
            continue;
          }
          let config = nodeDoc(p);
          if (p.envoy?.files !== undefined) {
            const xds = xdsDir(dir, `${topology.id}-${p.name}`);
            xdsDirs.set(p.name, xds);
            config = withXdsDir(config, xds);
            for (const [name, doc] of Object.entries(p.envoy?.files))
              writeAtomically(xds, name, renderDiscovery(doc, target, prepareFor(names), rewriteFor(p)));
          }
          const doc = askDns(target.names === "inline" ? inlineNames(config, names) : config, dns);
          writeFileSync(file, renderConfig(doc, target, rewriteFor(p)));
          const proc = new Proc(`proxy ${p.name}`, processCommand(file, p.serviceCluster, names), {});
          all.add(proc);
          proxyProcs.push(proc);
          await ready(proc, { host: ip, port: port(adminPortOf(p)) }, "/ready", (s) => s === 200);
        }
        const entry = { host: ipOf(topology.entry), port: port(listenerPortOf(entryNode(topology))) };
        await waitUntil(
          `${topology.id} answers through ${topology.entry}`,
          async () => {
            const r = await request(entry, probePath(topology), { timeoutMs: 5_000 });
            return r.headers["x-echo-instance"] !== undefined;
          },
          CONSISTENTLY,
        );
      } catch (err) {
        await stopAll();
        throw err;
      }

      const proxyNode = (name = topology.entry) => {
        const p = topology.proxies.find((x) => x.name === name);
        if (!p) throw new Error(`no proxy ${name}`);
        return p;
      };
      return {
        topology,
        target,
        listener: (name, listenerAt) => ({
          host: ipOf(proxyNode(name).name),
          port: port(listenerPort(proxyNode(name), listenerAt)),
        }),
        admin: (name) => ({
          host: ipOf(proxyNode(name).name),
          port: port(adminPortOf(proxyNode(name))),
        }),
        echo: (name) => ({ host: ipOf(name), port: port(ECHO_PORT) }),
        startEcho,
        async stopEcho(name) {
          // The name stops answering with it, as Docker's DNS when the container stops.
          const ip = ipOf(name);
          for (const alias of topology.echos.find((e) => e.name === name)?.aliases ?? [])
            dns.remove(alias, ip);
          await echoProcs.get(name)?.stop();
          echoProcs.delete(name);
        },
        runningEchos: () => [...echoProcs.keys()],
        async writeProxyFile(name, doc, proxy) {
          const p = proxyNode(proxy);
          const xds = xdsDirs.get(p.name);
          if (xds === undefined) throw new Error(`proxy ${p.name} has no LDS/CDS files`);
          writeAtomically(xds, name, renderDiscovery(doc, target, prepareFor(dnsMap()), rewriteFor(p)));
        },
        stop: stopAll,
      };
    },
    async close() {
      await Promise.all([...all].map((p) => p.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return driver;
}

/** Point every strict_dns/logical_dns cluster at the topology's DNS server (v2 `dns_resolvers`). */
export function askDns(doc: EnvoyDoc, dns: Pick<DnsServer, "host" | "port">): EnvoyDoc {
  const out = structuredClone(doc);
  for (const c of clusters(out)) {
    const type = String(c.type).toLowerCase();
    if (type === "strict_dns" || type === "logical_dns")
      c.dns_resolvers = [{ socket_address: { address: dns.host, port_value: dns.port } }];
  }
  return out;
}

function entryNode(topology: Topology): ProxyNode {
  const p = topology.proxies.find((x) => x.name === topology.entry);
  if (!p) throw new Error(`topology ${topology.id}: no entry proxy ${topology.entry}`);
  return p;
}
