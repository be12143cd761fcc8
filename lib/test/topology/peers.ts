/**
 * What the HAProxy, nginx and Caddy renderer tests share (./haproxy.test.ts, ./nginx.test.ts,
 * ./caddy.test.ts): the catalog's shapes, each config checked by the program itself (`haproxy -c`,
 * `nginx -t`, `caddy validate`), and one real round trip through the program in front of two echoes.
 * A program that is not installed skips its tests with the reason.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EchoServer, HEADER_INSTANCE, HEADER_PROTOCOL, startEcho } from "../../../echo/index.js";
import { request } from "../../http_client.js";
import { freePort, waitForPort } from "../../net.js";
import { stopChild } from "../../process.js";
import { SEED, seedCluster, seedMesh, seedProxy } from "../../topology/catalog.js";
import type { Address, ProxySpec } from "../../topology/model.js";
import { UnsupportedError } from "../../topology/model.js";
import { CONFIG_EXT, type RenderContext, renderProxy } from "../../topology/render.js";

export type PeerDialect = "haproxy" | "nginx" | "caddy";

/** How a user runs each program on a config file, and how the program checks one. */
const PROGRAMS: Record<
  PeerDialect,
  { run: (file: string, dir: string) => string[]; check: (file: string, dir: string) => string[] }
> = {
  haproxy: { run: (file) => ["-db", "-f", file], check: (file) => ["-c", "-f", file] },
  nginx: { run: (file, dir) => ["-p", dir, "-c", file], check: (file, dir) => ["-t", "-p", dir, "-c", file] },
  caddy: {
    run: (file) => ["run", "--adapter", "caddyfile", "--config", file],
    check: (file) => ["validate", "--adapter", "caddyfile", "--config", file],
  },
};

/** Caddy keeps state under HOME and the XDG folders: the test's own. */
const envFor = (dir: string): NodeJS.ProcessEnv => ({
  ...process.env,
  HOME: dir,
  XDG_DATA_HOME: dir,
  XDG_CONFIG_HOME: dir,
});

/** The program's path, or null when it is not on PATH. */
function which(program: string): string | null {
  const r = spawnSync("sh", ["-c", `command -v ${program}`], { encoding: "utf8" });
  const path = r.stdout.trim();
  return r.status === 0 && path !== "" ? path : null;
}

export type ShapeName =
  | "single h1"
  | "single h2c"
  | "mesh front"
  | "mesh sidecar"
  | "weighted"
  | "strict_dns";

/** The name the strict_dns shape's cluster resolves, and what it stands for (nginx writes it in). */
export const DNS_NAME = "backends.echomesh.test";
const DNS_ADDRESSES = ["127.0.0.2", "127.0.0.3"];

/**
 * The catalog's shapes on loopback: the seed's proxy over HTTP/1.1 and h2c, the seed's mesh (front
 * and one sidecar), an 80/20 split between two clusters, a strict_dns cluster of one name.
 */
function shapes(
  listen: Address,
  upstreams: [Address, Address],
  sidecar: Address,
): Record<ShapeName, ProxySpec> {
  const single = (protocol: "http1" | "h2c") =>
    seedProxy({ listen, admin: null, hosts: upstreams, discovery: "static", protocol });
  const mesh = seedMesh({
    front: { listen, admin: null },
    sidecars: [{ listen: sidecar, admin: null, reachAs: sidecar, echo: upstreams[0] }],
    discovery: "static",
  });
  return {
    "single h1": single("http1"),
    "single h2c": single("h2c"),
    "mesh front": mesh.front,
    "mesh sidecar": mesh.sidecars[0] as ProxySpec,
    weighted: seedProxy({
      listen,
      admin: null,
      hosts: [upstreams[0]],
      discovery: "static",
      protocol: "http1",
      routes: [
        {
          prefix: "/",
          to: [
            { cluster: SEED.cluster, weight: 80 },
            { cluster: "canary", weight: 20 },
          ],
        },
      ],
      extraClusters: [seedCluster("canary", [upstreams[1]], "http1", "static")],
    }),
    strict_dns: seedProxy({
      listen,
      admin: null,
      hosts: [{ host: DNS_NAME, port: upstreams[0].port }],
      dnsRefreshMs: 1000,
      protocol: "http1",
    }),
  };
}

export interface PeerExpectations {
  /** Shapes the dialect cannot express: the UnsupportedError's message names what (matched). */
  unsupported: Partial<Record<ShapeName, RegExp>>;
  /** What the rendered text of a shape must contain (the dialect's own spelling of the part). */
  contains: Partial<Record<ShapeName, (string | RegExp)[]>>;
  /** The shape of the round trip and the protocol the echoes see. */
  roundTrip: { shape: "single h1" | "single h2c"; protocol: "HTTP/1.1" | "HTTP/2.0" };
}

