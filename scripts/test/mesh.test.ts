/**
 * The main job end to end: `scripts/mesh.ts` (built: dist/scripts/mesh.js) runs the seed's mesh on
 * loopback: front proxy -h2c-> sidecars -HTTP/1.1-> two echo instances. Ports are ephemeral ones
 * picked here, so the test does not collide with a mesh someone is running on 9000.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../lib/net.js";
import { request } from "../../test-support/http.js";
import { MESH_MAIN } from "../../test-support/paths.js";
import { type Running, startProcess, stopChild } from "../../test-support/process.js";
import { nextMessage, wsConnect } from "../../test-support/ws.js";

function statValue(stats: string, name: string): number {
  const m = new RegExp(`^${name.replace(/\./g, "\\.")}: (\\d+)$`, "m").exec(stats);
  return m === null ? -1 : Number(m[1]);
}

describe("npm start: the seed's mesh without Docker", () => {
  let mesh: Running;
  const ports: Record<string, number> = {};

  beforeAll(async () => {
    for (const k of ["front", "admin", "sc1", "sc2", "sa1", "sa2", "e1", "e2"]) ports[k] = await freePort();
    mesh = startProcess(MESH_MAIN, [
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
    if (mesh !== undefined) await stopChild(mesh.child, 15_000);
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
      const r = await request(ports.front ?? 0, "/");
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
    const r = await request(ports.front ?? 0, "/echo", {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
    });
    expect(r.status).toBe(200);
    expect(r.text).toBe(body);
  });

  it("a WebSocket to /ws echoes through both hops", async () => {
    const { ws } = await wsConnect(ports.front ?? 0);
    try {
      const reply = nextMessage(ws);
      ws.send("hello mesh");
      expect((await reply).data.toString()).toBe("hello mesh");
    } finally {
      ws.terminate();
    }
  });

  it("the hops between proxies are h2c: sidecars and front count HTTP/2 connections", async () => {
    for (const [ip, port] of [
      ["127.0.0.2", ports.sa1],
      ["127.0.0.3", ports.sa2],
    ] as const) {
      const stats = (await request(port ?? 0, "/stats", { host: ip })).text;
      expect(statValue(stats, "http.ingress_http.downstream_cx_http2_total")).toBeGreaterThan(0);
      expect(statValue(stats, "cluster.myservice.upstream_cx_http1_total")).toBeGreaterThan(0);
    }
    const front = (await request(ports.admin ?? 0, "/stats")).text;
    expect(statValue(front, "cluster.myservice.upstream_cx_http2_total")).toBeGreaterThan(0);
    expect(statValue(front, "http.ingress_http.downstream_cx_http1_total")).toBeGreaterThan(0);
  });

  it("SIGINT stops every process", async () => {
    mesh.child.kill("SIGINT");
    const exit = await mesh.exited;
    expect(exit.code).toBe(0);
    expect(mesh.output()).toContain("mesh: stopped");
    await expect(request(ports.front ?? 0, "/")).rejects.toThrow();
    await expect(request(ports.sa1 ?? 0, "/ready", { host: "127.0.0.2" })).rejects.toThrow();
    await expect(request(ports.e2 ?? 0, "/", { host: "127.0.0.3" })).rejects.toThrow();
  }, 30_000);
});
