/**
 * The container driver's compose option (ECHOMESH_COMPOSE=1, or `containerDriver(..., { compose: true })`):
 * the two topologies that are the seed itself, `front` (the post's part 1) and `mesh` (part 2), are
 * started from the post's own docker-compose files by testcontainers' `DockerComposeEnvironment`
 * (Debian's docker-compose 1.29, standalone) instead of one container at a time. The files are the ones
 * scripts/seed-compose.sh runs (scripts/seed-compose.ts `prepare`): as published but for their `image:`
 * lines, the sidecar's one documented fix and part 2's Dockerfile-service on our image. Two more things
 * for the suite, so runs never collide and every echo is reachable:
 *
 * - the post's host ports 9000 and 8001 are moved to free ports (ECHOMESH_SEED_PORT/_ADMIN_PORT);
 * - an override file (docker-compose.echomesh.yml) gives each service the suite's labels (stale runs
 *   are removed by label, as the container driver's), the echo's name and settings (INSTANCE, the
 *   suite's echo env) and publishes the echo's 8080 and, in the mesh, the sidecar's admin 8001 on
 *   127.0.0.1 (tests read the echoes' metrics and the sidecars' stats).
 *
 * It applies only where the compose files say what the target runs: our image (the target's image is
 * the echo image) reading the seed's v2 configs, with no transform. Other topologies and targets use
 * the container driver as before.
 */
import { execFile } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { freePort } from "../../lib/net.js";
import { waitUntil } from "../../lib/wait.js";
import { prepare } from "../../scripts/seed-compose.js";
import { CONSISTENTLY, request } from "./client.js";
import { docker } from "./docker.js";
import { ECHO_PORT, probePath } from "./topologies.js";
import type { Endpoint, RunningTopology, Target, Topology } from "./types.js";

const run = promisify(execFile);

/** The topologies that are the seed's compose setups: topology id -> the post's part. */
export const COMPOSE_PARTS: Readonly<Record<string, 1 | 2>> = { front: 1, mesh: 2 };

/** The sidecar admin port inside a service container (the seed's 8001). */
const SIDECAR_ADMIN = 8001;

/** Whether `topology` on `target` can run from the seed's compose files. */
export function composeUsable(topology: Topology, target: Target, echoImage: string): boolean {
  return (
    COMPOSE_PARTS[topology.id] !== undefined &&
    target.image === echoImage &&
    target.dialect === "envoy-v2" &&
    target.transform === undefined
  );
}

/** Null when Debian's docker-compose (v1, standalone) runs, else why not. */
export async function composeUnavailable(): Promise<string | null> {
  try {
    await run("docker-compose", ["version", "--short"], { timeout: 20_000 });
    return null;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return e.code === "ENOENT" ? "no `docker-compose` on PATH" : `docker-compose: ${e.message ?? err}`;
  }
}

/** The override file: labels, the echo's name and env, and the ports the suite reads, per service. */
export function composeOverride(
  topology: Topology,
  labels: Record<string, string>,
): { version: string; services: Record<string, unknown> } {
  const services: Record<string, unknown> = {};
  const sidecar = (service: string) => topology.proxies.some((p) => p.sidecarOf === service);
  for (const e of topology.echos) {
    services[e.name] = {
      labels,
      // KEY=value strings: docker-compose reads YAML 1.1, where a bare `off` would be a boolean
      environment: Object.entries({ INSTANCE: e.name, ...e.env }).map(([k, v]) => `${k}=${v}`),
      ports: [`127.0.0.1::${ECHO_PORT}`, ...(sidecar(e.name) ? [`127.0.0.1::${SIDECAR_ADMIN}`] : [])],
    };
  }
  const entry = COMPOSE_PARTS[topology.id] === 1 ? "proxy" : "front-envoy";
  services[entry] = { labels };
  return { version: "2", services };
}

export interface ComposeStart {
  topology: Topology;
  target: Target;
  image: string;
  labels: Record<string, string>;
  /** Unique among concurrent runs: the compose project name. */
  project: string;
  /** Scratch folder for the compose files (removed by stop()). */
  workDir: string;
}