/** The renderer tests of one dialect, as described at the top of this file. */
export function describePeer(dialect: PeerDialect, expected: PeerExpectations): void {
  const program = which(dialect);
  const missing = program === null ? `${dialect} not installed` : null;
  let dir: string;
  let specs: Record<ShapeName, ProxySpec>;
  let resolver: Address;
  let echoes: EchoServer[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `echomesh-render-${dialect}-`));
    echoes = [
      await startEcho({ host: "127.0.0.1", port: 0, instance: "echo1", accessLog: false }),
      await startEcho({ host: "127.0.0.1", port: 0, instance: "echo2", accessLog: false }),
    ];
    const [e1, e2] = echoes as [EchoServer, EchoServer];
    const at = (port: number): Address => ({ host: "127.0.0.1", port });
    specs = shapes(at(await freePort()), [at(e1.port), at(e2.port)], at(await freePort()));
    resolver = at(await freePort());
  });

  afterAll(async () => {
    await Promise.all(echoes.map((e) => e.close()));
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  /** The context of a shape: the strict_dns one asks our DNS server (nginx gets the names written in). */
  const contextFor = (shape: ShapeName, workDir: string): RenderContext => ({
    profile: "default",
    workDir,
    ...(shape === "strict_dns" ? { resolver, names: new Map([[DNS_NAME, DNS_ADDRESSES]]) } : {}),
  });

  describe(`${dialect} renderer`, () => {
    for (const shape of [
      "single h1",
      "single h2c",
      "mesh front",
      "mesh sidecar",
      "weighted",
      "strict_dns",
    ] as const) {
      const unsupported = expected.unsupported[shape];
      if (unsupported !== undefined) {
        it(`${shape}: unsupported, saying what`, () => {
          const render = () => renderProxy(specs[shape], dialect, contextFor(shape, dir));
          expect(render).toThrow(UnsupportedError);
          expect(render).toThrow(unsupported);
        });
        continue;
      }
      it(`${shape}: renders a config ${dialect} itself accepts`, (t) => {
        const workDir = join(dir, shape.replace(/\W/g, "_"));
        mkdirSync(workDir, { recursive: true });
        const text = renderProxy(specs[shape], dialect, contextFor(shape, workDir));
        for (const part of expected.contains[shape] ?? []) expect(text).toMatch(part);
        if (missing !== null) {
          t.skip(missing);
          return;
        }
        const file = join(workDir, `${dialect}.${CONFIG_EXT[dialect]}`);
        writeFileSync(file, text);
        const r = spawnSync(program as string, PROGRAMS[dialect].check(file, workDir), {
          encoding: "utf8",
          env: envFor(workDir),
          timeout: 20_000,
        });
        expect(r.status, `${r.stdout}\n${r.stderr}\n--- ${file}\n${text}`).toBe(0);
      });
    }
    const { shape, protocol } = expected.roundTrip;
    it(`round trip: ${shape} in front of two echoes, both answer over ${protocol}`, async (t) => {
      if (missing !== null) {
        t.skip(missing);
        return;
      }
      const workDir = join(dir, "round-trip");
      mkdirSync(workDir, { recursive: true });
      const spec = specs[shape];
      const file = join(workDir, `${dialect}.${CONFIG_EXT[dialect]}`);
      writeFileSync(file, renderProxy(spec, dialect, contextFor(shape, workDir)));
      const child = startProgram(program as string, PROGRAMS[dialect].run(file, workDir), workDir);
      try {
        const port = spec.listener.address.port;
        await waitForPort(port, { child: child.process, describeExit: child.output, timeoutMs: 15_000 });
        const seen = new Set<string>();
        for (let i = 0; i < 6; i++) {
          const r = await request(port, "/");
          expect(r.status, child.output()).toBe(200);
          expect(r.headers[HEADER_PROTOCOL]).toBe(protocol);
          seen.add(String(r.headers[HEADER_INSTANCE]));
        }
        expect([...seen].sort()).toEqual(["echo1", "echo2"]);
      } finally {
        await stopChild(child.process, 3000);
      }
    });
  });
}

/** A started program with its output kept (for the error when it exits before listening). */
function startProgram(
  file: string,
  args: string[],
  dir: string,
): { process: ChildProcess; output: () => string } {
  const child = spawn(file, args, { cwd: dir, env: envFor(dir), stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const keep = (c: Buffer) => {
    out = (out + c.toString()).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  child.on("error", (err) => {
    out += `\n${err.message}`;
  });
  return { process: child, output: () => out };
}
