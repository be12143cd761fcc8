#!/usr/bin/env node
/**
 * The image's HEALTHCHECK (`node /app/dist/scripts/healthcheck.js`): asks whatever the container runs
 * whether it is healthy, and exits 0 (healthy) or 1 (unhealthy), as Docker expects.
 *
 * It finds out what runs from the container's main process (`/proc/1/cmdline`, or the first node process
 * running the entry script or one of its shims, e.g. under `docker run --init`), maps its command line
 * with the entry point's own rules (scripts/entry.ts) and checks:
 *
 *   echo service  GET http://127.0.0.1:PORT/_echo/health -> 200 (PORT from the echo's flags and env,
 *                 read by the echo's own parser)
 *   proxy         GET http://ADMIN/ready -> 200 (the admin address of the config the proxy was started
 *                 with, read by the proxy's own loader); a config without an admin has nothing to ask
 *   sidecar       both
 *   anything else nothing to ask: healthy
 *
 * `healthcheck.js URL...` checks the given URLs instead (each must answer 200).
 */
import { readdirSync, readFileSync } from "node:fs";
import http from "node:http";
import { basename } from "node:path";
import { resolveEntry, sidecarProxyArgs } from "./entry.js";

const TIMEOUT_MS = Number(process.env.ECHOMESH_HEALTHCHECK_TIMEOUT_MS ?? 2_000);

/** The command line of a process, or null when it cannot be read. */
function cmdline(pid: string): string[] | null {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return raw.split("\0").filter((a, i, all) => a !== "" || i < all.length - 1);
  } catch {
    return null;
  }
}

const SHIMS = new Set(["envoy", "echomesh-proxy", "echomesh-echo", "echomesh-sidecar"]);

/**
 * The container command (what entry.js gets as arguments) of a node process, or null when the process
 * is not the entry script or a shim: `node /app/dist/scripts/entry.js ARGS` -> ARGS;
 * `node /usr/local/bin/envoy ARGS` (a shim run by its shebang) -> `envoy ARGS`.
 */
export function containerCommand(argv: readonly string[]): string[] | null {
  const [exe, script, ...rest] = argv;
  if (exe === undefined || script === undefined || !/node/.test(basename(exe))) return null;
  if (/^entry\.[cm]?js$/.test(basename(script))) return rest;
  if (SHIMS.has(basename(script))) return [script, ...rest];
  return null;
}

/** The container's command: PID 1's, else the lowest-numbered node process that runs the entry. */
function findCommand(): string[] | null {
  const first = cmdline("1");
  const fromInit = first === null ? null : containerCommand(first);
  if (fromInit !== null) return fromInit;
  const pids = readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
    .sort((a, b) => Number(a) - Number(b));
  for (const pid of pids) {
    const argv = cmdline(pid);
    const command = argv === null ? null : containerCommand(argv);
    if (command !== null) return command;
  }
  return null;
}

/** Where to reach a server bound to `host`: a wildcard bind is asked on loopback. */
function reachable(host: string): string {
  if (host === "0.0.0.0" || host === "" || host === "::" || host === "[::]") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

async function echoUrl(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const { configFromCli } = await import("../echo/config.js");
  const parsed = configFromCli(args, env);
  if (parsed.kind !== "run") throw new Error("the echo was started to print its help");
  return `http://${reachable(parsed.config.host)}:${parsed.config.port}/_echo/health`;
}

async function proxyUrl(args: string[], env: NodeJS.ProcessEnv): Promise<string | null> {
  const { parseCommandLine } = await import("../proxy/server/options.js");
  const { loadStatic } = await import("../proxy/server/config_source.js");
  const parsed = parseCommandLine(args, env);
  if (parsed.kind !== "run") throw new Error(`the proxy was started with --${parsed.kind}`);
  const { bootstrap } = await loadStatic(parsed.options.configPath, parsed.options.configYaml);
  const admin = bootstrap.admin;
  if (admin === null) return null;
  return `http://${reachable(admin.address.address)}:${admin.address.port}/ready`;
}

/** The URLs to ask for what runs (empty: nothing to ask). */
export async function healthUrls(
  command: string[] | null,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string[]> {
  if (command === null) return [];
  const target = resolveEntry(command);
  switch (target.kind) {
    case "echo":
      return [await echoUrl(target.args, env)];
    case "proxy": {
      const url = await proxyUrl(target.args, env);
      return url === null ? [] : [url];
    }
    case "sidecar": {
      const url = await proxyUrl(sidecarProxyArgs(target.args, env), env);
      return [await echoUrl([], env), ...(url === null ? [] : [url])];
    }
    default:
      return [];
  }
}

function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      url,
      { timeout: TIMEOUT_MS, headers: { "user-agent": "echomesh-healthcheck" } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.on("error", reject);
  });
}

async function main(): Promise<number> {
  const given = process.argv.slice(2);
  const urls = given.length > 0 ? given : await healthUrls(findCommand());
  if (urls.length === 0) {
    process.stdout.write("healthy: nothing to ask (no echo or proxy runs here)\n");
    return 0;
  }
  let healthy = true;
  for (const url of urls) {
    try {
      const status = await get(url);
      process.stdout.write(`${url}: ${status}\n`);
      if (status !== 200) healthy = false;
    } catch (err) {
      process.stdout.write(`${url}: ${(err as Error).message}\n`);
      healthy = false;
    }
  }
  return healthy ? 0 : 1;
}

const started = process.argv[1];
if (started !== undefined && /^healthcheck\.[cm]?[jt]s$/.test(basename(started))) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stdout.write(`unhealthy: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
