/**
 * Targets: the proxy implementation under test, as a small adapter. Add yours here (or build one with
 * `imageTarget`) and select it with ECHOMESH_TARGET=<name>.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fromDist } from "../../lib/paths.js";
import { brokenKinds, miniTarget } from "../broken/targets.js";
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
      if (!image) {
        return name === "envoy"
          ? "no image: set ECHOMESH_ENVOY_IMAGE (e.g. envoyproxy/envoy:v1.31-latest)"
          : "no image: set ECHOMESH_TARGET_IMAGE (and ECHOMESH_TARGET_DIALECT=v2|v3)";
      }
      if (driver !== "containers") return `${image} needs the container driver (Docker), which is not in use`;
      if (!(await imagePresent(image))) {
        try {
          await run("docker", ["pull", image], { timeout: 120_000 });
        } catch (err) {
          const msg = String((err as { stderr?: string }).stderr ?? err)
            .trim()
            .split("\n")[0];
          return `image ${image} is not present and cannot be pulled: ${msg}`;
        }
      }
      return null;
    },
  };
}

export function targets(): Target[] {
  return [
    echomesh("echomesh", "v2", "this repo's proxy with the seed's v2 configs"),
    echomesh("echomesh-v3", "v3", "this repo's proxy with the same configs translated to v3"),
    imageTarget("envoy", process.env.ECHOMESH_ENVOY_IMAGE, "v3"),
    imageTarget(
      "image",
      process.env.ECHOMESH_TARGET_IMAGE,
      process.env.ECHOMESH_TARGET_DIALECT === "v2" ? "v2" : "v3",
    ),
    miniTarget("none"),
    ...brokenKinds.map(miniTarget),
  ];
}

export function selectTarget(name = process.env.ECHOMESH_TARGET ?? "echomesh"): Target {
  const found = targets().find((t) => t.name === name);
  if (!found) {
    throw new Error(
      `ECHOMESH_TARGET=${name}: unknown; known: ${targets()
        .map((t) => t.name)
        .join(", ")}`,
    );
  }
  return found;
}
