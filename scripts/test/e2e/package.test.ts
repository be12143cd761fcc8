/**
 * The package as a user gets it: `npm pack`, then `npm install -g --prefix <tmp> <tarball>` (from the
 * npm cache when warm), then every installed bin: `--help`, `--version` and a short real job, and
 * `import("echomesh")` from a project of its own. Nothing here runs the checkout's dist/ directly:
 * only what the tarball carries and its runtime dependencies.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_VERSION } from "../../../lib/cli.js";
import { freePort, waitForPort } from "../../../lib/net.js";
import { request } from "../../../test-support/http.js";
import { packageRoot } from "../../../test-support/paths.js";
import { type Result, runFileToEnd, stopChild } from "../../../test-support/process.js";

const exec = promisify(execFile);
const BINS = ["echomesh-echo", "echomesh-proxy", "echomesh-mesh", "echomesh-bench", "echomesh-conformance"];
/** The bins' `#!/usr/bin/env node` finds the node running the tests. */
const ENV = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}` };

let tmp: string;
let prefix: string;
/** Where the package is installed: <prefix>/lib/node_modules/echomesh. */
let installed: string;
const children: ChildProcess[] = [];

const bin = (name: string) => join(prefix, "bin", name);

/** Runs an installed bin to its end (killed after `timeoutMs`). */
function run(name: string, args: string[], timeoutMs = 30_000, cwd?: string): Promise<Result> {
  return runFileToEnd(bin(name), args, { env: ENV, cwd: cwd ?? tmp, timeoutMs });
}

/** Starts an installed bin; its output so far is `output()`. */
function start(name: string, args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(bin(name), args, { env: ENV, cwd: tmp, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  child.stdout?.on("data", (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    out += c.toString();
  });
  return { child, output: () => out };
}

async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "echomesh-package-"));
  prefix = join(tmp, "prefix");
  // dist/ was just built by the project's global setup; pack what `files` selects
  const { stdout } = await exec("npm", ["pack", "--pack-destination", tmp, "--json"], {
    cwd: packageRoot,
    env: ENV,
    maxBuffer: 64 * 1024 * 1024,
  });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  if (packed === undefined) throw new Error("npm pack packed nothing");
  writeFileSync(join(tmp, "files.json"), JSON.stringify(packed.files.map((f) => f.path)));
  await exec(
    "npm",
    [
      "install",
      "-g",
      "--prefix",
      prefix,
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      join(tmp, packed.filename),
    ],
    { cwd: tmp, env: ENV, timeout: 150_000, maxBuffer: 64 * 1024 * 1024 },
  );
  installed = join(prefix, "lib", "node_modules", "echomesh");
}, 180_000);

afterAll(async () => {
  await Promise.all(children.map((c) => stopChild(c, 10_000)));
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

describe("npm pack: the tarball", () => {
  it("carries the bins, the API's declarations and the files read at runtime; no tests, maps or build state", () => {
    const files = JSON.parse(readFileSync(join(tmp, "files.json"), "utf8")) as string[];
    for (const f of [
      "dist/index.js",
      "dist/index.d.ts",
      "dist/echo/main.js",
      "dist/proxy/main.js",
      "dist/scripts/mesh.js",
      "dist/loadtest/bench.js",
      "dist/conformance/cli.js",
      "proxy/profiles/edge.yaml",
      "seeds/proxy-envoy.yaml",
      "package.json",
    ])
      expect(files).toContain(f);
    const stray = files.filter((f) =>
      /\.map$|tsbuildinfo|\/test\/|\.test\.|^(echo|proxy|lib|conformance|loadtest|scripts)\/.*\.ts$/.test(f),
    );
    expect(stray).toEqual([]);
  });

  it("installs with every bin on the prefix's PATH", () => {
    for (const b of BINS) expect(existsSync(bin(b)), b).toBe(true);
    expect(readdirSync(join(installed, "node_modules"))).toContain("autocannon");
  });
});

describe("every installed bin", () => {
  it.each(BINS)("%s --help (exit 0, usage on stdout) and --version (`<bin> <version>`)", async (b) => {
    const help = await run(b, ["--help"]);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/usage/i);
    const version = await run(b, ["--version"]);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.split("\n")[0]).toBe(`${b} ${PACKAGE_VERSION}`);
  });

  it.each(BINS)("%s --no-such-flag: one line naming the flag, exit 2", async (b) => {
    const r = await run(b, ["--no-such-flag"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--no-such-flag");
  });
});

describe("short real jobs", () => {
  it("echomesh-echo answers GET /; echomesh-proxy runs the seed's front config in front of two of them", async () => {
    const [listen, admin, echoPort] = [await freePort(), await freePort(), await freePort("127.0.0.2")];
    for (const [i, ip] of ["127.0.0.2", "127.0.0.3"].entries()) {
      start("echomesh-echo", ["--host", ip, "--port", String(echoPort), "--instance", `service${i + 1}`]);
      await waitForPort(echoPort, { host: ip, timeoutMs: 20_000 });
    }
    const direct = await request(echoPort, "/", { host: "127.0.0.2" });
    expect(direct.status).toBe(200);
    expect(direct.headers["x-echo-instance"]).toBe("service1");

    // the seed as published, on free loopback ports: its listener, its two hosts, its admin
    let ports = 0;
    const seed = readFileSync(join(installed, "seeds", "proxy-envoy.yaml"), "utf8")
      .replaceAll("0.0.0.0", "127.0.0.1")
      .replace(/port_value: 80\b/g, () => `port_value: ${ports++ === 0 ? listen : echoPort}`)
      .replace("port_value: 8001", `port_value: ${admin}`);
    const config = join(tmp, "front-envoy.yaml");
    writeFileSync(config, seed);
    const proxy = start("echomesh-proxy", [
      "-c",
      config,
      "--service-cluster",
      "front-proxy",
      "--dns-map",
      "service1=127.0.0.2,service2=127.0.0.3",
    ]);
    await until("the proxy to serve", () => proxy.output().includes("serving"), 20_000);
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const r = await request(listen, "/");
      expect(r.status).toBe(200);
      seen.add(String(r.headers["x-echo-instance"]));
    }
    expect(seen).toEqual(new Set(["service1", "service2"]));
  }, 60_000);

  it("echomesh-mesh starts the seed's mesh on the ports it is given, answers on the front, stops on SIGTERM", async () => {
    const p: number[] = [];
    for (let i = 0; i < 8; i++) p.push(await freePort());
    const mesh = start("echomesh-mesh", [
      "--front-port",
      String(p[0]),
      "--front-admin-port",
      String(p[1]),
      "--sidecar-ports",
      `${p[2]},${p[3]}`,
      "--sidecar-admin-ports",
      `${p[4]},${p[5]}`,
      "--echo-ports",
      `${p[6]},${p[7]}`,
      "--drain-time-s",
      "0",
    ]);
    await until("mesh is up", () => mesh.output().includes("mesh is up"), 60_000);
    const r = await request(p[0] ?? 0, "/");
    expect(r.status).toBe(200);
    expect(String(r.headers["x-echo-instance"])).toMatch(/^service[12]$/);
    // one log format: the proxies' lines are JSON, as the echoes' are
    expect(mesh.output()).toMatch(
      /^\[front-envoy\] \{"level":"info","time":"[^"]+",.*"msg":"all listeners started; serving"\}$/m,
    );
    const exited = new Promise<number | null>((resolve) => mesh.child.on("exit", (code) => resolve(code)));
    mesh.child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(mesh.output()).toContain("mesh: stopped");
  }, 90_000);

  it("echomesh-conformance --target-url runs round-robin tests against an installed proxy it did not start", async () => {
    const [listen, b1, b2] = [await freePort(), await freePort(), await freePort()];
    const config = join(tmp, "rr.yaml");
    writeFileSync(config, roundRobinV3(listen, [b1, b2]));
    const proxy = start("echomesh-proxy", ["-c", config]);
    await until("the proxy to serve", () => proxy.output().includes("serving"), 20_000);
    const reportDir = join(tmp, "report");
    const r = await run(
      "echomesh-conformance",
      [
        "--target-url",
        `http://127.0.0.1:${listen}`,
        "--backends",
        `127.0.0.1:${b1},127.0.0.1:${b2}`,
        "--only",
        "rr-rotation-2",
        "--report-dir",
        reportDir,
      ],
      90_000,
    );
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const report = JSON.parse(readFileSync(join(reportDir, "latest-url.json"), "utf8")) as {
      results: { id: string; outcome: string }[];
    };
    expect(report.results.find((x) => x.id === "rr-rotation-2")?.outcome).toBe("passed");
  }, 120_000);

  it("echomesh-conformance installed: the container driver needs a checkout, said plainly, exit 3", async () => {
    const r = await run("echomesh-conformance", ["--target-image", "some/proxy:1", "--dialect", "envoy-v3"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("--target-image runs from a checkout of echomesh");
  });

  it("echomesh-bench: --only nosuch exits 3; a tiny run keeps its report in runs/<time>/, --fail-on-goals exits by the goals", async () => {
    const out = join(tmp, "bench");
    const none = await run("echomesh-bench", ["--only", "nosuch", "--out", out]);
    expect(none.code).toBe(3);
    expect(none.stderr).toContain("--only nosuch selects no scenario or target");
    const r = await run(
      "echomesh-bench",
      [
        "--only",
        "echo",
        "--duration",
        "0.5",
        "--warmup",
        "0",
        "--rounds",
        "1",
        "--no-pin",
        "--fail-on-goals",
        "--out",
        out,
      ],
      90_000,
    );
    const latest = JSON.parse(readFileSync(join(out, "latest.json"), "utf8")) as {
      runs: unknown[];
      goals: { goal: string; met: boolean | null }[];
    };
    expect(latest.runs.length).toBeGreaterThan(0);
    const missed = latest.goals.filter((g) => g.met === false);
    expect(r.code, r.stderr).toBe(missed.length > 0 ? 1 : 0);
    for (const g of missed) expect(r.stderr).toContain(g.goal);
    const [run1] = readdirSync(join(out, "runs"));
    expect(run1).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ$/);
    expect(readFileSync(join(out, "runs", run1 ?? "", "bench.json"), "utf8")).toBe(
      readFileSync(join(out, "latest.json"), "utf8"),
    );
  }, 120_000);
});

