/**
 * The container driver: each topology on its own Docker network, built with testcontainers. Echo
 * instances are containers with the topology's DNS aliases; proxies run the target's image with the
 * rendered config copied in; a sidecar joins its echo's network namespace (`container:<id>`), so the
 * seed's 127.0.0.1 addressing holds and the service alias reaches the sidecar's listener. A topology's
 * `hostFiles` folder (the TLS test certificates, which the configs name by host path) is bind-mounted
 * read-only at the same path into each of its proxies; every listener port is published.
 *
 * Option `compose` (ECHOMESH_COMPOSE=1): the seed's own topologies, `front` and `mesh`, start from the
 * post's docker-compose files with testcontainers' DockerComposeEnvironment (./driver-compose.ts) when
 * the target is our image with the seed's v2 configs; everything else as above.
 *
 * Ryuk is off (no registry here to pull it from): everything carries the suite's labels and is removed
 * at the end of the run, and a crashed run's leftovers are removed at the next start.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GenericContainer, StartedTestContainer } from "testcontainers";
import { waitUntil } from "../../lib/wait.js";
import { CONSISTENTLY, request } from "./client.js";
import { docker, removeLabelled, runLabels } from "./docker.js";
import { adminPortOf, listenerPort, listenerPortsOf, nodeDoc, renderConfig } from "./render.js";
import { ECHO_PORT, probePath } from "./topologies.js";
import type { Driver, Endpoint, ProxyNode, RunningTopology, Target, Topology } from "./types.js";
import { renderDiscovery, writeAtomically, XDS_DIR, xdsDir } from "./xds_files.js";

process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";

/**
 * The image's HEALTHCHECK is off in the suite: its probes would be requests the tests do not make (an
 * echo's `echo_requests_total` moving between two scrapes); the suite waits for readiness itself.
 */
const NO_HEALTHCHECK = { test: ["NONE"] } as unknown as Parameters<GenericContainer["withHealthCheck"]>[0]; // Docker's "off"; not in the type

/** A host folder mounted into a container (testcontainers does not export the type). */
type BindMount = Parameters<GenericContainer["withBindMounts"]>[0][number];

async function logsOf(id: string): Promise<string> {
  return docker(["logs", "--tail", "30", id], 10_000).catch((e) => String(e));
}

export interface ContainerDriverOptions {
  /** Start `front` and `mesh` from the seed's compose files (default: ECHOMESH_COMPOSE=1). */
  compose?: boolean;
}