/** Starts `front` or `mesh` from the seed's compose files; the same RunningTopology as the container driver's. */
export async function startCompose(o: ComposeStart): Promise<RunningTopology> {
  const { DockerComposeEnvironment, Wait } = await import("testcontainers");
  const part = COMPOSE_PARTS[o.topology.id];
  if (part === undefined) throw new Error(`topology ${o.topology.id} has no compose file`);
  const port = await freePort();
  const adminPort = await freePort();
  mkdirSync(o.workDir, { recursive: true });
  const prepared = prepare(o.workDir, o.image, {
    ...process.env,
    ECHOMESH_SEED_PORT: String(port),
    ECHOMESH_SEED_ADMIN_PORT: String(adminPort),
  });
  const dir = part === 1 ? prepared.part1 : prepared.part2;
  const override = "docker-compose.echomesh.yml";
  writeFileSync(join(dir, override), stringify(composeOverride(o.topology, o.labels)));

  const environment = await new DockerComposeEnvironment(dir, ["docker-compose.yml", override])
    .withProjectName(o.project)
    .withBuild()
    .withClientOptions({ executable: { standalone: true } })
    .withEnvironment({ DOCKER_BUILDKIT: "0", COMPOSE_DOCKER_CLI_BUILD: "0" })
    .withDefaultWaitStrategy(Wait.forAll([]))
    .up();

  const ids = new Map<string, string>();
  for (const line of (
    await docker([
      "ps",
      "-a",
      "--filter",
      `label=com.docker.compose.project=${o.project}`,
      "--format",
      '{{.ID}} {{.Label "com.docker.compose.service"}}',
    ])
  ).split("\n")) {
    const [id, service] = line.split(" ");
    if (id && service) ids.set(service, id);
  }
  const idOf = (service: string) => {
    const id = ids.get(service);
    if (id === undefined) throw new Error(`compose project ${o.project} has no service ${service}`);
    return id;
  };
  const published = new Map<string, Endpoint>();
  const readPorts = async () => {
    for (const e of o.topology.echos) {
      const id = idOf(e.name);
      const at = async (p: number) => {
        const out = await docker(["port", id, `${p}/tcp`]);
        return { host: "127.0.0.1", port: Number(out.split("\n")[0]?.split(":").pop()) };
      };
      published.set(`echo:${e.name}`, await at(ECHO_PORT));
      if (o.topology.proxies.some((p) => p.sidecarOf === e.name))
        published.set(`admin:${e.name}`, await at(SIDECAR_ADMIN));
    }
  };
  const running = new Set(o.topology.echos.map((e) => e.name));

  const stop = async () => {
    await environment.down({ removeVolumes: true, timeout: 2_000 }).catch(() => undefined);
    const built = o.topology.echos.map((e) => `${o.project}_${e.name}`);
    if (part === 2) await docker(["rmi", "-f", ...built]).catch(() => "");
    rmSync(o.workDir, { recursive: true, force: true });
  };

  const listener = (name?: string): Endpoint => {
    if (name !== undefined && name !== o.topology.entry)
      throw new Error(`${name}: only the entry proxy's listener is published by the compose files`);
    return { host: "127.0.0.1", port };
  };
  const admin = (name?: string): Endpoint => {
    if (name === undefined || name === o.topology.entry) return { host: "127.0.0.1", port: adminPort };
    const p = o.topology.proxies.find((x) => x.name === name);
    const ep = p?.sidecarOf === undefined ? undefined : published.get(`admin:${p.sidecarOf}`);
    if (ep === undefined) throw new Error(`no admin published for ${name}`);
    return ep;
  };

  try {
    await readPorts();
    await waitUntil(
      `${o.topology.id} (compose) answers through ${o.topology.entry}`,
      async () => {
        const r = await request(listener(), probePath(o.topology), { timeoutMs: 5_000 });
        return r.headers["x-echo-instance"] !== undefined;
      },
      CONSISTENTLY,
    );
  } catch (err) {
    const logs = await run("docker-compose", ["-p", o.project, "logs", "--tail", "20"], { cwd: dir }).then(
      (r) => r.stdout,
      () => "",
    );
    await stop();
    throw new Error(`${(err as Error).message}\n${logs}`);
  }

  return {
    topology: o.topology,
    target: o.target,
    listener,
    admin,
    echo(name) {
      const ep = published.get(`echo:${name}`);
      if (ep === undefined || !running.has(name)) throw new Error(`echo ${name} is not running`);
      return ep;
    },
    async startEcho(name) {
      await docker(["start", idOf(name)]);
      running.add(name);
      await readPorts(); // a restarted container gets new host ports
    },
    async stopEcho(name) {
      running.delete(name);
      await docker(["stop", "-t", "2", idOf(name)]);
    },
    runningEchos: () => [...running],
    async writeProxyFile() {
      throw new Error(`the compose topologies (${o.topology.id}) have no LDS/CDS files`);
    },
    stop,
  };
}
