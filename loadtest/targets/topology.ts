/**
 * The benchmarks' proxies on the topology model (lib/topology): the seed's proxy and the seed's mesh
 * from the catalog, on loopback, hosts as static addresses, no admin listener, rendered for each
 * dialect with profile `bench` (one worker or thread, connection limits far above the load,
 * upstream keep-alive pools: each renderer says what it changes).
 *
 *   single hop:  listener (codec auto: HTTP/1.1 and h2c) -> round robin over the echoes
 *   h2 upstream: the same, h2c (prior knowledge) to the echoes
 *   mesh:        `seedMesh`: front -> h2c -> one sidecar per echo -> HTTP/1.1
 */
import { seedMesh, seedProxy } from "../../lib/topology/catalog.js";
import type { Address, ClusterSpec, Dialect, ProxySpec } from "../../lib/topology/model.js";
import { type RenderContext, renderProxy } from "../../lib/topology/render.js";

export const LOOPBACK = "127.0.0.1";

const at = (port: number): Address => ({ host: LOOPBACK, port });

/** One hop on `port`, round robin over the `upstreams` (loopback ports), speaking `protocol` to them. */
export function singleHop(
  port: number,
  upstreams: readonly number[],
  protocol: ClusterSpec["protocol"],
): ProxySpec {
  return seedProxy({
    listen: at(port),
    admin: null,
    hosts: upstreams.map(at),
    discovery: "static",
    protocol,
  });
}

/** The seed's mesh: the front on `front`, one sidecar per `{ port, echo }` in front of its echo. */
export function mesh(
  front: number,
  sidecars: readonly { port: number; echo: number }[],
): { front: ProxySpec; sidecars: ProxySpec[] } {
  return seedMesh({
    front: { listen: at(front), admin: null },
    sidecars: sidecars.map((s) => ({
      listen: at(s.port),
      admin: null,
      reachAs: at(s.port),
      echo: at(s.echo),
    })),
    discovery: "static",
  });
}

/** The config text of `spec` in `dialect`, profile `bench`; `workDir` holds what the proxy writes. */
export function benchConfig(
  spec: ProxySpec,
  dialect: Dialect,
  workDir: string,
  extra: Omit<Partial<RenderContext>, "profile" | "workDir"> = {},
): string {
  return renderProxy(spec, dialect, { profile: "bench", workDir, ...extra });
}
