#!/usr/bin/env node
/**
 * `npm start`: the seed's service mesh (part 2 of the 2018 post) on this machine, without Docker.
 *
 *   curl localhost:9000
 *     -> front proxy      (proxy-envoy.yaml, --service-cluster front-proxy; admin :8001)
 *        -- h2c, round robin over service1/service2 -->
 *     -> sidecar proxy    (service-envoy.yaml, one per service, on the service's own address)
 *        -- HTTP/1.1 -->
 *     -> echo service     (INSTANCE=service1 / service2)
 *
 * Docker gave each service its own IP and DNS name; here each service gets a loopback address
 * (service1 -> 127.0.0.2, service2 -> 127.0.0.3) and the proxies resolve the names through
 * `--dns-map`. The configs are the topology model's seed mesh (`seedMesh`, rendered by
 * lib/topology to the seed's Envoy v2 dialect: with the seed's addresses it is the seeds/ files) on
 * these addresses and ports (the seed listens on :80, which needs root), handed over with
 * `--config-yaml`.
 *
 * Flags: USAGE below (`echomesh-mesh --help`). Every child logs JSON lines (the echo's format; the
 * proxies run with --log-json), each line prefixed with the child's name, so the output has one format.
 * Exit codes: lib/cli.ts EXIT (0 stopped by a signal, 1 a child failed, 2 usage).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  badValue,
  type CommandLine,
  EXIT,
  envValue,
  parseArgsMessage,
  readCommandLine,
  wholeNumber,
} from "../lib/cli.js";
import { packageRoot } from "../lib/paths.js";
import { SEED, seedMesh } from "../lib/topology/catalog.js";
import type { ProxySpec } from "../lib/topology/model.js";
import { renderProxy } from "../lib/topology/render.js";

const BIN = "echomesh-mesh";
const SERVICES = SEED.services;

interface MeshOptions {
  host: string;
  frontPort: number;
  frontAdminPort: number;
  serviceIps: [string, string];
  sidecarPorts: [number, number];
  sidecarAdminPorts: [number, number];
  echoPorts: [number, number];
  logLevel: string;
  drainTimeS: number;
}

/** Each flag: its environment variable (ECHOMESH_MESH_*, the older MESH_* name an alias) and default. */
const FLAGS = {
  host: { value: "ADDR", env: "HOST", dflt: "127.0.0.1", help: "front proxy and admin address" },
  "front-port": { value: "N", env: "FRONT_PORT", dflt: "9000", help: "front proxy listener" },
  "front-admin-port": { value: "N", env: "FRONT_ADMIN_PORT", dflt: "8001", help: "front proxy admin" },
  "service-ips": { value: "A,B", env: "SERVICE_IPS", dflt: "127.0.0.2,127.0.0.3", help: "service addresses" },
  "sidecar-ports": { value: "A,B", env: "SIDECAR_PORTS", dflt: "10001,10002", help: "sidecar listeners" },
  "sidecar-admin-ports": {
    value: "A,B",
    env: "SIDECAR_ADMIN_PORTS",
    dflt: "18001,18002",
    help: "sidecar admins",
  },
  "echo-ports": { value: "A,B", env: "ECHO_PORTS", dflt: "8081,8082", help: "echo services" },
  "log-level": { value: "LEVEL", env: "LOG_LEVEL", dflt: "info", help: "proxies' log level" },
  "drain-time-s": { value: "N", env: "DRAIN_TIME_S", dflt: "2", help: "proxies' drain on Ctrl-C, s" },
} as const;
const LOG_LEVELS = ["trace", "debug", "info", "warn", "warning", "error", "critical", "off"];
type Flag = keyof typeof FLAGS;

