/**
 * The container image: both Dockerfiles (echo/Dockerfile, from node:20-slim where a registry exists;
 * docker/Dockerfile.local, built here with no registry by scripts/build-local-image.sh) declare the same
 * runtime: labels, user, HEALTHCHECK, entry point. Then the locally built image carries the OCI labels,
 * runs as 10001, keeps zcong/echo's contract (port 8080, `command: echo`) and reports healthy through
 * its HEALTHCHECK (`docker inspect --format '{{.State.Health.Status}}'`) as the echo, the proxy (admin
 * /ready) and the sidecar, and unhealthy when the echo's health is switched to fail.
 * The Docker part is skipped, with the reason, when no Docker engine answers.
 */
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../../lib/wait.js";
import { fromRoot, packageRoot, SEEDS } from "../../test-support/paths.js";
import { fixSidecar } from "../seed-compose.js";

const run = promisify(execFile);
const LABEL = "org.echomesh.test=image";

async function docker(args: string[], timeoutMs = 60_000): Promise<string> {
  const { stdout } = await run("docker", args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

/** The instructions of a Dockerfile's last stage that define the runtime (continuation lines joined). */
function runtimeStage(path: string): string[] {
  const joined = readFileSync(path, "utf8")
    .replace(/\\\n\s*/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const lastFrom = joined.map((l) => l.startsWith("FROM ")).lastIndexOf(true);
  return joined
    .slice(lastFrom + 1)
    .filter((l) => /^(ARG|ENV|WORKDIR|USER|EXPOSE|LABEL|HEALTHCHECK|ENTRYPOINT|CMD) /.test(l));
}

describe("the two Dockerfiles", () => {
  const official = runtimeStage(fromRoot("echo", "Dockerfile"));
  const offline = runtimeStage(fromRoot("docker", "Dockerfile.local"));

  it("declare the same runtime: labels, user, healthcheck, entry point, port", () => {
    expect(offline).toEqual(official);
  });

  it("carry the OCI labels, a non-root user and a HEALTHCHECK", () => {
    const text = official.join("\n");
    for (const key of ["title", "description", "licenses", "version", "revision", "source"])
      expect(text).toContain(`org.opencontainers.image.${key}=`);
    expect(text).toContain('org.opencontainers.image.licenses="Apache-2.0"');
    expect(official).toContain("USER 10001:10001");
    expect(official).toContain("EXPOSE 8080");
    expect(official).toContain('CMD ["echo"]');
    expect(text).toMatch(
      /^HEALTHCHECK .*CMD \["\/usr\/local\/bin\/node", "\/app\/dist\/scripts\/healthcheck\.js"\]$/m,
    );
  });

  it("the official one builds from node:20-slim, the offline one from the local base", () => {
    const from = (p: string) => readFileSync(p, "utf8").match(/^FROM .*/gm) ?? [];
    expect(from(fromRoot("echo", "Dockerfile"))).toEqual(["FROM node:20-slim AS build", "FROM node:20-slim"]);
    expect(from(fromRoot("docker", "Dockerfile.local"))).toEqual([`FROM $\{BASE} AS build`, `FROM $\{BASE}`]);
  });
});

const noDocker = await docker(["info", "--format", "{{.ServerVersion}}"], 15_000).then(
  () => null,
  (err: Error) => `no Docker engine: ${err.message.split("\n")[0]}`,
);

describe.skipIf(noDocker !== null)("the locally built image", () => {
  let image = "";

  const cleanup = async () => {
    const ids = (await docker(["ps", "-aq", "--filter", `label=${LABEL}`])).split("\n").filter(Boolean);
    if (ids.length > 0) await docker(["rm", "-f", "-v", ...ids]).catch(() => "");
  };

  beforeAll(async () => {
    await cleanup();
    // the vitest global setup has just built dist/
    const { stdout } = await run("bash", [fromRoot("scripts", "build-local-image.sh")], {
      cwd: packageRoot,
      timeout: 300_000,
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, ECHOMESH_SKIP_BUILD: "1" },
    });
    image = stdout.trim().split("\n").pop() ?? "";
  }, 300_000);
  afterAll(cleanup);

  /** Starts a container probed every second; returns its id. */
  const start = (args: string[], command: string[]) =>
    docker([
      "run",
      "-d",
      "--label",
      LABEL,
      "--health-interval=1s",
      "--health-start-period=1s",
      "--health-timeout=5s",
      ...args,
      image,
      ...command,
    ]);
  /** The output of the newest health probe (Docker keeps the last five, oldest first). */
  const lastProbe = async (id: string): Promise<string> => {
    const log = JSON.parse(await docker(["inspect", "--format", "{{json .State.Health.Log}}", id])) as Array<{
      Output: string;
    }>;
    return log[log.length - 1]?.Output ?? "";
  };
  const health = (id: string) => docker(["inspect", "--format", "{{.State.Health.Status}}", id]);
  const becomes = async (id: string, status: string) => {
    try {
      await waitUntil(`container health ${status}`, async () => (await health(id)) === status, {
        withinMs: 30_000,
        intervalMs: 250,
      });
    } catch (err) {
      const log = await docker(["inspect", "--format", "{{json .State.Health}}", id]).catch(() => "");
      const out = await docker(["logs", "--tail", "20", id]).catch(() => "");
      throw new Error(`${(err as Error).message}\n${log}\n${out}`);
    }
  };

  it("carries the OCI labels, the package version and runs as 10001", async () => {
    const labels = JSON.parse(
      await docker(["image", "inspect", "--format", "{{json .Config.Labels}}", image]),
    );
    const version = JSON.parse(readFileSync(fromRoot("package.json"), "utf8")).version;
    expect(labels["org.opencontainers.image.licenses"]).toBe("Apache-2.0");
    expect(labels["org.opencontainers.image.version"]).toBe(version);
    expect(labels["org.opencontainers.image.revision"]).toMatch(/^([0-9a-f]{40}|unknown)$/);
    expect(labels["org.opencontainers.image.source"]).toMatch(/^https?:\/\//);
    expect(labels["org.opencontainers.image.title"]).toBe("echomesh");
    expect(labels["org.opencontainers.image.description"]).toContain("zcong/echo");
    expect(await docker(["image", "inspect", "--format", "{{.Config.User}}", image])).toBe("10001:10001");
    const healthcheck = JSON.parse(
      await docker(["image", "inspect", "--format", "{{json .Config.Healthcheck}}", image]),
    );
    expect(healthcheck.Test).toEqual(["CMD", "/usr/local/bin/node", "/app/dist/scripts/healthcheck.js"]);
  });

  it("`command: echo` on port 8080 reports healthy, answers, and turns unhealthy when told", async () => {
    const id = await start(["-p", "127.0.0.1::8080"], ["echo"]);
    await becomes(id, "healthy");
    const port = (await docker(["port", id, "8080/tcp"])).split("\n")[0]?.split(":").pop();
    const res = await fetch(`http://127.0.0.1:${port}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-echo-instance")).toBeTruthy();
    await fetch(`http://127.0.0.1:${port}/_echo/health?status=fail`, { method: "POST" });
    await becomes(id, "unhealthy");
  }, 90_000);

  it("the seed's front proxy command reports healthy (admin /ready)", async () => {
    const id = await start(
      ["-v", `${SEEDS}/proxy-envoy.yaml:/etc/front-envoy.yaml:ro`],
      ["/usr/local/bin/envoy", "-c", "/etc/front-envoy.yaml", "--service-cluster", "front-proxy"],
    );
    await becomes(id, "healthy");
    const last = await lastProbe(id);
    expect(last).toContain("http://127.0.0.1:8001/ready: 200");
  }, 60_000);

  it("the sidecar (the seed's start.sh) reports healthy: its echo and its proxy", async () => {
    const dir = mkdtempSync(join(tmpdir(), "echomesh-image-test-"));
    try {
      const config = join(dir, "service-envoy.yaml");
      writeFileSync(config, fixSidecar(readFileSync(`${SEEDS}/service-envoy.yaml`, "utf8")));
      chmodSync(dir, 0o755);
      chmodSync(config, 0o644);
      const id = await start(
        ["-e", "SERVICE_NAME=1", "-v", `${config}:/etc/service-envoy.yaml:ro`],
        ["sidecar"],
      );
      await becomes(id, "healthy");
      const last = await lastProbe(id);
      expect(last).toContain("http://127.0.0.1:8080/_echo/health: 200");
      expect(last).toContain("http://127.0.0.1:8001/ready: 200");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
