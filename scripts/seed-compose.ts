#!/usr/bin/env node
/**
 * Helpers of scripts/seed-compose.sh (the seed's two docker-compose setups, run with our image):
 *
 *   node dist/scripts/seed-compose.js prepare WORKDIR IMAGE
 *       writes WORKDIR/part1 (the post's "simple-proxy.yaml" compose file, front Envoy + two
 *       zcong/echo) and WORKDIR/part2 (its docker-compose.yml, the sidecar mesh), each as published
 *       but for its `image:` lines (IMAGE), plus the files those compose files read (see prepare());
 *       prints where each published file came from
 *   node dist/scripts/seed-compose.js ws URL [MESSAGE]
 *       one WebSocket round trip: connects, sends MESSAGE, expects the same text back; exit 0 or 1
 *
 * The published files: the Envoy configs and the compose files in seeds/ (byte for byte as the post
 * has them), or in ECHOMESH_SEED_DIR when it is set.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parse, stringify } from "yaml";
import { packageRoot } from "../lib/paths.js";

const ROOT = packageRoot;

/** zcong/echo's port: the echo in every service container listens here. */
const ECHO_PORT = 8080;

/** The folders searched for a published file, in order. */
export function seedDirs(env: NodeJS.ProcessEnv = process.env, root = ROOT): string[] {
  const dirs = [join(root, "seeds")];
  return env.ECHOMESH_SEED_DIR ? [resolve(env.ECHOMESH_SEED_DIR), ...dirs] : dirs;
}

/** The path of a published file (the first folder that has it). */
export function findSeedFile(name: string, dirs: readonly string[] = seedDirs()): string {
  for (const dir of dirs) {
    const file = join(dir, name);
    if (existsSync(file)) return file;
  }
  throw new Error(`the seed's ${name} is in none of: ${dirs.join(", ")}`);
}

/** Every `image:` line names `image` instead; nothing else changes. */
export function swapImages(compose: string, image: string): string {
  return compose.replace(/^(\s*image:\s*)\S.*$/gm, (_m, lead: string) => `${lead}${image}`);
}

/**
 * Host ports published (`"9000:80"`, `"8001:8001"`) moved to other host ports, for a machine where the
 * post's are taken (ECHOMESH_SEED_PORT, ECHOMESH_SEED_ADMIN_PORT); unset: unchanged.
 */
export function movePorts(compose: string, port?: string, adminPort?: string): string {
  let out = compose;
  if (port) out = out.replace(/"9000:80"/g, `"${port}:80"`);
  if (adminPort) out = out.replace(/"8001:8001"/g, `"${adminPort}:8001"`);
  return out;
}

interface EnvoyHost {
  socket_address: { address: string; port_value: number };
}
interface SeedDoc {
  static_resources: { clusters: Array<{ http2_protocol_options?: unknown; hosts: EnvoyHost[] }> };
}

/**
 * The sidecar as published is a copy of the front proxy's file: its cluster is service1:80 and
 * service2:80 (the sidecars themselves, a loop) over HTTP/2, which zcong/echo does not speak. The one
 * documented fix (seeds/README.md, lib/topology/catalog.ts seedMesh): the cluster is the sidecar's own
 * echo, 127.0.0.1:8080, over HTTP/1.1. Everything else stays as published.
 */
export function fixSidecar(published: string): string {
  const doc = parse(published) as SeedDoc;
  for (const cluster of doc.static_resources.clusters) {
    delete cluster.http2_protocol_options;
    cluster.hosts = [{ socket_address: { address: "127.0.0.1", port_value: ECHO_PORT } }];
  }
  return stringify(doc);
}

/**
 * Part 1's Envoy file: the post mounts a `simple-proxy.yaml` it does not show. Its text says it routes
 * everything on 0.0.0.0:80 round robin to the two echo services (port 8080, their `expose`), HTTP/1.1
 * to HTTP/1.1, with the `/ws` route it adds next: the front's file (proxy-envoy.yaml) without the
 * HTTP/2 upstream, to the echoes' port.
 */