const USAGE = `Usage: echomesh-mesh [options]     (in a checkout: npm start -- [options])

Runs the seed's service mesh on this machine, without Docker: a front proxy -h2c-> a sidecar proxy per
service -HTTP/1.1-> two echo services (service1, service2), each service on its own loopback address.
Ctrl-C (or SIGTERM) stops everything.

${(Object.keys(FLAGS) as Flag[])
  .map((f) => {
    const { value, env, dflt, help } = FLAGS[f];
    return `  --${`${f} ${value}`.padEnd(27)}${help} (default ${dflt}; ECHOMESH_MESH_${env})`;
  })
  .join("\n")}
  -h, --help                   this text
      --version                print the version

Ports are distinct by default so the mesh also runs where only 127.0.0.1 exists (macOS):
--service-ips 127.0.0.1,127.0.0.1. The environment variables' older names (MESH_HOST, ...) still work.

Exit codes: ${EXIT.ok} stopped by Ctrl-C/SIGTERM, ${EXIT.failure} a child failed to start or died, ${EXIT.usage} usage.
`;

class MeshUsageError extends Error {}

type Parsed = CommandLine<MeshOptions>;

/** The command line and environment to options; throws MeshUsageError naming the flag or variable. */
function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Parsed {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      options: {
        ...Object.fromEntries(Object.keys(FLAGS).map((f) => [f, { type: "string" as const }])),
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
      },
    }).values;
  } catch (err) {
    throw new MeshUsageError(parseArgsMessage(err));
  }
  if (values.help === true) return { kind: "help" };
  if (values.version === true) return { kind: "version" };
  const usage = (m: string) => new MeshUsageError(m);
  /** The flag's value, else its environment variable's, else the default; with the name to blame. */
  const pick = (flag: Flag): [string, string] => {
    const given = values[flag];
    if (typeof given === "string") return [`--${flag}`, given];
    const name = `ECHOMESH_MESH_${FLAGS[flag].env}`;
    const alias = `MESH_${FLAGS[flag].env}`;
    const fromEnv = envValue(env, name, [alias]);
    if (fromEnv === undefined) return [`--${flag}`, FLAGS[flag].dflt];
    return [envValue(env, name) === undefined ? alias : name, fromEnv];
  };
  const port = (name: string, s: string) => wholeNumber(name, s, 1, 65_535, usage);
  const pair = <T>(flag: Flag, f: (name: string, x: string) => T): [T, T] => {
    const [name, s] = pick(flag);
    const parts = s.split(",").map((x) => x.trim());
    if (parts.length !== 2) throw usage(badValue(name, "two comma-separated values", s));
    return [f(name, parts[0] ?? ""), f(name, parts[1] ?? "")];
  };
  const single = (flag: Flag, f: (name: string, x: string) => number) => f(...pick(flag));
  return {
    kind: "run",
    options: {
      host: pick("host")[1],
      frontPort: single("front-port", port),
      frontAdminPort: single("front-admin-port", port),
      serviceIps: pair("service-ips", (_n, x) => x),
      sidecarPorts: pair("sidecar-ports", port),
      sidecarAdminPorts: pair("sidecar-admin-ports", port),
      echoPorts: pair("echo-ports", port),
      logLevel: logLevel(...pick("log-level"), usage),
      drainTimeS: single("drain-time-s", (name, x) => wholeNumber(name, x, 0, 86_400, usage)),
    },
  };
}

function logLevel(name: string, value: string, usage: (m: string) => Error): string {
  if (LOG_LEVELS.includes(value.toLowerCase())) return value;
  throw usage(badValue(name, `one of ${LOG_LEVELS.join(", ")}`, value));
}

/**
 * The seed's mesh (lib/topology/catalog.ts `seedMesh`, which renders to the seed's files: see
 * seeds/README.md) on this machine's addresses: the front reaches each sidecar by its service name
 * (strict_dns, as the seed), and each sidecar reaches its own echo by the same name. The one fix to
 * the seed's sidecar file is the model's: its cluster is its own echo over HTTP/1.1 (the published
 * copy points back at the sidecars, a loop, and asks the echo for HTTP/2).
 */
