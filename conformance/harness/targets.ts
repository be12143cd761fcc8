/**
 * Targets: the proxy implementation under test, as a small adapter. Add yours here (or build one with
 * `imageTarget`) and select it with ECHOMESH_TARGET=<name> (or several: ECHOMESH_TARGETS=a,b).
 */
import { execFile } from "node:child_process";
import { dirname } from "node:path";
import { promisify } from "node:util";
import { findEnvoy } from "../../lib/envoy.js";
import { fromDist } from "../../lib/paths.js";
import { brokenKinds, miniTarget } from "../broken/targets.js";
import { buildEnvoyImage } from "./docker.js";
import { ALL_FEATURES } from "./features.js";
import { dnsMapArgs, envoyArgs } from "./render.js";
import type { Feature, Target } from "./types.js";

const run = promisify(execFile);

/** The app image built by scripts/build-local-image.sh (echo and proxy in one FROM-scratch image). */
export function localImage(): string {
  return process.env.ECHOMESH_IMAGE ?? "echomesh:local";
}

/** Our proxy as the process driver runs it (built by the `conformance` project's global setup). */
const proxyMain = fromDist("proxy/main.js");

export async function imagePresent(image: string): Promise<boolean> {
  try {
    await run("docker", ["image", "inspect", image], { timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

function echomesh(name: string, dialect: "envoy-v2" | "envoy-v3", description: string): Target {
  return {
    name,
    description,
    dialect,
    features: ALL_FEATURES,
    image: localImage(),
    configPath: "/etc/front-envoy.yaml",
    // The seed's command line with only the program changed.
    containerCommand: (config, serviceCluster) => [
      "/usr/local/bin/envoy",
      ...envoyArgs(config, serviceCluster),
    ],
    processCommand: (config, serviceCluster, dnsMap) => [
      process.execPath,
      proxyMain,
      ...envoyArgs(config, serviceCluster),
      "--drain-time-s",
      "1",
      ...dnsMapArgs(dnsMap),
    ],
    async unavailable() {
      return null;
    },
  };
}

/** Any Envoy-compatible image that takes Envoy's command line (`-c FILE --service-cluster X`). */
export function imageTarget(
  name: string,
  image: string | undefined,
  dialect: "envoy-v2" | "envoy-v3",
): Target {
  return {
    name,
    description: `${image ?? "(no image set)"} with ${dialect} configs`,
    dialect,
    features: ALL_FEATURES,
    image: image ?? null,
    configPath: "/etc/envoy/envoy.yaml",
    containerCommand: (config, serviceCluster) => ["envoy", ...envoyArgs(config, serviceCluster)],
    processCommand: null,
    async unavailable(driver) {
      if (!image) return "no image: set ECHOMESH_TARGET_IMAGE (and ECHOMESH_TARGET_DIALECT=v2|v3)";
      if (driver !== "containers") return `${image} needs the container driver (Docker), which is not in use`;
      return pullIfMissing(image);
    },
  };
}

/** Null when `image` is present or could be pulled, else why not. */
async function pullIfMissing(image: string): Promise<string | null> {
  if (await imagePresent(image)) return null;
  try {
    await run("docker", ["pull", image], { timeout: 120_000 });
    return null;
  } catch (err) {
    return `image ${image} is not present and cannot be pulled: ${firstLine(err)}`;
  }
}

function firstLine(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (
    String(e.stderr || e.message || err)
      .trim()
      .split("\n")[0] ?? ""
  );
}

/**
 * Envoy's command line beyond the seed's: no hot restart, so several Envoys run at once on one machine
 * (each would otherwise claim the same shared memory and domain socket, base id 0), and warnings only.
 */
export const ENVOY_EXTRA_ARGS = ["--disable-hot-restart", "--log-level", "warn"];

/** `envoy --version` prints `.../1.40.0/Clean/RELEASE/BoringSSL`. */
const versionOf = (out: string) => /\/(\d+\.\d+\.\d+)\//.exec(out)?.[1];

/**
 * The reference: real Envoy with the topologies in v3. Processes: the binary `findEnvoy()` resolves
 * (ECHOMESH_ENVOY_BIN, the checkout's venv, PATH), names asked of the driver's DNS server
 * (`typed_dns_resolver_config`; Envoy takes no `--dns-map`, the driver's map is not passed). Containers: ECHOMESH_ENVOY_IMAGE when set, else an image built offline from that same
 * binary by scripts/build-envoy-image.sh. Without an Envoy the target is unavailable with the reason.
 */
function envoyTarget(): Target {
  const preset = process.env.ECHOMESH_ENVOY_IMAGE || undefined;
  let version: string | undefined;
  const target: Target = {
    name: "envoy",
    description: "Envoy, the reference (v3 configs)",
    dialect: "envoy-v3",
    features: ALL_FEATURES,
    image: preset ?? null,
    configPath: "/etc/envoy/envoy.yaml",
    containerCommand: (config, serviceCluster) => [
      "envoy",
      ...envoyArgs(config, serviceCluster),
      ...ENVOY_EXTRA_ARGS,
    ],
    processCommand: (config, serviceCluster) => {
      const envoy = findEnvoy();
      if (!envoy.found) throw new Error(envoy.reason);
      return [envoy.path, ...envoyArgs(config, serviceCluster), ...ENVOY_EXTRA_ARGS];
    },
    async unavailable(driver) {
      if (driver === "containers" && preset) {
        const missing = await pullIfMissing(preset);
        if (missing) return missing;
        try {
          const { stdout } = await run("docker", ["run", "--rm", preset, "envoy", "--version"], {
            timeout: 60_000,
          });
          version = versionOf(stdout);
        } catch (err) {
          return `${preset} does not run \`envoy --version\`: ${firstLine(err)}`;
        }
        target.description = `Envoy ${version ?? "(unknown version)"}, image ${preset} (ECHOMESH_ENVOY_IMAGE), v3 configs`;
        return null;
      }
      const envoy = findEnvoy();
      if (!envoy.found) return envoy.reason;
      version = envoy.version;
      if (driver === "processes") {
        target.description = `Envoy ${version} (${envoy.path}, from ${envoy.from}), v3 configs`;
        return null;
      }
      try {
        target.image = await buildEnvoyImage(envoy.path);
      } catch (err) {
        return `scripts/build-envoy-image.sh failed: ${firstLine(err)}`;
      }
      target.description = `Envoy ${version}, image ${target.image} built from ${envoy.path} (${envoy.from}), v3 configs`;
      return null;
    },
    versions: (): Record<string, string> => (version ? { envoy: version } : {}),
  };
  return target;
}

/** The first line of `argv`'s output (stdout or stderr), or undefined when it does not run. */
async function versionLine(argv: string[]): Promise<string | undefined> {
  try {
    const [cmd, ...args] = argv;
    const { stdout, stderr } = await run(cmd as string, args, { timeout: 10_000 });
    return `${stdout}${stderr}`.trim().split("\n")[0];
  } catch {
    return undefined;
  }
}

interface PeerSpec {
  name: string;
  dialect: "haproxy" | "nginx" | "caddy";
  program: string;
  description: string;
  features: Feature[];
  knownDefects?: Record<string, string>;
  /** Its command line for a config file (the file sits in the proxy's own work folder). */
  args(configPath: string): string[];
  versionArgs: string[];
  /** The version number in the version output. */
  versionOf(out: string): string | undefined;
  processEnv?: (workDir: string) => Record<string, string>;
  /** `inline` for a proxy that resolves names once at start (`Target.names`); default: asks the driver's DNS. */
  names?: "inline";
}

/**
 * A proxy people run instead of Envoy, installed from the distribution (`.ci/run` installs them):
 * configs rendered from the same topology specs in its own dialect, process driver only (no image).
 */
function peerTarget(peer: PeerSpec): Target {
  let version: string | undefined;
  const target: Target = {
    name: peer.name,
    description: peer.description,
    dialect: peer.dialect,
    features: peer.features,
    ...(peer.knownDefects === undefined ? {} : { knownDefects: peer.knownDefects }),
    ...(peer.processEnv === undefined ? {} : { processEnv: peer.processEnv }),
    ...(peer.names === undefined ? {} : { names: peer.names }),
    image: null,
    drivers: ["processes"],
    configPath: "",
    containerCommand: () => [],
    processCommand: (config) => [peer.program, ...peer.args(config)],
    async unavailable(driver) {
      if (driver !== "processes")
        return `${peer.name} runs with the process driver only (ECHOMESH_DRIVER=processes)`;
      const out = await versionLine([peer.program, ...peer.versionArgs]);
      if (out === undefined)
        return `${peer.program} is not installed (Debian: apt-get install ${peer.program})`;
      version = peer.versionOf(out);
      target.description = `${peer.description}, ${out}`;
      return null;
    },
    versions: (): Record<string, string> => (version ? { [peer.name]: version } : {}),
  };
  return target;
}

/** HAProxy, nginx and Caddy, each claiming what it does in the suite's sense (see each list). */
export const PEERS: PeerSpec[] = [
  {
    name: "haproxy",
    dialect: "haproxy",
    program: "haproxy",
    description: "HAProxy (lib/topology/haproxy.ts configs)",
    // All of the suite's proxy features; not Envoy's own headers nor the features whose tests read
    // Envoy's admin and Envoy-only config (health-check, outlier, circuit-breaker, retries, reload).
    features: [
      "round-robin",
      "weighted",
      "lb-weights",
      "dns-membership",
      "h2-upstream",
      "h2-downstream",
      "mesh",
      "headers",
      "framing",
      "websocket",
      "websocket-over-h2",
      // The tls-front topology; tls-mesh's sidecars check the client certificate's SAN, which a bind
      // cannot express (lib/topology/haproxy.ts): those tests are skipped with that reason.
      "tls",
    ],
    // Not local-replies: HAProxy answers no route, no server and a timeout itself, with its own bodies
    // (the tests assert Envoy's).
    knownDefects: {
      "hop-by-hop-dropped-direct":
        "HAProxy 2.6.12 forwards the hop-by-hop fields: the echo saw `connection: X-Drop-Me`, `keep-alive`, `proxy-connection`, `upgrade` and the field the Connection header names (`x-drop-me: 1`); RFC 9110 7.6.1 says a proxy removes them",
      "hop-by-hop-dropped-mesh":
        "HAProxy 2.6.12 forwards the field the Connection header names (`x-drop-me: 1` reached the echo through the mesh); RFC 9110 7.6.1 says a proxy removes it",
    },
    args: (config) => ["-db", "-f", config],
    versionArgs: ["-v"],
    versionOf: (out) => /version (\S+)/.exec(out)?.[1],
  },
  {
    name: "nginx",
    dialect: "nginx",
    program: "nginx",
    description: "nginx (lib/topology/nginx.ts configs)",
    // nginx 1.22 has no HTTP/2 to upstreams (no h2-upstream, mesh, websocket-over-h2), cannot serve
    // HTTP/1.1 and h2c on one port (no h2-downstream on the front's port), resolves upstream names
    // once at start (no dns-membership), and answers a refused upstream with 502, not Envoy's 503
    // (no local-replies).
    features: ["round-robin", "weighted", "lb-weights", "headers", "framing", "websocket"],
    knownDefects: {
      "hop-by-hop-dropped-direct":
        "nginx 1.22.1 forwards `proxy-connection: keep-alive` and the field the Connection header names (`x-drop-me: 1` reached the echo); RFC 9110 7.6.1 says a proxy removes them",
    },
    // nginx resolves upstream names once, with the system's resolver: the driver's addresses go in.
    names: "inline",
    args: (config) => ["-p", dirname(config), "-c", config],
    versionArgs: ["-v"],
    versionOf: (out) => /nginx\/(\S+)/.exec(out)?.[1],
  },
  {
    name: "caddy",
    dialect: "caddy",
    program: "caddy",
    description: "Caddy (lib/topology/caddy.ts configs)",
    // Caddy 2.6 has no weighted split between routes' upstream sets and no weighted round robin
    // (no weighted, lb-weights), and answers a refused upstream with 502 (no local-replies).
    features: [
      "round-robin",
      "dns-membership",
      "h2-upstream",
      "h2-downstream",
      "mesh",
      "headers",
      "framing",
      "websocket",
      "websocket-over-h2",
    ],
    knownDefects: Object.fromEntries(
      [
        "ws-text-binary-mesh",
        "ws-1mb-mesh",
        "ws-1000-in-order-mesh",
        "ws-ping-pong-mesh",
        "ws-close-codes-mesh",
        "ws-server-close-mesh",
        "ws-50-concurrent-mesh",
        "ws-none-left-open-mesh",
      ].map((id) => [
        id,
        "Caddy 2.6.2 answers a WebSocket handshake across its h2c upstream (the mesh's front -> sidecar hop) with 502 and an empty body (content-length 0) instead of 101; its log says `http2: invalid Upgrade request header: [\"websocket\"]`: Go's HTTP/2 transport refuses the upgrade (no RFC 8441). Measured by hand too (front -> h2c -> sidecar -> echo: 502; the sidecar alone over HTTP/1.1: 101). WebSockets work when routed over HTTP/1.1 (ws-*-direct pass)",
      ]),
    ),
    args: (config) => ["run", "--adapter", "caddyfile", "--config", config],
    versionArgs: ["version"],
    versionOf: (out) => /v?(\d+\.\d+\.\d+)/.exec(out)?.[1],
    // Caddy keeps state under HOME and the XDG folders: the proxy's own work folder.
    processEnv: (workDir) => ({ HOME: workDir, XDG_DATA_HOME: workDir, XDG_CONFIG_HOME: workDir }),
  },
];

export function targets(): Target[] {
  return [
    echomesh("echomesh", "envoy-v2", "this repo's proxy with the seed's v2 configs"),
    echomesh("echomesh-v3", "envoy-v3", "this repo's proxy with the same configs translated to v3"),
    envoyTarget(),
    imageTarget(
      "image",
      process.env.ECHOMESH_TARGET_IMAGE,
      process.env.ECHOMESH_TARGET_DIALECT === "v2" ? "envoy-v2" : "envoy-v3",
    ),
    ...PEERS.map(peerTarget),
    miniTarget("none"),
    ...brokenKinds.map(miniTarget),
  ];
}

/** The targets of the conformance matrix, in its column order (`--all-targets`). */
export const MATRIX_TARGETS = ["echomesh", "echomesh-v3", "envoy", "haproxy", "nginx", "caddy", "image"];

/**
 * What `npm test` and `npm run conformance` run: our proxy with v2 and with v3 configs, Envoy, and
 * the proxies people use instead (HAProxy, nginx, Caddy: process driver; unavailable when not
 * installed, with the reason). Together: the matrix.
 */
export const DEFAULT_TARGETS = ["echomesh", "echomesh-v3", "envoy", "haproxy", "nginx", "caddy"];

export function selectTarget(name: string): Target {
  const found = targets().find((t) => t.name === name);
  if (!found) {
    throw new Error(
      `target ${name}: unknown; known: ${targets()
        .map((t) => t.name)
        .join(", ")}`,
    );
  }
  return found;
}

/**
 * The targets of a run: ECHOMESH_TARGETS (a comma list), else ECHOMESH_TARGET (one), else
 * DEFAULT_TARGETS, in that order.
 */
export function selectTargets(
  list = process.env.ECHOMESH_TARGETS || process.env.ECHOMESH_TARGET || DEFAULT_TARGETS.join(","),
): Target[] {
  const names = list
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (new Set(names).size !== names.length) throw new Error(`targets ${list}: a target is named twice`);
  return names.map(selectTarget);
}
