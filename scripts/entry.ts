#!/usr/bin/env node
/**
 * Container entry point of the `echomesh` image (both echo/Dockerfile and scripts/build-local-image.sh).
 *
 * The image's ENTRYPOINT is `node /app/dist/scripts/entry.js`; the container's command arrives here as
 * arguments, and the first one picks the program (compared by base name, so `/usr/local/bin/envoy` and
 * `envoy` are the same):
 *
 *   (none), `echo`, `echomesh-echo`, or a flag (`--port 9090`)  -> the echo service (dist/echo/main.js);
 *                                       `echo` itself is dropped, as zcong/echo's `command: echo` expects
 *   `envoy`, `proxy`, `echomesh-proxy`  -> the proxy (dist/proxy/main.js) with the remaining arguments,
 *                                       so the seed's `/usr/local/bin/envoy -c /etc/front-envoy.yaml
 *                                       --service-cluster front-proxy` runs unchanged
 *   `sidecar`, `echomesh-sidecar`       -> the seed's `start.sh` (its `Dockerfile-service`): the echo service
 *                                       (its own flags and env) and, beside it, the proxy with the remaining
 *                                       arguments, by default `-c /etc/service-envoy.yaml --service-cluster
 *                                       service$SERVICE_NAME`; both are children, signals go to both, and
 *                                       when one ends the other is stopped and its exit status is passed on
 *   anything else                       -> run as a program with its arguments (signals forwarded,
 *                                       exit status passed on); in the scratch image only `node` exists
 *
 * The image also carries `/usr/local/bin/envoy`, `echomesh-proxy`, `echomesh-echo` and `echomesh-sidecar` as tiny
 * `#!/usr/local/bin/node` shims that call this file, so an overridden entrypoint works too.
 */
import { spawn } from "node:child_process";
import { basename, dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const DIST = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Which program a container command runs. */
export type EntryTarget =
  | { kind: "echo"; args: string[] }
  | { kind: "proxy"; args: string[] }
  | { kind: "sidecar"; args: string[] }
  | { kind: "exec"; file: string; args: string[] };

const ECHO_NAMES = new Set(["echo", "echomesh-echo"]);
const PROXY_NAMES = new Set(["envoy", "proxy", "echomesh-proxy"]);
const SIDECAR_NAMES = new Set(["sidecar", "echomesh-sidecar"]);

/** The seed's start.sh: `envoy -c /etc/service-envoy.yaml --service-cluster service${SERVICE_NAME}`. */
export function sidecarProxyArgs(args: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  if (args.length > 0) return [...args];
  return ["-c", "/etc/service-envoy.yaml", "--service-cluster", `service${env.SERVICE_NAME ?? ""}`];
}

/** Maps a container command (argv after the entry script) to the program it runs. */
export function resolveEntry(argv: readonly string[]): EntryTarget {
  const [first, ...rest] = argv;
  if (first === undefined || first.startsWith("-")) return { kind: "echo", args: [...argv] };
  const name = basename(first);
  if (ECHO_NAMES.has(name)) return { kind: "echo", args: rest };
  if (PROXY_NAMES.has(name)) return { kind: "proxy", args: rest };
  if (SIDECAR_NAMES.has(name)) return { kind: "sidecar", args: rest };
  return { kind: "exec", file: first, args: rest };
}

/** Runs a module's CLI in this process, as if it had been started as `node <module> ...args`. */
async function runModule(relPath: string, args: string[]): Promise<void> {
  const file = join(DIST, relPath);
  process.argv = [process.argv[0] ?? "node", file, ...args];
  await import(pathToFileURL(file).href);
}

/** Runs another program as a child (Node cannot exec), forwarding signals and its exit status. */
function runChild(file: string, args: string[]): void {
  const child = spawn(file, args, { stdio: "inherit" });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP", "SIGUSR1", "SIGUSR2"] as const) {
    process.on(signal, forward);
  }
  child.on("error", (err) => {
    process.stderr.write(`echomesh: cannot run ${file}: ${err.message}\n`);
    process.exit(127);
  });
  child.on("exit", (code, signal) => {
    if (signal !== null) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
}

/**
 * The seed's start.sh without a shell: the echo service and the proxy as two children of this process.
 * Signals go to both; when either ends, the other gets SIGTERM and this process exits with the status
 * of the one that ended first.
 */
function runSidecar(args: readonly string[]): void {
  const node = process.execPath;
  const children = [
    spawn(node, [join(DIST, "echo/main.js")], { stdio: "inherit" }),
    spawn(node, [join(DIST, "proxy/main.js"), ...sidecarProxyArgs(args)], { stdio: "inherit" }),
  ];
  let ended = false;
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP", "SIGUSR1", "SIGUSR2"] as const) {
    process.on(signal, () => {
      for (const c of children) if (c.exitCode === null) c.kill(signal);
    });
  }
  for (const child of children) {
    child.on("error", (err) => {
      process.stderr.write(`echomesh: sidecar: ${err.message}\n`);
      process.exitCode = 127;
    });
    child.on("exit", (code, signal) => {
      if (ended) return;
      ended = true;
      process.exitCode = code ?? (signal === null ? 1 : 128);
      for (const c of children) if (c !== child && c.exitCode === null) c.kill("SIGTERM");
      const other = children.find((c) => c !== child);
      if (other === undefined || other.exitCode !== null) process.exit();
      other.on("exit", () => process.exit());
    });
  }
}

/** Runs a container command (argv after the entry script). The image's shims call this. */
export function runEntry(argv: readonly string[]): void {
  const target = resolveEntry(argv);
  if (target.kind === "exec") {
    runChild(target.file, target.args);
    return;
  }
  if (target.kind === "sidecar") {
    runSidecar(target.args);
    return;
  }
  const main = target.kind === "echo" ? "echo/main.js" : "proxy/main.js";
  runModule(main, target.args).catch((err: unknown) => {
    process.stderr.write(`echomesh: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}

// Run only when started as a program (tests and the shims import this module).
const started = process.argv[1];
if (started !== undefined && /^entry\.[cm]?[jt]s$/.test(basename(started))) runEntry(process.argv.slice(2));
