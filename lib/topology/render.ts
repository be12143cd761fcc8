/** One entry point from a proxy spec to the config file a dialect reads. */
import { renderCaddy } from "./caddy.js";
import { renderEnvoy } from "./envoy.js";
import { renderHaproxy } from "./haproxy.js";
import type { Address, Dialect, EnvoyExtras, ProxySpec } from "./model.js";
import { renderNginx } from "./nginx.js";

export interface RenderContext {
  /** A folder the proxy may write to (nginx's pid and temp files, Caddy's state). */
  workDir: string;
  /** The DNS server that `strict_dns` clusters ask (the conformance process driver's); default: the system's. */
  resolver?: Address;
  /**
   * The addresses host names stand for at start, for a dialect that cannot ask `resolver` for a
   * cluster (nginx 1.22 resolves upstream names once, with the system's resolver): it writes them in.
   */
  names?: ReadonlyMap<string, readonly string[]>;
  /**
   * `default`: the suite's configs (each dialect's defaults, as a user would write them).
   * `bench`: tuned as the benchmarks run every proxy (one worker, connection limits far above the
   * load, upstream keep-alive pools); each renderer says what it changes.
   */
  profile: "default" | "bench";
  /** Envoy-only edits of the rendered v2 document (ProxyNode.envoy); other dialects render without them. */
  envoy?: EnvoyExtras;
  /**
   * nginx only: a second server on this address serving h2c with the same routes (nginx 1.22 cannot
   * serve HTTP/1.1 and h2c on one port; the benchmarks' h2load scenarios use it).
   */
  h2cListen?: Address;
}

/** The config file text for `dialect` (YAML for Envoy, haproxy.cfg, nginx.conf, a Caddyfile). */
export function renderProxy(spec: ProxySpec, dialect: Dialect, ctx: RenderContext): string {
  switch (dialect) {
    case "envoy-v2":
    case "envoy-v3":
      return renderEnvoy(spec, dialect, ctx);
    case "haproxy":
      return renderHaproxy(spec, ctx);
    case "nginx":
      return renderNginx(spec, ctx);
    case "caddy":
      return renderCaddy(spec, ctx);
  }
}

/** The file extension each dialect's config is written with. */
export const CONFIG_EXT: Record<Dialect, string> = {
  "envoy-v2": "yaml",
  "envoy-v3": "yaml",
  haproxy: "cfg",
  nginx: "conf",
  caddy: "Caddyfile",
};
