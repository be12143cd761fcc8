/**
 * Reload through the built CLI: SIGHUP and --watch reload the -c file (an invalid one is logged
 * with the validate-mode lines and refused, the old config keeps serving), with one process and
 * with --concurrency 2; `--mode validate` reads the LDS/CDS files.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { waitUntil } from "../../../lib/wait.js";
import { request } from "../../../test-support/http.js";
import { PROXY_MAIN } from "../../../test-support/paths.js";
import { type Running, runToEnd, startProcess, stopChild } from "../../../test-support/process.js";

/** A v3 config whose one listener answers `body` itself on `/`. */
function config(body: string): string {
  return `
admin: { address: { socket_address: { address: 127.0.0.1, port_value: 0 } } }
static_resources:
  listeners:
  - name: front
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                direct_response: { status: 200, body: { inline_string: "${body}" } }
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
`;
}

const running: Running[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => stopChild(p.child, 2000)));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempConfig(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "echomesh-reload-cli-"));
  dirs.push(dir);
  const path = join(dir, "envoy.yaml");
  writeFileSync(path, text);
  return path;
}

async function serve(path: string, args: string[] = []): Promise<{ proc: Running; port: number }> {
  const proc = startProcess(PROXY_MAIN, ["-c", path, "--drain-time-s", "1", ...args]);
  running.push(proc);
  const m = await proc.waitFor(/listener front on 127\.0\.0\.1:(\d+)/);
  await proc.waitFor(/serving/);
  return { proc, port: Number(m[1]) };
}

const body = async (port: number) => (await request(port, "/")).text;

describe("reload from the CLI", () => {
  it("SIGHUP: an invalid file is refused with the validate-mode lines, a valid one applied", async () => {
    const path = tempConfig(config("one"));
    const { proc, port } = await serve(path);
    expect(await body(port)).toBe("one");

    writeFileSync(
      path,
      config("two").replace("stat_prefix: ingress", "stat_prefix: ingress\n          bogus_field: 1"),
    );
    proc.child.kill("SIGHUP");
    await proc.waitFor(/SIGHUP: new config rejected \(1 error\); the old one keeps serving/);
    await proc.waitFor(/bogus_field: unknown field/);
    expect(await body(port)).toBe("one");

    writeFileSync(path, config("two"));
    proc.child.kill("SIGHUP");
    await proc.waitFor(/SIGHUP: config applied: clusters \+0 ~0 -0, listeners \+0 ~1 -0/);
    expect(await body(port)).toBe("two");
  });

  it("--watch reloads when the file changes", async () => {
    const path = tempConfig(config("one"));
    const { proc, port } = await serve(path, ["--watch"]);
    writeFileSync(path, config("watched"));
    await proc.waitFor(/--watch: config applied/);
    expect(await body(port)).toBe("watched");
  });

  it("--concurrency 2: the primary validates, every worker applies", async () => {
    const path = tempConfig(config("one"));
    const proc = startProcess(PROXY_MAIN, ["-c", path, "--drain-time-s", "1", "--concurrency", "2"]);
    running.push(proc);
    const m = await proc.waitFor(/listener front on 127\.0\.0\.1:(\d+)/);
    await proc.waitFor(/all 2 workers serving/);
    const port = Number(m[1]);
    writeFileSync(path, config("both"));
    proc.child.kill("SIGHUP");
    await proc.waitFor(/SIGHUP: config applied: applied by 2 workers/);
    await waitUntil("every worker answers the new body", async () => {
      for (let i = 0; i < 6; i++) if ((await body(port)) !== "both") return false;
      return true;
    });
  });

  it("--mode validate reads the CDS file and names it in an error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "echomesh-reload-cli-"));
    dirs.push(dir);
    writeFileSync(
      join(dir, "cds.yaml"),
      `version_info: "1"
resources:
- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
  name: c
  connect_timeout: nope
`,
    );
    const path = join(dir, "envoy.yaml");
    writeFileSync(
      path,
      `node: { id: n, cluster: c }
dynamic_resources:
  cds_config: { path_config_source: { path: ${join(dir, "cds.yaml")} }, resource_api_version: V3 }
`,
    );
    const r = await runToEnd(PROXY_MAIN, ["--mode", "validate", "-c", path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${join(dir, "cds.yaml")}: resources[0].connect_timeout: invalid duration "nope"`,
    );
  });
});
