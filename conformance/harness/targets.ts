/**
 * Targets: the proxy implementation under test, as a small adapter. Add yours here (or build one with
 * `imageTarget`) and select it with ECHOMESH_TARGET=<name> (or several: ECHOMESH_TARGETS=a,b).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { findEnvoy } from "../../lib/envoy.js";
import { fromDist } from "../../lib/paths.js";
import { brokenKinds, miniTarget } from "../broken/targets.js";
import { buildEnvoyImage } from "./docker.js";
import { dnsMapArgs, envoyArgs } from "./render.js";
import type { Target } from "./types.js";

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

function echomesh(name: string, dialect: "v2" | "v3", description: string): Target {
  return {
    name,
    description,
    dialect,
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
export function imageTarget(name: string, image: string | undefined, dialect: "v2" | "v3"): Target {
  return {
    name,
    description: `${image ?? "(no image set)"} with ${dialect} configs`,
    dialect,
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
    dialect: "v3",
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

export function targets(): Target[] {
  return [
    echomesh("echomesh", "v2", "this repo's proxy with the seed's v2 configs"),
    echomesh("echomesh-v3", "v3", "this repo's proxy with the same configs translated to v3"),
    envoyTarget(),
    imageTarget(
      "image",
      process.env.ECHOMESH_TARGET_IMAGE,
      process.env.ECHOMESH_TARGET_DIALECT === "v2" ? "v2" : "v3",
    ),
    miniTarget("none"),
    ...brokenKinds.map(miniTarget),
  ];
}

/** What `npm test` and `npm run conformance` run: our proxy with v2 and with v3 configs, and Envoy. */
export const DEFAULT_TARGETS = ["echomesh", "echomesh-v3", "envoy"];

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
