/**
 * `dynamic_resources` with file-based LDS/CDS: what validation accepts and refuses (with YAML paths),
 * how the files' resources join the static ones, and the Reloader reacting to a file moved into
 * place (not to a write in place), counting Envoy's `update_*` stats.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { waitUntil } from "../../../lib/wait.js";
import { loadConfigString, ProxyConfigError } from "../../config/load.js";
import type { Bootstrap } from "../../config/model.js";
import { loadBootstrap } from "../../server/config_source.js";
import { silentLogger } from "../../server/log.js";
import type { ProxyOptions } from "../../server/options.js";
import { ConfigState, Reloader } from "../../server/reload.js";
import { StatsStore } from "../../stats/store.js";

const dirs: string[] = [];
const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "echomesh-xds-test-"));
  dirs.push(d);
  return d;
}

const CLUSTER_V3 = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

function cds(version: string, clusters: { name: string; port: number; timeout?: string }[]): string {
  return JSON.stringify({
    version_info: version,
    resources: clusters.map((c) => ({
      "@type": CLUSTER_V3,
      name: c.name,
      connect_timeout: c.timeout ?? "1s",
      type: "STATIC",
      load_assignment: {
        cluster_name: c.name,
        endpoints: [
          {
            lb_endpoints: [
              { endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: c.port } } } },
            ],
          },
        ],
      },
    })),
  });
}

function bootstrapWithCds(
  dir: string,
  source = `{ path_config_source: { path: ${join(dir, "cds.json")} } }`,
): string {
  const path = join(dir, "bootstrap.yaml");
  writeFileSync(
    path,
    `node: { id: n, cluster: c }
admin: { address: { socket_address: { address: 127.0.0.1, port_value: 0 } } }
dynamic_resources:
  cds_config: ${source}
`,
  );
  return path;
}

function errorsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProxyConfigError) return err.errors;
    throw err;
  }
  return [];
}

describe("dynamic_resources validation", () => {
  it("accepts path_config_source (v3) and path (v2; deprecated in v3, a warning)", () => {
    const v3 = loadConfigString(
      "dynamic_resources: { lds_config: { path_config_source: { path: /x/lds.yaml, watched_directory: { path: /x } }, resource_api_version: V3 }, cds_config: { path: /x/cds.yaml } }",
    );
    expect(v3.dynamicResources).toEqual({
      lds: { path: "/x/lds.yaml", watchedDirectory: "/x" },
      cds: { path: "/x/cds.yaml", watchedDirectory: null },
    });
    expect(v3.warnings?.join("\n")).toContain("dynamic_resources.cds_config.path: deprecated in v3");
  });

  it("refuses ADS, gRPC sources and a source without a path, naming the YAML path", () => {
    const errors = errorsOf(() =>
      loadConfigString(`
dynamic_resources:
  ads_config: { api_type: GRPC }
  lds_config: { ads: {} }
  cds_config: { path_config_source: { watched_directory: { path: /x } } }
`),
    );
    expect(errors.join("\n")).toMatch(/dynamic_resources\.ads_config: unsupported: only file-based/);
    expect(errors.join("\n")).toMatch(/dynamic_resources\.lds_config\.ads: unsupported/);
    expect(errors.join("\n")).toMatch(
      /dynamic_resources\.cds_config\.path_config_source\.path: required field is missing/,
    );
  });
});

describe("the files' resources join the config", () => {
  it("CDS clusters load as the static ones, remembered as added via the API with the file's version", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "cds.json"), cds("v7", [{ name: "from_cds", port: 9 }]));
    const b = await loadBootstrap(bootstrapWithCds(dir), null);
    expect(b.clusters.map((c) => c.name)).toEqual(["from_cds"]);
    expect(b.dynamic).toMatchObject({ cdsVersion: "v7", apiClusters: ["from_cds"], ldsVersion: null });
  });

  it("an invalid resource is refused naming the file and resources[i]; a wrong @type too", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "cds.json"),
      cds("1", [
        { name: "ok", port: 9 },
        { name: "bad", port: 9, timeout: "-1s" },
      ]),
    );
    await expect(loadBootstrap(bootstrapWithCds(dir), null)).rejects.toMatchObject({
      errors: [
        expect.stringMatching(
          new RegExp(`^${join(dir, "cds.json")}: resources\\[1\\]\\.connect_timeout: invalid duration`),
        ),
      ],
    });
    writeFileSync(
      join(dir, "cds.json"),
      JSON.stringify({ resources: [{ "@type": "type.googleapis.com/x.Listener", name: "l" }] }),
    );
    await expect(loadBootstrap(bootstrapWithCds(dir), null)).rejects.toMatchObject({
      errors: [
        expect.stringMatching(
          /resources\[0\]\.@type: expected type\.googleapis\.com\/envoy\.config\.cluster\.v3\.Cluster/,
        ),
      ],
    });
  });
});

function options(path: string): ProxyOptions {
  return { configPath: path, configYaml: null, drainTimeS: 1, watch: false } as ProxyOptions;
}

describe("LDS routes and CDS clusters", () => {
  it("an LDS listener may route to a CDS cluster; one naming an unknown cluster is rejected naming its file", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "cds.json"), cds("1", [{ name: "from_cds", port: 9 }]));
    const lds = (cluster: string) =>
      JSON.stringify({
        version_info: "1",
        resources: [
          {
            "@type": "type.googleapis.com/envoy.config.listener.v3.Listener",
            name: "l",
            address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
            filter_chains: [
              {
                filters: [
                  {
                    name: "envoy.filters.network.http_connection_manager",
                    typed_config: {
                      "@type":
                        "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                      stat_prefix: "s",
                      route_config: {
                        virtual_hosts: [
                          {
                            name: "v",
                            domains: ["*"],
                            routes: [{ match: { prefix: "/" }, route: { cluster } }],
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
      });
    const path = join(dir, "bootstrap.yaml");
    writeFileSync(
      path,
      `node: { id: n, cluster: c }
dynamic_resources:
  lds_config: { path_config_source: { path: ${join(dir, "lds.json")} } }
  cds_config: { path_config_source: { path: ${join(dir, "cds.json")} } }
`,
    );
    writeFileSync(join(dir, "lds.json"), lds("from_cds"));
    const b = await loadBootstrap(path, null);
    expect(b.listeners.map((l) => l.name)).toEqual(["l"]);
    expect(b.dynamic?.apiListeners).toEqual(["l"]);
    // A CDS update that removes the routed cluster is accepted, as Envoy accepts it (503 at run time).
    const state = await ConfigState.load({ configPath: path, configYaml: null });
    writeFileSync(join(dir, "cds.json"), cds("2", [{ name: "other", port: 9 }]));
    const afterCds = await ConfigState.withFiles(state.base, state.lds, null, false);
    expect(afterCds.bootstrap.clusters.map((c) => c.name)).toEqual(["other"]);
    writeFileSync(join(dir, "cds.json"), cds("1", [{ name: "from_cds", port: 9 }]));
    writeFileSync(join(dir, "lds.json"), lds("nowhere"));
    await expect(loadBootstrap(path, null)).rejects.toMatchObject({
      errors: [
        expect.stringMatching(
          new RegExp(`^${join(dir, "lds.json")}: resources\\[0\\]\\..*unknown cluster "nowhere"`),
        ),
      ],
    });
  });
});

describe("Reloader on a CDS file", () => {
  it("with watched_directory: a file moved into the directory reloads the path", async () => {
    const dir = tempDir();
    const file = join(dir, "cds.json");
    writeFileSync(file, cds("1", [{ name: "a", port: 9 }]));
    const path = bootstrapWithCds(
      dir,
      `{ path_config_source: { path: ${file}, watched_directory: { path: ${dir} } } }`,
    );
    const applied: Bootstrap[] = [];
    const reloader = new Reloader(
      await ConfigState.load(options(path)),
      options(path),
      silentLogger,
      async (next) => {
        applied.push(next);
        return "ok";
      },
      new StatsStore(),
    );
    closers.push(() => reloader.close());
    reloader.watch();
    // As the bench and many deploy tools do: `<file>.next` written, then renamed over the file.
    writeFileSync(`${file}.next`, cds("2", [{ name: "b", port: 9 }]));
    renameSync(`${file}.next`, file);
    await waitUntil("the moved file applied", () => applied.length >= 1, { withinMs: 5000 });
    expect(applied.at(-1)?.clusters.map((c) => c.name)).toEqual(["b"]);
  });

  it("reloads when a file is renamed over it, not on a write in place; counts update_* as Envoy", async () => {
    const dir = tempDir();
    const file = join(dir, "cds.json");
    writeFileSync(file, cds("1", [{ name: "a", port: 9 }]));
    const path = bootstrapWithCds(dir);
    const stats = new StatsStore();
    const applied: Bootstrap[] = [];
    const reloader = new Reloader(
      await ConfigState.load(options(path)),
      options(path),
      silentLogger,
      async (next) => {
        applied.push(next);
        return "ok";
      },
      stats,
    );
    closers.push(() => reloader.close());
    reloader.watch();
    const counter = (name: string) => stats.snapshot().counters[`cluster_manager.cds.${name}`];
    expect(counter("update_attempt")).toBe(1);
    expect(counter("update_success")).toBe(1);

    // A write in place: Envoy does not reload (it watches for moves).
    writeFileSync(file, cds("2", [{ name: "b", port: 9 }]));
    await new Promise((r) => setTimeout(r, 300));
    expect(applied).toHaveLength(0);

    const move = (text: string) => {
      writeFileSync(join(dir, "next.tmp"), text);
      renameSync(join(dir, "next.tmp"), file);
    };
    move(cds("3", [{ name: "c", port: 9 }]));
    await waitUntil("the moved file applied", () => applied.length === 1, { withinMs: 5000 });
    expect(applied[0]?.clusters.map((c) => c.name)).toEqual(["c"]);
    expect(applied[0]?.dynamic?.cdsVersion).toBe("3");
    expect(counter("update_success")).toBe(2);

    move(cds("4", [{ name: "d", port: 9, timeout: "-1s" }]));
    await waitUntil("the invalid file rejected", () => counter("update_rejected") === 1, { withinMs: 5000 });
    move("not: [valid");
    await waitUntil("the unparseable file failed", () => counter("update_failure") === 1, { withinMs: 5000 });
    expect(applied).toHaveLength(1);
    expect(reloader.bootstrap.dynamic?.cdsVersion).toBe("3");
    expect(counter("update_attempt")).toBe(4);
  });
});