export async function containerDriver(
  reason: string,
  echoImage: string,
  options: ContainerDriverOptions = {},
): Promise<Driver> {
  const { GenericContainer, Wait } = await import("testcontainers");
  let compose = options.compose ?? process.env.ECHOMESH_COMPOSE === "1";
  let composeNote = "";
  if (compose) {
    const { composeUnavailable } = await import("./driver-compose.js");
    const why = await composeUnavailable();
    if (why !== null) {
      if (options.compose === true) throw new Error(`compose option: ${why}`);
      compose = false;
      composeNote = `; ECHOMESH_COMPOSE=1 but ${why}: no compose`;
    } else composeNote = "; front and mesh from the seed's docker-compose files (ECHOMESH_COMPOSE)";
  }
  const runId = randomBytes(4).toString("hex");
  /** Host directories bind-mounted as proxies' XDS_DIR (their LDS/CDS files). */
  const hostDir = mkdtempSync(join(tmpdir(), "echomesh-conformance-xds-"));
  const labels = runLabels(runId);
  const stale = await removeLabelled();
  const staleNote =
    stale.containers + stale.networks > 0
      ? `; removed ${stale.containers} stale containers and ${stale.networks} networks of crashed runs`
      : "";

  const driver: Driver = {
    name: "containers",
    reason: reason + staleNote + composeNote,
    capabilities: { dynamicDns: true },
    async start(topology: Topology, target: Target): Promise<RunningTopology> {
      const image = target.image;
      if (!image) throw new Error(`target ${target.name} has no image`);
      if (compose) {
        const { composeUsable, startCompose } = await import("./driver-compose.js");
        if (composeUsable(topology, target, echoImage)) {
          const project = `echomesh-${runId}-${topology.id}-${randomBytes(2).toString("hex")}`;
          return startCompose({
            topology,
            target,
            image,
            labels,
            project,
            workDir: join(hostDir, project),
          });
        }
      }
      const network = `echomesh-${runId}-${topology.id}`;
      const labelArgs = Object.entries(labels).flatMap(([k, v]) => ["--label", `${k}=${v}`]);
      await docker(["network", "create", ...labelArgs, network]);
      const echos = new Map<string, StartedTestContainer>();
      const proxies = new Map<string, StartedTestContainer>();
      const sidecarOf = (echo: string) => topology.proxies.filter((p) => p.sidecarOf === echo);

      const startEcho = async (name: string) => {
        const node = topology.echos.find((e) => e.name === name);
        if (!node) throw new Error(`no echo ${name} in ${topology.id}`);
        // A sidecar's ports live in this container's network namespace: expose them here.
        const extra = sidecarOf(name).flatMap((p) => [...listenerPortsOf(p), adminPortOf(p)]);
        const started = await new GenericContainer(echoImage)
          .withCommand(["echo"])
          .withEnvironment({ INSTANCE: name, ...node.env })
          .withNetworkMode(network)
          .withNetworkAliases(...node.aliases)
          .withExposedPorts(ECHO_PORT, ...extra)
          .withLabels(labels)
          .withHealthCheck(NO_HEALTHCHECK)
          .withWaitStrategy(Wait.forHttp("/", ECHO_PORT).forStatusCodeMatching(() => true))
          .withStartupTimeout(60_000)
          .start();
        echos.set(name, started);
      };

      /** Each proxy's LDS/CDS directory on the host (proxies with `files`). */
      const xdsDirs = new Map<string, string>();
      const startProxy = async (p: ProxyNode) => {
        const config = renderConfig(nodeDoc(p), target);
        const admin = adminPortOf(p);
        // The files the config names by host path (test certificates), at the same path, read-only.
        const mounts: BindMount[] =
          topology.hostFiles === undefined
            ? []
            : [{ source: topology.hostFiles, target: topology.hostFiles, mode: "ro" }];
        if (p.envoy?.files !== undefined) {
          const dir = xdsDir(hostDir, `${topology.id}-${p.name}`);
          xdsDirs.set(p.name, dir);
          for (const [name, doc] of Object.entries(p.envoy?.files))
            writeAtomically(dir, name, renderDiscovery(doc, target));
          mounts.push({ source: dir, target: XDS_DIR, mode: "ro" });
        }
        let builder = new GenericContainer(image)
          .withCommand(target.containerCommand(target.configPath, p.serviceCluster))
          .withCopyContentToContainer([{ content: config, target: target.configPath }])
          .withBindMounts(mounts)
          .withLabels(labels)
          .withHealthCheck(NO_HEALTHCHECK)
          .withStartupTimeout(60_000);
        if (p.sidecarOf) {
          const host = echos.get(p.sidecarOf);
          if (!host) throw new Error(`sidecar ${p.name}: echo ${p.sidecarOf} not started`);
          builder = builder.withNetworkMode(`container:${host.getId()}`).withWaitStrategy(Wait.forAll([]));
        } else {
          builder = builder
            .withNetworkMode(network)
            .withNetworkAliases(...p.aliases)
            .withExposedPorts(...listenerPortsOf(p), admin)
            .withWaitStrategy(Wait.forHttp("/ready", admin).forStatusCode(200));
        }
        const started = await builder.start();
        proxies.set(p.name, started);
        if (p.sidecarOf) {
          const ep = adminEp(p.name);
          try {
            await waitUntil(
              `${p.name} admin /ready`,
              async () => (await request(ep, "/ready")).status === 200,
              { withinMs: 30_000, intervalMs: 100 },
            );
          } catch (err) {
            throw new Error(`${(err as Error).message}\n${await logsOf(started.getId())}`);
          }
        }
      };

      const proxyNode = (name = topology.entry) => {
        const p = topology.proxies.find((x) => x.name === name);
        if (!p) throw new Error(`no proxy ${name} in ${topology.id}`);
        return p;
      };
      /** Where a proxy's port is published: its own container, or its echo's for a sidecar. */
      const published = (p: ProxyNode, port: number): Endpoint => {
        const c = p.sidecarOf ? echos.get(p.sidecarOf) : proxies.get(p.name);
        if (!c) throw new Error(`${p.name} is not running`);
        return { host: c.getHost(), port: c.getMappedPort(port) };
      };
      const adminEp = (name?: string) => published(proxyNode(name), adminPortOf(proxyNode(name)));
      const listenerEp = (name?: string, port?: number) =>
        published(proxyNode(name), listenerPort(proxyNode(name), port));

      const stop = async () => {
        const all = [...proxies.values(), ...echos.values()];
        proxies.clear();
        echos.clear();
        await Promise.all(all.map((c) => c.stop({ timeout: 2_000 }).catch(() => undefined)));
        await docker(["network", "rm", network]).catch(() => "");
      };

      try {
        await Promise.all(topology.echos.filter((e) => !e.deferred).map((e) => startEcho(e.name)));
        const order = [...topology.proxies].sort((x, y) => Number(!!y.sidecarOf) - Number(!!x.sidecarOf));
        for (const p of order) await startProxy(p);
        await waitUntil(
          `${topology.id} answers through ${topology.entry}`,
          async () => {
            const r = await request(listenerEp(), probePath(topology), { timeoutMs: 5_000 });
            return r.headers["x-echo-instance"] !== undefined;
          },
          CONSISTENTLY,
        );
      } catch (err) {
        await stop();
        throw err;
      }

      return {
        topology,
        target,
        listener: listenerEp,
        admin: adminEp,
        echo: (name) => {
          const c = echos.get(name);
          if (!c) throw new Error(`echo ${name} is not running`);
          return { host: c.getHost(), port: c.getMappedPort(ECHO_PORT) };
        },
        startEcho,
        async stopEcho(name) {
          const c = echos.get(name);
          echos.delete(name);
          await c?.stop({ timeout: 2_000 });
        },
        runningEchos: () => [...echos.keys()],
        async writeProxyFile(name, doc, proxy) {
          const p = proxyNode(proxy);
          const dir = xdsDirs.get(p.name);
          if (dir === undefined) throw new Error(`proxy ${p.name} has no LDS/CDS files`);
          writeAtomically(dir, name, renderDiscovery(doc, target));
        },
        stop,
      };
    },
    async close() {
      await removeLabelled(runId);
      rmSync(hostDir, { recursive: true, force: true });
    },
  };
  return driver;
}
