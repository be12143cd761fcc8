/**
 * End-to-end harness: the built CLI (`dist/proxy/main.js`, built by the e2e project's global setup)
 * as real child processes, so each proxy's memory (/proc/<pid>/status VmRSS) and open descriptors (/proc/<pid>/fd)
 * can be measured, in front of the real echo service (in-process `startEcho`) and small test
 * upstreams. Everything binds 127.0.0.1.
 *
 *   client -h1/h2c-> front -h2c-> sidecar -h1-> echo        (prefix /)
 *                    front -h1-> test upstream               (prefix /h1/)
 *                    front -h2c-> test upstream              (prefix /h2/)
 *                    front -h2c-> sidecar -h1-> test upstream (prefix /mesh/)
 */
import { readdirSync, readFileSync } from "node:fs";
import { Writable } from "node:stream";
import { afterAll, beforeAll, expect } from "vitest";
import { type EchoServer, startEcho } from "../../../echo/server.js";
import { freePort } from "../../../lib/net.js";
import { poll } from "../../../lib/wait.js";
import { request } from "../../../test-support/http.js";
import { PROXY_MAIN } from "../../../test-support/paths.js";
import { type Running, startProcess, stopChild } from "../../../test-support/process.js";
import { proxyYaml } from "./configs.js";
import { startTestUpstreams, type TestUpstreams } from "./upstreams.js";

export class ProxyProcess {
  private constructor(
    readonly name: string,
    readonly run: Running,
    readonly port: number,
    readonly adminPort: number,
  ) {}

  static async start(name: string, yaml: string, port: number, adminPort: number): Promise<ProxyProcess> {
    const run = startProcess(PROXY_MAIN, ["--config-yaml", yaml, "-l", "warn", "--drain-time-s", "1"]);
    const p = new ProxyProcess(name, run, port, adminPort);
    const ready = await poll(
      () =>
        request(adminPort, "/ready").then(
          (r) => r.status === 200,
          () => false,
        ),
      (ok) => ok || !p.alive,
      { withinMs: 30_000, intervalMs: 100 },
    );
    if (!ready)
      throw new Error(`${name} ${p.alive ? "not ready in 30 s" : "exited at start"}:\n${run.output()}`);
    return p;
  }

  get pid(): number {
    return this.run.child.pid as number;
  }

  get alive(): boolean {
    return this.run.child.exitCode === null && this.run.child.signalCode === null;
  }