function meshConfigs(o: MeshOptions): { front: string; sidecars: [string, string] } {
  const mesh = seedMesh({
    front: { listen: { host: o.host, port: o.frontPort }, admin: { host: o.host, port: o.frontAdminPort } },
    sidecars: SERVICES.map((s, i) => ({
      listen: { host: o.serviceIps[i as 0 | 1], port: o.sidecarPorts[i as 0 | 1] },
      admin: { host: o.serviceIps[i as 0 | 1], port: o.sidecarAdminPorts[i as 0 | 1] },
      reachAs: { host: s, port: o.sidecarPorts[i as 0 | 1] },
      echo: { host: s, port: o.echoPorts[i as 0 | 1] },
    })),
  });
  // The seed's dialect (Envoy v2, which the proxy reads); the proxy writes nothing in workDir.
  const render = (spec: ProxySpec) =>
    renderProxy(spec, "envoy-v2", { workDir: tmpdir(), profile: "default" });
  const [s1, s2] = mesh.sidecars;
  if (s1 === undefined || s2 === undefined) throw new Error("seedMesh: expected two sidecars");
  return { front: render(mesh.front), sidecars: [render(s1), render(s2)] };
}

interface Child {
  name: string;
  proc: ChildProcess;
  exited: Promise<number | null>;
}

function start(name: string, args: string[], env: NodeJS.ProcessEnv): Child {
  // Own process group (detached): Ctrl-C reaches only this runner, which then sends each child one
  // SIGTERM, so every proxy drains once (a second signal would make a proxy stop at once).
  const proc = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const prefix = (stream: NodeJS.WritableStream) => {
    let rest = "";
    return (chunk: Buffer) => {
      const lines = (rest + chunk.toString("utf8")).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) stream.write(`[${name}] ${line}\n`);
    };
  };
  proc.stdout?.on("data", prefix(process.stdout));
  proc.stderr?.on("data", prefix(process.stderr));
  const exited = new Promise<number | null>((resolve) => {
    proc.on("exit", (code) => resolve(code));
    proc.on("error", (err) => {
      process.stderr.write(`[${name}] cannot start: ${err.message}\n`);
      resolve(1);
    });
  });
  return { name, proc, exited };
}

