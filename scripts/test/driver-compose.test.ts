/**
 * The conformance container driver's compose option: `front` and `mesh` started by testcontainers'
 * DockerComposeEnvironment from the seed's own compose files (the ones scripts/seed-compose.sh runs),
 * with our image. The started topology behaves as the container driver's: the entry proxy answers
 * from both echoes in turn, WebSockets pass, the echoes' and the proxies' own ports are reachable, and
 * in the mesh the front speaks HTTP/2 to the sidecars. Other topologies keep the plain container path.
 * Skipped, with the reason, without Docker, docker-compose or the seed's compose files.
 *
 * (Here rather than in conformance/test/, which is the unit tier: this starts containers.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "../../conformance/harness/client.js";
import { buildLocalImage, dockerUnavailable } from "../../conformance/harness/docker.js";
import {
  composeOverride,
  composeUnavailable,
  composeUsable,
} from "../../conformance/harness/driver-compose.js";
import { containerDriver } from "../../conformance/harness/driver-containers.js";
import { selectTarget } from "../../conformance/harness/targets.js";
import { topology } from "../../conformance/harness/topologies.js";
import type { Driver, RunningTopology } from "../../conformance/harness/types.js";
import { findSeedFile, wsRoundTrip } from "../seed-compose.js";

process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";

describe("which topologies the compose option runs", () => {
  it("front and mesh on our image with v2 configs; not v3, other images or other topologies", () => {
    const ours = { ...selectTarget("echomesh"), image: "echomesh:test" };
    expect(composeUsable(topology("front"), ours, "echomesh:test")).toBe(true);
    expect(composeUsable(topology("mesh"), ours, "echomesh:test")).toBe(true);
    expect(composeUsable(topology("h2-upstream"), ours, "echomesh:test")).toBe(false);
    expect(composeUsable(topology("front"), { ...ours, dialect: "envoy-v3" }, "echomesh:test")).toBe(false);
    expect(composeUsable(topology("front"), { ...ours, image: "envoy:x" }, "echomesh:test")).toBe(false);
  });

  it("the override names each echo, publishes its port (and the sidecar's admin) on loopback, labels all", () => {
    const o = composeOverride(topology("mesh"), { a: "1" });
    expect(o.version).toBe("2");
    expect(o.services.service1).toMatchObject({
      labels: { a: "1" },
      environment: expect.arrayContaining(["INSTANCE=service1", "ACCESS_LOG=off"]),
      ports: ["127.0.0.1::8080", "127.0.0.1::8001"],
    });
    expect(o.services["front-envoy"]).toEqual({ labels: { a: "1" } });
    expect(composeOverride(topology("front"), {}).services.proxy).toEqual({ labels: {} });
  });
});

const skip = await (async () => {
  const noDocker = await dockerUnavailable();
  if (noDocker) return noDocker;
  const noCompose = await composeUnavailable();
  if (noCompose) return noCompose;
  try {
    findSeedFile("simple-proxy.yaml");
    findSeedFile("docker-compose.yml");
  } catch (err) {
    return (err as Error).message;
  }
  return null;
})();

describe.skipIf(skip !== null)("the container driver with compose", () => {
  let driver: Driver;
  let image = "";
  const target = () => ({ ...selectTarget("echomesh"), image });

  beforeAll(async () => {
    image = await buildLocalImage();
    driver = await containerDriver("test", image, { compose: true });
  }, 300_000);
  afterAll(async () => {
    await driver?.close();
  });

  const alternate = async (topo: RunningTopology) => {
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await request(topo.listener(), "/");
      seen.push(String(r.headers["x-echo-instance"]));
    }
    expect(new Set(seen)).toEqual(new Set(["service1", "service2"]));
    for (let i = 1; i < seen.length; i++) expect(seen[i]).not.toBe(seen[i - 1]);
  };

  it("front (the post's part 1): round robin, WebSocket, admin and echo ports", async () => {
    expect(driver.reason).toContain("docker-compose");
    const topo = await driver.start(topology("front"), target());
    try {
      await alternate(topo);
      const msg = `compose ${Date.now()}`;
      expect(await wsRoundTrip(`ws://127.0.0.1:${topo.listener().port}/ws`, msg)).toBe(msg);
      expect((await request(topo.admin(), "/ready")).status).toBe(200);
      expect((await request(topo.echo("service1"), "/_echo/health")).status).toBe(200);
      await topo.stopEcho("service2");
      expect(topo.runningEchos()).toEqual(["service1"]);
    } finally {
      await topo.stop();
    }
  }, 120_000);

  it("mesh (part 2): round robin through the sidecars, HTTP/2 between front and sidecars", async () => {
    const topo = await driver.start(topology("mesh"), target());
    try {
      await alternate(topo);
      const msg = `mesh ${Date.now()}`;
      expect(await wsRoundTrip(`ws://127.0.0.1:${topo.listener().port}/ws`, msg)).toBe(msg);
      const front = (await request(topo.admin(), "/stats")).body.toString();
      expect(Number(/cluster\.myservice\.upstream_cx_http2_total: (\d+)/.exec(front)?.[1])).toBeGreaterThan(
        0,
      );
      const sidecar = (await request(topo.admin("sidecar1"), "/stats")).body.toString();
      expect(Number(/downstream_cx_http2_total: (\d+)/.exec(sidecar)?.[1])).toBeGreaterThan(0);
    } finally {
      await topo.stop();
    }
  }, 180_000);
});
