/**
 * The `reload` scenario's targets: a proxy in front of one echo set that can be told to switch to
 * another while it serves.
 *   echomesh-sighup  our proxy, v3 bootstrap with a static cluster: the file is replaced, then SIGHUP
 *   echomesh-cds     our proxy, the cluster from a CDS file (`path_config_source`, watched directory):
 *                    a new file is moved into place
 *   envoy-cds        Envoy 1.40 (`--concurrency 1`), the same bootstrap and CDS file (hot restart is
 *                    out of scope)
 *   haproxy-sf       HAProxy (nbthread 1): a new config, then `haproxy -f NEW -sf OLDPID` (the new
 *                    process takes the port, the old one finishes its connections and exits)
 */
import type { ChildProcess } from "node:child_process";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { findEnvoy } from "../../lib/envoy.js";
import { request } from "../../lib/http_client.js";
import { freePort, waitForPort } from "../../lib/net.js";
import { stopChild } from "../../lib/process.js";
import { sleep } from "../../lib/wait.js";
import { notInstalled, spawnPinned, stderrTail, which } from "../proc.js";
import { cdsBootstrap, cdsFile, haproxyConfig, staticBootstrap } from "./configs.js";

export interface ReloadContext {
  /** Compiled project root. */
  dist: string;
  /** Scratch folder (configs). */
  tmp: string;
  /** Cores for the servers (taskset -c), undefined when not pinned. */
  cores: string | undefined;
}

export interface RunningReload {
  url: string;
  /** The processes serving now (HAProxy's change at each reload). */
  pids(): number[];
  /** Switches the cluster to `echoes`; resolves once the proxy has been told (not when it applied). */
  reload(echoes: readonly number[]): Promise<void>;
  stop(): Promise<void>;
}

export interface ReloadTarget {
  name: string;
  description: string;
  unavailable(): string | null;
  start(ctx: ReloadContext, echoes: readonly number[]): Promise<RunningReload>;
}

/** Writes `file` whole, then moves it into place (a watcher never sees half a file). */
function replaceFile(file: string, text: string): void {
  writeFileSync(`${file}.next`, text);
  renameSync(`${file}.next`, file);
}

/** Starts one pinned process and waits for `port`. */
async function startOne(
  ctx: ReloadContext,
  file: string,
  args: string[],
  port: number,
): Promise<ChildProcess> {
  const child = spawnPinned(file, args, { cores: ctx.cores, cwd: ctx.tmp });
  try {
    await waitForPort(port, { timeoutMs: 20_000, child, describeExit: () => stderrTail(child) });
  } catch (err) {
    await stopChild(child, 1000);
    throw err;
  }
  return child;
}

/** Waits (at most 20 s) until a GET through the proxy answers 200: the cluster is there. */
async function ready(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const status = await request(port, "/", { timeoutMs: 2000 }).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`no 200 through the proxy within 20 s (last ${status}): ${stderrTail(child)}`);
    await sleep(100);
  }
}

/** A config file and how to switch it to other echoes. */
interface Reloadable {
  file: string;
  reload(echoes: readonly number[]): void;
}

/** One long-lived process on `port` reading `config.file`; a reload rewrites it, then sends `signal`. */
async function single(
  ctx: ReloadContext,
  cmd: (configFile: string) => [file: string, args: string[]],
  port: number,
  config: Reloadable,
  signal: NodeJS.Signals | null,
): Promise<RunningReload> {
  const [file, args] = cmd(config.file);
  const child = await startOne(ctx, file, args, port);
  try {
    await ready(port, child);
  } catch (err) {
    await stopChild(child, 1000);
    throw err;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    pids: () => (child.pid === undefined ? [] : [child.pid]),
    reload: async (next) => {
      config.reload(next);
      if (signal !== null) child.kill(signal);
    },
    stop: () => stopChild(child, 3000),
  };
}

const ourProxy =
  (ctx: ReloadContext) =>
  (configFile: string): [string, string[]] => [
    process.execPath,
    [
      join(ctx.dist, "proxy/main.js"),
      "-c",
      configFile,
      "--concurrency",
      "1",
      "-l",
      "warn",
      "--drain-time-s",
      "2",
    ],
  ];