/** GETs `url` until it answers 200 (or `deadline` passes). */
async function waitReady(
  host: string,
  port: number,
  path: string,
  child: Child,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void child.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline && !exited) {
    const status = await new Promise<number>((resolve) => {
      const req = request({ host, port, path, agent: false, timeout: 1000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("timeout", () => req.destroy());
      req.on("error", () => resolve(0));
      req.end();
    });
    if (status === 200) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${child.name} did not become ready on ${host}:${port}${path}`);
}

async function main(): Promise<number> {
  const cli = readCommandLine(
    BIN,
    () => parseOptions(process.argv.slice(2), process.env),
    (err) => err instanceof MeshUsageError,
    USAGE,
  );
  if ("exit" in cli) return cli.exit;
  const o = cli.options;
  const root = packageRoot;
  const proxyMain = join(root, "dist", "proxy", "main.js");
  const echoMain = join(root, "dist", "echo", "main.js");
  const configs = meshConfigs(o);
  const dnsMap = SERVICES.map((s, i) => `${s}=${o.serviceIps[i as 0 | 1]}`).join(",");
  // --log-json: the proxies log as the echoes do, so the mesh's output has one format
  const proxyFlags = [
    "--log-level",
    o.logLevel,
    "--log-json",
    "--drain-time-s",
    String(o.drainTimeS),
    "--dns-map",
    dnsMap,
  ];

  const children: Child[] = [];
  let stopping = false;
  /** Stops front first, then the sidecars, then the echoes, so no hop loses a peer mid-request. */
  const stopAll = async (): Promise<void> => {
    stopping = true;
    const stages = [
      children.filter((c) => c.name === "front-envoy"),
      children.filter((c) => c.name.endsWith("-envoy") && c.name !== "front-envoy"),
      children.filter((c) => !c.name.endsWith("-envoy")),
    ];
    for (const stage of stages) {
      for (const c of stage)
        if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill("SIGTERM");
      const grace = setTimeout(
        () => {
          for (const c of stage) if (c.proc.exitCode === null) c.proc.kill("SIGKILL");
        },
        (o.drainTimeS + 3) * 1000,
      );
      await Promise.all(stage.map((c) => c.exited));
      clearTimeout(grace);
    }
  };

  const signalled = new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  let reportDeath: (why: string) => void = () => {};
  const died = new Promise<string>((resolve) => {
    reportDeath = resolve;
  });
  /** Starts a child and watches it: one that exits before Ctrl-C brings the mesh down. */
  const launch = (name: string, args: string[], env: NodeJS.ProcessEnv = {}): Child => {
    const c = start(name, args, env);
    children.push(c);
    void c.exited.then((code) => {
      if (!stopping) reportDeath(`${name} exited with code ${code}`);
    });
    return c;
  };

  try {
    const startup = (async () => {
      for (const [i, s] of SERVICES.entries()) {
        const echo = launch(
          s,
          [echoMain, "--host", o.serviceIps[i as 0 | 1], "--port", String(o.echoPorts[i as 0 | 1])],
          {
            INSTANCE: s,
          },
        );
        await waitReady(o.serviceIps[i as 0 | 1], o.echoPorts[i as 0 | 1], "/", echo);
      }
      for (const [i, s] of SERVICES.entries()) {
        const sc = launch(`${s}-envoy`, [
          proxyMain,
          "--config-yaml",
          configs.sidecars[i as 0 | 1],
          "--service-cluster",
          s,
          ...proxyFlags,
        ]);
        await waitReady(o.serviceIps[i as 0 | 1], o.sidecarAdminPorts[i as 0 | 1], "/ready", sc);
      }
      const fp = launch("front-envoy", [
        proxyMain,
        "--config-yaml",
        configs.front,
        "--service-cluster",
        "front-proxy",
        ...proxyFlags,
      ]);
      await waitReady(o.host, o.frontAdminPort, "/ready", fp);
      return "up";
    })();
    const first = await Promise.race([startup, died, signalled]);
    if (first !== "up") {
      process.stderr.write(`mesh: ${first}; stopping\n`);
      await stopAll();
      return first === "SIGINT" || first === "SIGTERM" ? EXIT.ok : EXIT.failure;
    }
  } catch (err) {
    process.stderr.write(`mesh: ${(err as Error).message}; stopping\n`);
    await stopAll();
    return EXIT.failure;
  }

  const base = `localhost:${o.frontPort}`;
  process.stdout.write(
    [
      "",
      `mesh is up: front proxy http://${o.host}:${o.frontPort} (admin http://${o.host}:${o.frontAdminPort})`,
      ...SERVICES.map(
        (s, i) =>
          `  ${s}: sidecar ${o.serviceIps[i as 0 | 1]}:${o.sidecarPorts[i as 0 | 1]} (admin :${o.sidecarAdminPorts[i as 0 | 1]}) -> echo ${o.serviceIps[i as 0 | 1]}:${o.echoPorts[i as 0 | 1]}`,
      ),
      "",
      "Try the seed's commands:",
      `  $ export BASE=${base}`,
      "  # get",
      "  $ curl $BASE",
      "  # post",
      `  $ curl -X POST $BASE/echo -H 'Content-Type: application/json' -d '{"name": "zcong"}'`,
      "  # ws",
      "  $ npx wscat -c ws://$BASE/ws",
      "  # stats",
      `  $ curl -s ${o.host}:${o.frontAdminPort}/stats | grep -E 'upstream_rq_total|upstream_cx_http2_total'`,
      "",
      "Ctrl-C stops everything.",
      "",
    ].join("\n"),
  );

  const why = await Promise.race([signalled, died]);
  process.stdout.write(`mesh: ${why}; stopping\n`);
  await stopAll();
  process.stdout.write("mesh: stopped\n");
  return why === "SIGINT" || why === "SIGTERM" ? EXIT.ok : EXIT.failure;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`mesh: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(EXIT.failure);
  },
);