  /** Resident set size in bytes. */
  rss(): number {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${this.pid}/status`, "utf8"));
    return m === null ? 0 : Number(m[1]) * 1024;
  }

  /** Open file descriptors (sockets, pipes, files). */
  fds(): number {
    return readdirSync(`/proc/${this.pid}/fd`).length;
  }

  /** Every counter and gauge of the admin `/stats` (`name: value` lines). */
  async stats(): Promise<Map<string, number>> {
    const body = (await request(this.adminPort, "/stats")).text;
    const out = new Map<string, number>();
    for (const line of body.split("\n")) {
      const m = /^(\S+): (\d+)$/.exec(line);
      if (m !== null) out.set(m[1] as string, Number(m[2]));
    }
    return out;
  }

  async stat(name: string): Promise<number> {
    return (await this.stats()).get(name) ?? 0;
  }

  /** Admin `/clusters` lines as `cluster::host::name` -> value. */
  async clusters(): Promise<Map<string, string>> {
    const body = (await request(this.adminPort, "/clusters")).text;
    const out = new Map<string, string>();
    for (const line of body.split("\n")) {
      const i = line.lastIndexOf("::");
      if (i > 0) out.set(line.slice(0, i), line.slice(i + 2));
    }
    return out;
  }

  /** Alive, and answers GET / with 200. */
  async expectServing(): Promise<void> {
    expect(this.alive).toBe(true);
    expect((await request(this.port, "/")).status).toBe(200);
  }

  stop(): Promise<void> {
    return stopChild(this.run.child, 10_000);
  }
}

export interface Mesh {
  front: ProxyProcess;
  sidecar: ProxyProcess;
  echo: EchoServer;
  upstreams: TestUpstreams;
  /** Echo's `echo_websockets_open` summed over protocols. */
  echoWebSocketsOpen(): Promise<number>;
  close(): Promise<void>;
}

const discard = (): Writable =>
  new Writable({
    write(_c, _e, cb) {
      cb();
    },
  });

export async function startMesh(): Promise<Mesh> {
  const echo = await startEcho({
    port: 0,
    host: "127.0.0.1",
    maxBodyBytes: 256 * 1024 * 1024,
    defaultMetrics: false,
    logDestination: discard(),
  });
  const upstreams = await startTestUpstreams();
  const [fp, fa, sp, sa] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const sidecarYaml = proxyYaml({
    port: sp,
    adminPort: sa,
    statPrefix: "sidecar",
    routes: [
      { prefix: "/mesh/", cluster: "test_h1" },
      { prefix: "/", cluster: "echo" },
    ],
    clusters: [
      { name: "echo", port: echo.port },
      { name: "test_h1", port: upstreams.h1Port },
    ],
  });
  const frontYaml = proxyYaml({
    port: fp,
    adminPort: fa,
    statPrefix: "front",
    routes: [
      { prefix: "/h1/", cluster: "test_h1" },
      { prefix: "/h2/", cluster: "test_h2" },
      { prefix: "/", cluster: "sidecar" },
    ],
    clusters: [
      { name: "sidecar", port: sp, http2: true },
      { name: "test_h1", port: upstreams.h1Port },
      { name: "test_h2", port: upstreams.h2Port, http2: true },
    ],
  });
  const [sidecar, front] = await Promise.all([
    ProxyProcess.start("sidecar", sidecarYaml, sp, sa),
    ProxyProcess.start("front", frontYaml, fp, fa),
  ]);
  return {
    front,
    sidecar,
    echo,
    upstreams,
    async echoWebSocketsOpen() {
      const text = (await request(echo.port, "/metrics")).text;
      let n = 0;
      for (const m of text.matchAll(/^echo_websockets_open(?:\{[^}]*\})? (\d+)$/gm)) n += Number(m[1]);
      return n;
    },
    async close() {
      await Promise.all([front.stop(), sidecar.stop()]);
      await Promise.all([echo.close(), upstreams.close()]);
    },
  };
}

export interface MeshFixture extends Mesh {
  /**
   * Waits until `name`'s open descriptors are back to (at most 4 above) their count when the mesh
   * had served its first request, logs both, and fails if they are not.
   */
  expectFdsBack(name: "front" | "sidecar", withinMs?: number): Promise<void>;
}

/**
 * The mesh of the calling test file: started before its tests (and checked to serve GET /), stopped
 * after them. Its fields can be read inside tests only.
 */
export function useMesh(): MeshFixture {
  let mesh: Mesh | undefined;
  const fdsAtStart = { front: 0, sidecar: 0 };
  beforeAll(async () => {
    mesh = await startMesh();
    await mesh.front.expectServing();
    fdsAtStart.front = mesh.front.fds();
    fdsAtStart.sidecar = mesh.sidecar.fds();
  }, 60_000);
  afterAll(async () => {
    if (mesh === undefined) return;
    // Every test file ends asserting no bug reached a proxy's process guard (see proxy/server/guards.ts).
    const bugs = [
      await mesh.front.stat("server.envoy_bug_failures"),
      await mesh.sidecar.stat("server.envoy_bug_failures"),
    ];
    await mesh.close();
    expect(bugs, "server.envoy_bug_failures of front, sidecar").toEqual([0, 0]);
  }, 30_000);
  const started = (): Mesh => {
    if (mesh === undefined) throw new Error("the mesh is started before the tests, and read inside them");
    return mesh;
  };
  return {
    async expectFdsBack(name, withinMs = 15_000) {
      const p = started()[name];
      const limit = fdsAtStart[name] + 4;
      const fds = await poll(
        () => p.fds(),
        (v) => v <= limit,
        { withinMs, intervalMs: 100 },
      );
      console.log(
        `${name}: fds ${fdsAtStart[name]} at start, ${fds} now; RSS ${(p.rss() / 1048576).toFixed(0)} MB`,
      );
      expect(fds).toBeLessThanOrEqual(limit);
    },
    get front() {
      return started().front;
    },
    get sidecar() {
      return started().sidecar;
    },
    get echo() {
      return started().echo;
    },
    get upstreams() {
      return started().upstreams;
    },
    echoWebSocketsOpen: () => started().echoWebSocketsOpen(),
    close: () => started().close(),
  };
}

/** Polls `read` every 100 ms until it returns `want` or `withinMs` passes; returns the last value. */
export function reaches<T>(read: () => T | Promise<T>, want: T, withinMs = 15_000): Promise<T> {
  return poll(read, (v) => v === want, { withinMs, intervalMs: 100 });
}
