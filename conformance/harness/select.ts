/**
 * Choosing the driver: containers when a Docker engine answers and the local image builds, else
 * processes on loopback. ECHOMESH_DRIVER=containers|processes forces one. The reason is always kept
 * (printed and in the report): the suite never skips silently.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { buildLocalImage, dockerUnavailable } from "./docker.js";
import { echoMain, proxyMain } from "./targets.js";
import type { Driver } from "./types.js";

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/** The process driver runs dist/: build it once if it is missing. */
export async function ensureBuilt(): Promise<void> {
  if (existsSync(echoMain) && existsSync(proxyMain)) return;
  await run("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: repoRoot, timeout: 300_000 }).catch(
    () => undefined,
  );
}

export async function selectDriver(wanted = process.env.ECHOMESH_DRIVER ?? "auto"): Promise<Driver> {
  if (wanted !== "auto" && wanted !== "containers" && wanted !== "processes") {
    throw new Error(`ECHOMESH_DRIVER=${wanted}: use containers, processes or auto`);
  }
  const processes = async (reason: string) => {
    await ensureBuilt();
    const { processDriver } = await import("./driver-processes.js");
    return processDriver(reason);
  };
  if (wanted === "processes") return processes("ECHOMESH_DRIVER=processes");

  const noDocker = await dockerUnavailable();
  if (noDocker) {
    if (wanted === "containers") throw new Error(`ECHOMESH_DRIVER=containers but ${noDocker}`);
    return processes(`no Docker engine (${noDocker})`);
  }
  let image: string;
  try {
    image = await buildLocalImage();
  } catch (err) {
    const msg = String((err as { stderr?: string }).stderr || (err as Error).message)
      .trim()
      .split("\n")
      .slice(-3)
      .join(" | ");
    if (wanted === "containers")
      throw new Error(`ECHOMESH_DRIVER=containers but the image did not build: ${msg}`);
    return processes(`Docker answers but scripts/build-local-image.sh failed: ${msg}`);
  }
  process.env.ECHOMESH_IMAGE = image;
  const { containerDriver } = await import("./driver-containers.js");
  return containerDriver(`Docker answers and ${image} built`, image);
}
