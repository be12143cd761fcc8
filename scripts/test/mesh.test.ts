/**
 * The main job end to end: `scripts/mesh.ts` (built: dist/scripts/mesh.js) runs the seed's mesh on
 * loopback: front proxy -h2c-> sidecars -HTTP/1.1-> two echo instances. Ports are ephemeral ones
 * picked here, so the test does not collide with a mesh someone is running on 9000.
 */
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { ensureBuilt, httpRequest, ROOT, type Running, startProcess } from "./cli/helpers.js";

const MESH = join(ROOT, "dist", "scripts", "mesh.js");

async function freePort(host = "127.0.0.1"): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen({ host, port: 0 }, r));
  const port = (s.address() as import("node:net").AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function statValue(stats: string, name: string): number {
  const m = new RegExp(`^${name.replace(/\./g, "\\.")}: (\\d+)$`, "m").exec(stats);
  return m === null ? -1 : Number(m[1]);
}

describe("npm start: the seed's mesh without Docker", () => {
  let mesh: Running;
  const ports: Record<string, number> = {};

  beforeAll(async () => {
    await ensureBuilt();
    if (!existsSync(MESH) || !existsSync(join(ROOT, "dist", "echo", "main.js"))) {
      throw new Error("dist/scripts/mesh.js or dist/echo/main.js is missing: run `npm run build`");
    }
    for (const k of ["front", "admin", "sc1", "sc2", "sa1", "sa2", "e1", "e2"]) ports[k] = await freePort();
    mesh = startProcess(MESH, [
      "--front-port",
      String(ports.front),
      "--front-admin-port",
      String(ports.admin),
      "--sidecar-ports",
      `${ports.sc1},${ports.sc2}`,
      "--sidecar-admin-ports",
      `${ports.sa1},${ports.sa2}`,
      "--echo-ports",
      `${ports.e1},${ports.e2}`,
      "--drain-time-s",
      "1",
    ]);
    await mesh.waitFor(/mesh is up/, 90_000);
  }, 180_000);

  afterAll(async () => {
    if (mesh !== undefined && mesh.child.exitCode === null) {
      mesh.child.kill("SIGINT");
      await Promise.race([mesh.exited, new Promise((r) => setTimeout(r, 15_000))]);
    }
  }, 30_000);

  it("prints the seed's curl commands", () => {
    expect(mesh.output()).toContain(`export BASE=localhost:${ports.front}`);
    expect(mesh.output()).toContain(
      `curl -X POST $BASE/echo -H 'Content-Type: application/json' -d '{"name": "zcong"}'`,
    );
  });

  it("GET / alternates between the two instances, which saw HTTP/1.1", async () => {
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await httpRequest(ports.front ?? 0, "/");
      expect(r.status).toBe(200);
      expect(r.headers.server).toBe("envoy");
      expect(r.headers["x-echo-protocol"]).toBe("HTTP/1.1");
      seen.push(String(r.headers["x-echo-instance"]));
    }
    expect(new Set(seen)).toEqual(new Set(["service1", "service2"]));
    for (let i = 1; i < seen.length; i++) expect(seen[i]).not.toBe(seen[i - 1]);
  });

  it("POST /echo round-trips the body", async () => {
    const body = '{"name": "zcong"}';
    const r = await httpRequest(ports.front ?? 0, "/echo", {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
    });
    expect(r.status).toBe(200);
    expect(r.body).toBe(body);
  });

  it("a WebSocket to /ws echoes through both hops", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${ports.front}/ws`);
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once("open", () => resolve());
        ws.once("error", reject);
      });
      const reply = new Promise<string>((resolve, reject) => {
        ws.once("message", (data) => resolve(data.toString()));
        ws.once("error", reject);
      });
      ws.send("hello mesh");
      expect(await reply).toBe("hello mesh");
    } finally {
      ws.terminate();
    }
  });

  it("the hops between proxies are h2c: sidecars and front count HTTP/2 connections", async () => {
    for (const [ip, port] of [
      ["127.0.0.2", ports.sa1],
      ["127.0.0.3", ports.sa2],
    ] as const) {
      const stats = (await httpRequest(port ?? 0, "/stats", { host: ip })).body;
      expect(statValue(stats, "http.ingress_http.downstream_cx_http2_total")).toBeGreaterThan(0);
      expect(statValue(stats, "cluster.myservice.upstream_cx_http1_total")).toBeGreaterThan(0);
    }
    const front = (await httpRequest(ports.admin ?? 0, "/stats")).body;
    expect(statValue(front, "cluster.myservice.upstream_cx_http2_total")).toBeGreaterThan(0);
    expect(statValue(front, "http.ingress_http.downstream_cx_http1_total")).toBeGreaterThan(0);
  });

  it("SIGINT stops every process", async () => {
    mesh.child.kill("SIGINT");
    const exit = await mesh.exited;
    expect(exit.code).toBe(0);
    expect(mesh.output()).toContain("mesh: stopped");
    await expect(httpRequest(ports.front ?? 0, "/")).rejects.toThrow();
    await expect(httpRequest(ports.sa1 ?? 0, "/ready", { host: "127.0.0.2" })).rejects.toThrow();
    await expect(httpRequest(ports.e2 ?? 0, "/", { host: "127.0.0.3" })).rejects.toThrow();
  }, 30_000);
});