describe('import("echomesh") from a project of its own', () => {
  it("startEcho and startProxy start an echo behind a proxy, and close", async () => {
    const project = join(tmp, "project");
    mkdirSync(join(project, "node_modules"), { recursive: true });
    symlinkSync(installed, join(project, "node_modules", "echomesh"), "dir");
    writeFileSync(join(project, "package.json"), '{ "type": "module" }\n');
    writeFileSync(
      join(project, "main.js"),
      `import { startEcho, startProxy, EXIT } from "echomesh";
const echo = await startEcho({ instance: "api", port: 0, host: "127.0.0.1", accessLog: false });
const config = ${JSON.stringify(roundRobinV3Object(0, [1]))};
config.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value = echo.port;
const proxy = await startProxy({ config });
const res = await fetch(proxy.url);
const bad = await startProxy({ config: "static_resources: { clusters: [{ name: x, lb_policy: nope }] }" }).catch((e) => e);
console.log(JSON.stringify({ status: res.status, instance: res.headers.get("x-echo-instance"), proxy: proxy.url, ok: EXIT.ok, bad: bad.code }));
await proxy.close();
await echo.close();
`,
    );
    const { stdout } = await exec(process.execPath, ["main.js"], { cwd: project, timeout: 30_000 });
    const seen = JSON.parse(stdout) as {
      status: number;
      instance: string;
      proxy: string;
      ok: number;
      bad: string;
    };
    expect(seen).toMatchObject({ status: 200, instance: "api", ok: 0, bad: "ECHOMESH_PROXY_CONFIG" });
    expect(seen.proxy).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  }, 60_000);
});

