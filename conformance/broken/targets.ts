/**
 * The honesty targets: mini-proxy.ts correct (`mini`, the control) and broken in one way each.
 * They run with the process driver only (the app image does not carry them).
 */
import { fromDist } from "../../lib/paths.js";
import { dnsMapArgs, envoyArgs } from "../harness/render.js";
import type { Feature, Target } from "../harness/types.js";

/** What the mini proxy implements (the self-test runs these groups against it). */
export const MINI_FEATURES: Feature[] = [
  "round-robin",
  "weighted",
  "dns-membership",
  "h2-upstream",
  "h2-downstream",
  "mesh",
  "websocket",
  "websocket-over-h2",
  "local-replies",
];

export type BreakKind = "none" | "first-backend" | "h1-upstream" | "no-upgrade" | "dns-once";

/** Built by the `conformance` vitest project's global setup, like the rest of dist/. */
const miniMain = fromDist("conformance/broken/mini-proxy.js");

const what: Record<BreakKind, string> = {
  none: "the suite's mini proxy, correct (control for the self-test)",
  "first-backend": "mini proxy that always picks the first backend",
  "h1-upstream": "mini proxy that ignores http2_protocol_options (HTTP/1.1 upstream always)",
  "no-upgrade": "mini proxy that refuses every WebSocket upgrade",
  "dns-once": "mini proxy that resolves DNS names once at start (ignores dns_refresh_rate)",
};

export function miniTarget(kind: BreakKind): Target {
  return {
    name: kind === "none" ? "mini" : `broken-${kind}`,
    description: what[kind],
    dialect: "envoy-v2",
    features: MINI_FEATURES,
    image: null,
    drivers: ["processes"],
    configPath: "/etc/envoy.yaml",
    containerCommand: () => [],
    processCommand: (config, serviceCluster, dnsMap) => [
      process.execPath,
      miniMain,
      ...envoyArgs(config, serviceCluster),
      ...dnsMapArgs(dnsMap),
      "--break",
      kind,
    ],
    async unavailable(driver) {
      return driver === "processes"
        ? null
        : "the mini proxies run with the process driver only (ECHOMESH_DRIVER=processes)";
    },
  };
}

export const brokenKinds: BreakKind[] = ["first-backend", "h1-upstream", "no-upgrade", "dns-once"];
