/**
 * End-to-end harness: the built CLI (`dist/proxy/main.js`, run `npm run build` first) as real child
 * processes, so each proxy's memory (/proc/<pid>/status VmRSS) and open descriptors (/proc/<pid>/fd)
 * can be measured, in front of the real echo service (in-process `startEcho`) and small test
 * upstreams. Everything binds 127.0.0.1.
 *
 *   client -h1/h2c-> front -h2c-> sidecar -h1-> echo        (prefix /)
 *                    front -h1-> test upstream               (prefix /h1/)
 *                    front -h2c-> test upstream              (prefix /h2/)
 *                    front -h2c-> sidecar -h1-> test upstream (prefix /mesh/)
 */
import { readdirSync, readFileSync } from "node:fs";
import http from "node:http";
import { type AddressInfo, createServer } from "node:net";
import { Writable } from "node:stream";
import { type EchoServer, startEcho } from "../../../echo/server.js";
import { ensureBuilt, httpRequest, PROXY_MAIN, type Running, startProcess } from "../cli/helpers.js";
import { proxyYaml } from "./configs.js";
import { startTestUpstreams, type TestUpstreams } from "./upstreams.js";

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen({ host: "127.0.0.1", port: 0 }, r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

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
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (!p.alive) throw new Error(`${name} exited at start:\n${run.output()}`);
      const ready = await httpRequest(adminPort, "/ready").catch(() => null);
      if (ready?.status === 200) return p;
      if (Date.now() > deadline) throw new Error(`${name} not ready in 30 s:\n${run.output()}`);
      await sleep(100);
    }
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
    const body = (await httpRequest(this.adminPort, "/stats")).body;
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
    const body = (await httpRequest(this.adminPort, "/clusters")).body;
    const out = new Map<string, string>();
    for (const line of body.split("\n")) {
      const i = line.lastIndexOf("::");
      if (i > 0) out.set(line.slice(0, i), line.slice(i + 2));
    }
    return out;
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    this.run.child.kill("SIGTERM");
    const killed = setTimeout(() => this.run.child.kill("SIGKILL"), 10_000);
    await this.run.exited;
    clearTimeout(killed);
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
  await ensureBuilt();
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
      const text = (await httpRequest(echo.port, "/metrics")).body;
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

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `read` until `ok(value)` or the deadline; returns the last value either way. */
export async function settle<T>(read: () => Promise<T> | T, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  let v = await read();
  while (!ok(v) && Date.now() < deadline) {
    await sleep(100);
    v = await read();
  }
  return v;
}

/** GET through a fresh connection (`agent: false`, so the socket closes after the response). */
export function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return httpRequest(port, path).then((r) => ({ status: r.status, body: r.body }));
}

/** An agent that keeps one connection per request in flight, for tests that want reuse. */
export const keepAlive = (): http.Agent => new http.Agent({ keepAlive: true, maxSockets: 50 });