/** A v3 bootstrap: one listener on 127.0.0.1:`listen`, round robin over `backends` on 127.0.0.1. */
function roundRobinV3Object(listen: number, backends: number[]): Record<string, unknown> {
  return {
    static_resources: {
      listeners: [
        {
          name: "front",
          address: { socket_address: { address: "127.0.0.1", port_value: listen } },
          filter_chains: [
            {
              filters: [
                {
                  name: "envoy.filters.network.http_connection_manager",
                  typed_config: {
                    "@type":
                      "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                    stat_prefix: "front",
                    upgrade_configs: [{ upgrade_type: "websocket" }],
                    route_config: {
                      virtual_hosts: [
                        {
                          name: "all",
                          domains: ["*"],
                          routes: [{ match: { prefix: "/" }, route: { cluster: "echos" } }],
                        },
                      ],
                    },
                    http_filters: [
                      {
                        name: "envoy.filters.http.router",
                        typed_config: {
                          "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
                        },
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [
        {
          name: "echos",
          type: "STATIC",
          connect_timeout: "1s",
          lb_policy: "ROUND_ROBIN",
          load_assignment: {
            cluster_name: "echos",
            endpoints: [
              {
                lb_endpoints: backends.map((port) => ({
                  endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } },
                })),
              },
            ],
          },
        },
      ],
    },
  };
}

function roundRobinV3(listen: number, backends: number[]): string {
  return JSON.stringify(roundRobinV3Object(listen, backends), null, 2);
}
