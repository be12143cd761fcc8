/**
 * The image's pieces that need no Docker: the entry point's `sidecar` command, the HEALTHCHECK's reading
 * of what the container runs (scripts/healthcheck.ts), the build stage's layout rules
 * (scripts/lib/image_assemble.ts), and the seed-compose preparation (scripts/seed-compose.ts): the
 * published compose files change only in their `image:` lines, the sidecar only by the documented fix.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { SEEDS } from "../../test-support/paths.js";
import { resolveEntry, sidecarProxyArgs } from "../entry.js";
import { containerCommand, healthUrls } from "../healthcheck.js";
import { keepInImage, SHIM_NAMES, shimText } from "../lib/image_assemble.js";
import { findSeedFile, fixSidecar, prepare, seedDirs, simpleProxy, swapImages } from "../seed-compose.js";

const seedFile = (name: string) => join(SEEDS, name);

describe("entry: the sidecar command (the seed's start.sh)", () => {
  it("`sidecar` and `echomesh-sidecar` run the sidecar, with the proxy's arguments", () => {
    expect(resolveEntry(["sidecar"])).toEqual({ kind: "sidecar", args: [] });
    expect(resolveEntry(["/usr/local/bin/echomesh-sidecar", "-c", "/x.yaml"])).toEqual({
      kind: "sidecar",
      args: ["-c", "/x.yaml"],
    });
  });
  it("with no arguments the proxy gets start.sh's: -c /etc/service-envoy.yaml --service-cluster service$SERVICE_NAME", () => {
    expect(sidecarProxyArgs([], { SERVICE_NAME: "2" })).toEqual([
      "-c",
      "/etc/service-envoy.yaml",
      "--service-cluster",
      "service2",
    ]);
    expect(sidecarProxyArgs(["-c", "/a.yaml"], { SERVICE_NAME: "2" })).toEqual(["-c", "/a.yaml"]);
  });
});

describe("healthcheck: what the container runs", () => {
  it("reads the container command from the entry script's or a shim's command line", () => {
    expect(containerCommand(["/usr/local/bin/node", "/app/dist/scripts/entry.js", "echo"])).toEqual(["echo"]);
    expect(containerCommand(["/usr/local/bin/node", "/app/dist/scripts/entry.js"])).toEqual([]);
    expect(containerCommand(["/usr/local/bin/node", "/usr/local/bin/envoy", "-c", "/f.yaml"])).toEqual([
      "/usr/local/bin/envoy",
      "-c",
      "/f.yaml",
    ]);
    expect(containerCommand(["/sbin/docker-init", "--", "node"])).toBeNull();
    expect(containerCommand(["/usr/local/bin/node", "/app/other.js"])).toBeNull();
  });

  it("the echo: /_echo/health on its port (flag or env)", async () => {
    expect(await healthUrls(["echo"], {})).toEqual(["http://127.0.0.1:8080/_echo/health"]);
    expect(await healthUrls([], { PORT: "9090" })).toEqual(["http://127.0.0.1:9090/_echo/health"]);
    expect(await healthUrls(["--port", "7070", "--host", "127.0.0.5"], {})).toEqual([
      "http://127.0.0.5:7070/_echo/health",
    ]);
  });

  it("the proxy: /ready on its config's admin address", async () => {
    expect(
      await healthUrls(
        ["/usr/local/bin/envoy", "-c", seedFile("proxy-envoy.yaml"), "--service-cluster", "x"],
        {},
      ),
    ).toEqual(["http://127.0.0.1:8001/ready"]);
    expect(
      await healthUrls(
        [
          "proxy",
          "-c",
          seedFile("proxy-envoy.yaml"),
          "--config-yaml",
          "admin: {address: {socket_address: {port_value: 9901}}}",
        ],
        {},
      ),
    ).toEqual(["http://127.0.0.1:9901/ready"]);
  });

  it("the sidecar: both; another program: nothing to ask", async () => {
    expect(await healthUrls(["sidecar", "-c", seedFile("service-envoy.yaml")], {})).toEqual([
      "http://127.0.0.1:8080/_echo/health",
      "http://127.0.0.1:8001/ready",
    ]);
    expect(await healthUrls(["/usr/local/bin/node", "-e", "1"], {})).toEqual([]);
    expect(await healthUrls(null, {})).toEqual([]);
  });

  it("a config that does not load is an error (unhealthy), not a pass", async () => {
    await expect(healthUrls(["envoy", "-c", "/nonexistent.yaml"], {})).rejects.toThrow();
  });
});

describe("image_assemble: what dist/ files the image keeps", () => {
  it("drops the suites, tests, source maps and build stamps", () => {
    expect(keepInImage("echo/main.js")).toBe(true);
    expect(keepInImage("scripts/healthcheck.js")).toBe(true);
    expect(keepInImage("conformance/cli.js")).toBe(false);
    expect(keepInImage("loadtest/bench.js")).toBe(false);
    expect(keepInImage("proxy/test/x.test.js")).toBe(false);
    expect(keepInImage("echo/main.js.map")).toBe(false);
    expect(keepInImage("echo/main.d.ts")).toBe(false);
    expect(keepInImage(".tsbuildinfo")).toBe(false);
  });
  it("one shim per entry command, run by the image's node", () => {
    expect([...SHIM_NAMES].sort()).toEqual(["echomesh-echo", "echomesh-proxy", "echomesh-sidecar", "envoy"]);
    expect(shimText("envoy")).toMatch(/^#!\/usr\/local\/bin\/node\n.*runEntry\(\["envoy", /);
  });
});

describe("seed-compose: the post's files with our image", () => {
  const work = mkdtempSync(join(tmpdir(), "echomesh-seed-compose-test-"));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const composeFound = (() => {
    try {
      findSeedFile("docker-compose.yml");
      findSeedFile("simple-proxy.yaml");
      return true;
    } catch {
      return false;
    }
  })();

  it("the sidecar fix: its cluster is its own echo over HTTP/1.1, the rest as published", () => {
    const published = parse(readFileSync(seedFile("service-envoy.yaml"), "utf8"));
    const fixed = parse(fixSidecar(readFileSync(seedFile("service-envoy.yaml"), "utf8")));
    const cluster = published.static_resources.clusters[0];
    delete cluster.http2_protocol_options;
    cluster.hosts = [{ socket_address: { address: "127.0.0.1", port_value: 8080 } }];
    expect(fixed).toEqual(published);
  });

  it("part 1's Envoy file: the front's, HTTP/1.1 to the echoes' port 8080", () => {
    const doc = parse(simpleProxy(readFileSync(seedFile("proxy-envoy.yaml"), "utf8")));
    const cluster = doc.static_resources.clusters[0];
    expect(cluster.http2_protocol_options).toBeUndefined();
    expect(cluster.hosts.map((h: { socket_address: unknown }) => h.socket_address)).toEqual([
      { address: "service1", port_value: 8080 },
      { address: "service2", port_value: 8080 },
    ]);
    expect(doc.static_resources.listeners[0].address.socket_address.port_value).toBe(80);
  });

  it("swapImages changes image: lines and nothing else", () => {
    const text =
      "services:\n  a:\n    image: zcong/echo\n    command: echo\n  b:\n    image:   envoyproxy/envoy:latest\n";
    expect(swapImages(text, "echomesh:local")).toBe(
      "services:\n  a:\n    image: echomesh:local\n    command: echo\n  b:\n    image:   echomesh:local\n",
    );
  });

  it.skipIf(!composeFound)("prepare: each compose file as published but for its image: lines", () => {
    const p = prepare(work, "echomesh:test", {});
    for (const [dir, name] of [
      [p.part1, "simple-proxy.yaml"],
      [p.part2, "docker-compose.yml"],
    ] as const) {
      const published = readFileSync(findSeedFile(name, seedDirs({})), "utf8").split("\n");
      const written = readFileSync(join(dir, "docker-compose.yml"), "utf8").split("\n");
      expect(written.length).toBe(published.length);
      const changed = written.filter((line, i) => line !== published[i]);
      expect(changed.length).toBeGreaterThan(0);
      for (const line of changed) expect(line).toMatch(/^\s*image: echomesh:test$/);
    }
    expect(readFileSync(join(p.part2, "proxy-envoy.yaml"), "utf8")).toBe(
      readFileSync(seedFile("proxy-envoy.yaml"), "utf8"),
    );
    expect(readFileSync(join(p.part2, "Dockerfile-service"), "utf8")).toMatch(/^FROM echomesh:test$/m);
  });
});
