/**
 * The configs of the `reload` scenario: the benchmarks' single hop (../targets/topology.ts: the seed's
 * proxy, round robin over one echo set) rendered from the topology model, profile `bench`, in three
 * shapes:
 *   - Envoy v3 with the cluster static (our proxy reloads it on SIGHUP);
 *   - Envoy v3 whose cluster comes from a CDS file (`dynamic_resources.cds_config` with
 *     `path_config_source` and a watched directory: our proxy and Envoy reread it when a new file is
 *     moved into place), plus that file: the static rendering's cluster, moved into the file;
 *   - HAProxy's, reloaded with `-sf`.
 */
import { parse, stringify } from "yaml";
import { SEED } from "../../lib/topology/catalog.js";
import type { ProxySpec } from "../../lib/topology/model.js";
import { benchConfig, LOOPBACK, singleHop } from "../targets/topology.js";

type Obj = Record<string, unknown>;

const CLUSTER_TYPE = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

/** The single hop on `port` over `echoes`, with Envoy's admin on `adminPort`. */
function spec(port: number, adminPort: number, echoes: readonly number[]): ProxySpec {
  return {
    ...singleHop(port, echoes, "http1"),
    admin: { host: LOOPBACK, port: adminPort, accessLogPath: SEED.adminAccessLog },
  };
}

/** The v3 document of the static shape (no file is written: Envoy needs no work folder). */
function staticDoc(port: number, adminPort: number, echoes: readonly number[]): Obj {
  return parse(benchConfig(spec(port, adminPort, echoes), "envoy-v3", "")) as Obj;
}

const resources = (doc: Obj) => doc.static_resources as { listeners: Obj[]; clusters?: Obj[] };

/** A v3 bootstrap with the cluster over `echoes` static. */
export function staticBootstrap(port: number, adminPort: number, echoes: readonly number[]): string {
  return stringify(staticDoc(port, adminPort, echoes));
}

/** A v3 bootstrap whose cluster comes from the CDS file `cdsPath` (its directory watched). */
export function cdsBootstrap(port: number, adminPort: number, cdsPath: string, dir: string): string {
  const doc = staticDoc(port, adminPort, []);
  delete resources(doc).clusters;
  // the cluster comes from CDS after the listener: not checked at load
  for (const l of resources(doc).listeners)
    for (const fc of l.filter_chains as { filters: { typed_config: { route_config: Obj } }[] }[])
      for (const f of fc.filters) f.typed_config.route_config.validate_clusters = false;
  return stringify({
    node: { id: "bench", cluster: "bench" },
    ...doc,
    dynamic_resources: {
      cds_config: {
        resource_api_version: "V3",
        path_config_source: { path: cdsPath, watched_directory: { path: dir } },
      },
    },
  });
}

/** The CDS file (a DiscoveryResponse) holding the cluster over `echoes`, version `version`. */
export function cdsFile(version: number, echoes: readonly number[]): string {
  const [cluster] = resources(staticDoc(0, 0, echoes)).clusters ?? [];
  return stringify({ version_info: String(version), resources: [{ "@type": CLUSTER_TYPE, ...cluster }] });
}

/** HAProxy's config: the single hop on `port` over `echoes`. */
export function haproxyConfig(port: number, echoes: readonly number[], workDir: string): string {
  return benchConfig(singleHop(port, echoes, "http1"), "haproxy", workDir);
}