function envoyCommand(configFile: string): [string, string[]] {
  const found = findEnvoy();
  if (!found.found) throw new Error(found.reason);
  return [found.path, ["-c", configFile, "--concurrency", "1", "--use-dynamic-base-id", "-l", "warn"]];
}

/** The bootstrap and CDS file of the `*-cds` targets, in `ctx.tmp/name`. */
async function cdsConfig(
  ctx: ReloadContext,
  name: string,
  port: number,
  echoes: readonly number[],
): Promise<Reloadable> {
  const dir = join(ctx.tmp, name);
  mkdirSync(dir, { recursive: true });
  const admin = await freePort();
  const cds = join(dir, "cds.yaml");
  let version = 1;
  replaceFile(cds, cdsFile(version, echoes));
  const file = join(dir, "bootstrap.yaml");
  writeFileSync(file, cdsBootstrap(port, admin, cds, dir));
  return {
    file,
    reload: (next: readonly number[]) => {
      version++;
      replaceFile(cds, cdsFile(version, next));
    },
  };
}

export const RELOAD_TARGETS: readonly ReloadTarget[] = [
  {
    name: "echomesh-sighup",
    description: "our proxy (1 worker), static cluster: a new bootstrap file, then SIGHUP",
    unavailable: () => null,
    start: async (ctx, echoes) => {
      const [port, admin] = [await freePort(), await freePort()];
      const dir = join(ctx.tmp, "echomesh-sighup");
      mkdirSync(dir, { recursive: true });
      const file = join(dir, "bootstrap.yaml");
      writeFileSync(file, staticBootstrap(port, admin, echoes));
      const config = {
        file,
        reload: (next: readonly number[]) => replaceFile(file, staticBootstrap(port, admin, next)),
      };
      return single(ctx, ourProxy(ctx), port, config, "SIGHUP");
    },
  },
  {
    name: "echomesh-cds",
    description:
      "our proxy (1 worker), cluster from a CDS file (path_config_source): a new file moved into place",
    unavailable: () => null,
    start: async (ctx, echoes) => {
      const port = await freePort();
      return single(ctx, ourProxy(ctx), port, await cdsConfig(ctx, "echomesh-cds", port, echoes), null);
    },
  },
  {
    name: "envoy-cds",
    description:
      "Envoy --concurrency 1, cluster from a CDS file (path_config_source): a new file moved into place",
    unavailable: () => {
      const found = findEnvoy();
      return found.found ? null : found.reason;
    },
    start: async (ctx, echoes) => {
      const port = await freePort();
      return single(ctx, envoyCommand, port, await cdsConfig(ctx, "envoy-cds", port, echoes), null);
    },
  },
  {
    name: "haproxy-sf",
    description: "HAProxy nbthread 1: a new config, then haproxy -f NEW -sf OLDPID",
    unavailable: () => notInstalled("haproxy"),
    start: async (ctx, echoes) => {
      const haproxy = which("haproxy") as string;
      const port = await freePort();
      const file = join(ctx.tmp, "haproxy-sf.cfg");
      writeFileSync(file, haproxyConfig(port, echoes, ctx.tmp));
      const children = [await startOne(ctx, haproxy, ["-db", "-f", file], port)];
      const current = (): ChildProcess => children[children.length - 1] as ChildProcess;
      try {
        await ready(port, current());
      } catch (err) {
        await stopChild(current(), 1000);
        throw err;
      }
      return {
        url: `http://127.0.0.1:${port}`,
        pids: () =>
          children.filter((c) => c.exitCode === null && c.pid !== undefined).map((c) => c.pid as number),
        reload: async (next) => {
          writeFileSync(file, haproxyConfig(port, next, ctx.tmp));
          const old = current().pid;
          children.push(
            spawnPinned(haproxy, ["-db", "-f", file, "-sf", String(old)], { cores: ctx.cores, cwd: ctx.tmp }),
          );
        },
        stop: async () => {
          await Promise.all(children.map((c) => stopChild(c, 3000)));
        },
      };
    },
  },
];
