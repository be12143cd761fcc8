/**
 * Choosing the driver: containers when a Docker engine answers and the local image builds, else
 * processes on loopback. ECHOMESH_DRIVER=containers|processes forces one. The reason is always kept
 * (printed and in the report): the suite never skips silently. Both drivers run `dist/`, which the
 * `conformance` vitest project's global setup has just built (incremental `tsc -b`).
 */
import { buildLocalImage, dockerUnavailable } from "./docker.js";
import type { Driver, Target } from "./types.js";

/**
 * The driver a target runs with in a run whose driver is `main`: `main` when the target can use it,
 * else a process driver (created once per run by `processes`).
 */
export async function driverFor(
  target: Target,
  main: Driver,
  processes: () => Promise<Driver>,
): Promise<Driver> {
  return target.drivers === undefined || target.drivers.includes(main.name) ? main : processes();
}

export async function selectDriver(wanted = process.env.ECHOMESH_DRIVER ?? "auto"): Promise<Driver> {
  if (wanted !== "auto" && wanted !== "containers" && wanted !== "processes") {
    throw new Error(`ECHOMESH_DRIVER=${wanted}: use containers, processes or auto`);
  }
  const processes = async (reason: string) => {
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