export function simpleProxy(front: string): string {
  const doc = parse(front) as SeedDoc;
  for (const cluster of doc.static_resources.clusters) {
    delete cluster.http2_protocol_options;
    for (const host of cluster.hosts) host.socket_address.port_value = ECHO_PORT;
  }
  return stringify(doc);
}

/**
 * The post's Dockerfile-service (FROM zcong/echo + FROM envoyproxy/envoy-alpine, copies the echo binary
 * and runs start.sh: the echo in the background, then `envoy -c /etc/service-envoy.yaml
 * --service-cluster service${SERVICE_NAME}`) with our image: one image has both programs, and its
 * `sidecar` command is that start.sh (no shell in the image).
 */
export function dockerfileService(image: string): string {
  return [
    "# The post's Dockerfile-service with echomesh: zcong/echo and envoyproxy/envoy-alpine are one image,",
    "# and its `sidecar` command is start.sh (the echo, and the proxy with -c /etc/service-envoy.yaml",
    "# --service-cluster service$SERVICE_NAME).",
    `FROM ${image}`,
    'CMD ["sidecar"]',
    "",
  ].join("\n");
}

export interface Prepared {
  part1: string;
  part2: string;
  sources: Record<string, string>;
}

/** Writes both setups under `workDir` (see the file's comment). */
export function prepare(workDir: string, image: string, env: NodeJS.ProcessEnv = process.env): Prepared {
  const dirs = seedDirs(env);
  const sources: Record<string, string> = {};
  const read = (name: string) => {
    const file = findSeedFile(name, dirs);
    sources[name] = file;
    return readFileSync(file, "utf8");
  };
  const compose = (text: string) =>
    movePorts(swapImages(text, image), env.ECHOMESH_SEED_PORT, env.ECHOMESH_SEED_ADMIN_PORT);
  const front = read("proxy-envoy.yaml");

  const part1 = join(workDir, "part1");
  mkdirSync(part1, { recursive: true });
  // The post calls part 1's compose file "simple-proxy.yaml"; it mounts ./simple-proxy.yaml as Envoy's
  // config, so here the compose file is docker-compose.yml and simple-proxy.yaml is the Envoy file.
  writeFileSync(join(part1, "docker-compose.yml"), compose(read("simple-proxy.yaml")));
  writeFileSync(join(part1, "simple-proxy.yaml"), simpleProxy(front));

  const part2 = join(workDir, "part2");
  mkdirSync(part2, { recursive: true });
  writeFileSync(join(part2, "docker-compose.yml"), compose(read("docker-compose.yml")));
  writeFileSync(join(part2, "proxy-envoy.yaml"), front);
  writeFileSync(join(part2, "service-envoy.yaml"), fixSidecar(read("service-envoy.yaml")));
  writeFileSync(join(part2, "Dockerfile-service"), dockerfileService(image));
  return { part1, part2, sources };
}

/** One WebSocket round trip; resolves with the text that came back. */
export async function wsRoundTrip(url: string, message: string, timeoutMs = 10_000): Promise<string> {
  const { WebSocket } = await import("ws");
  return new Promise((resolvePromise, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no echo within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.on("open", () => ws.send(message));
    ws.on("message", (data) => {
      clearTimeout(timer);
      ws.close();
      resolvePromise(data.toString());
    });
    ws.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === "prepare" && args.length === 2) {
    const [workDir, image] = args as [string, string];
    const p = prepare(workDir, image);
    for (const [name, file] of Object.entries(p.sources))
      process.stdout.write(`published ${name}: ${file}\n`);
    return 0;
  }
  if (command === "ws" && (args.length === 1 || args.length === 2)) {
    const [url, message = `hello from seed-compose ${Date.now()}`] = args as [string, string?];
    try {
      const back = await wsRoundTrip(url, message);
      process.stdout.write(`ws ${url}: sent "${message}", got "${back}"\n`);
      return back === message ? 0 : 1;
    } catch (err) {
      process.stdout.write(`ws ${url}: ${(err as Error).message}\n`);
      return 1;
    }
  }
  process.stderr.write("usage: seed-compose.js prepare WORKDIR IMAGE | ws URL [MESSAGE]\n");
  return 2;
}

const started = process.argv[1];
if (started !== undefined && /^seed-compose\.[cm]?js$/.test(basename(started))) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
