/**
 * Docker plumbing for the container driver: is an engine there, build the local images (the app's and
 * Envoy's), and remove what earlier runs left (every container and network the suite makes carries
 * RUN_LABEL; a run is stale when the process that made it is gone).
 */
import { execFile } from "node:child_process";
import { hostname } from "node:os";
import { promisify } from "node:util";
import { fromRoot, packageRoot } from "../../lib/paths.js";

const run = promisify(execFile);

export const RUN_LABEL = "org.echomesh.conformance";
export const OWNER_LABEL = "org.echomesh.conformance.owner";

/** Labels for everything this run creates: the run id and `<host>:<pid>` of its owner. */
export function runLabels(runId: string): Record<string, string> {
  return { [RUN_LABEL]: runId, [OWNER_LABEL]: `${hostname()}:${process.pid}` };
}

export async function docker(args: string[], timeoutMs = 60_000): Promise<string> {
  const { stdout } = await run("docker", args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

/** Null when a Docker engine answers, else why not. */
export async function dockerUnavailable(): Promise<string | null> {
  try {
    await docker(["info", "--format", "{{.ServerVersion}}"], 15_000);
    return null;
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message?: string };
    if (e.code === "ENOENT") return "no `docker` command on PATH";
    return `\`docker info\` failed: ${(e.stderr || e.message || "").trim().split("\n")[0]}`;
  }
}

/**
 * Build the app image with the repo's script; returns the tag it prints on its last line. The script
 * skips its own build of dist/ (ECHOMESH_SKIP_BUILD=1): the `conformance` vitest project's global
 * setup has just built it.
 */
export async function buildLocalImage(): Promise<string> {
  const script = fromRoot("scripts", "build-local-image.sh");
  const { stdout } = await run("bash", [script], {
    cwd: packageRoot,
    timeout: 600_000,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, ECHOMESH_SKIP_BUILD: "1" },
  });
  const tag = stdout.trim().split("\n").pop()?.trim();
  if (!tag) throw new Error(`${script} printed no image tag`);
  return tag;
}

/**
 * Build the Envoy image from a local Envoy binary with scripts/build-envoy-image.sh (FROM scratch, the
 * binary and the libraries `ldd` lists; no registry); returns the content-hash tag it prints last.
 */
export async function buildEnvoyImage(envoyBin: string): Promise<string> {
  const script = fromRoot("scripts", "build-envoy-image.sh");
  const { stdout } = await run("bash", [script], {
    cwd: packageRoot,
    timeout: 600_000,
    maxBuffer: 16 * 1024 * 1024,
    env: { ...process.env, ECHOMESH_ENVOY_BIN: envoyBin },
  });
  const tag = stdout.trim().split("\n").pop()?.trim();
  if (!tag) throw new Error(`${script} printed no image tag`);
  return tag;
}

function alive(owner: string): boolean {
  const [host, pid] = owner.split(":");
  if (host !== hostname()) return true; // another machine's run on a shared engine: not ours to judge
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Remove containers and networks labelled by the suite whose owning process is gone, plus (when
 * given) everything of `runId`. Returns how many of each it removed.
 */
export async function removeLabelled(runId?: string): Promise<{ containers: number; networks: number }> {
  const stale = async (kind: "container" | "network") => {
    const list = kind === "container" ? ["ps", "-a"] : ["network", "ls"];
    const lines = await docker([
      ...list,
      "--filter",
      `label=${RUN_LABEL}`,
      "--format",
      `{{.ID}} {{.Label "${RUN_LABEL}"}} {{.Label "${OWNER_LABEL}"}}`,
    ]);
    return lines
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(" "))
      .filter(([, run, owner]) => (runId !== undefined && run === runId) || !alive(owner ?? ""))
      .map(([id]) => id ?? "");
  };
  const containers = await stale("container");
  if (containers.length > 0) await docker(["rm", "-f", "-v", ...containers]).catch(() => "");
  const networks = await stale("network");
  for (const n of networks) await docker(["network", "rm", n]).catch(() => "");
  return { containers: containers.length, networks: networks.length };
}
