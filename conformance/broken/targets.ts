/**
 * The honesty targets: mini-proxy.ts correct (`mini`, the control) and broken in one way each.
 * They run with the process driver only (the app image does not carry them).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Target } from "../harness/types.js";

export type BreakKind = "none" | "first-backend" | "h1-upstream" | "no-upgrade";

const miniMain = fileURLToPath(new URL("../../dist/conformance/broken/mini-proxy.js", import.meta.url));

const what: Record<BreakKind, string> = {
  none: "the suite's mini proxy, correct (control for the self-test)",
  "first-backend": "mini proxy that always picks the first backend",
  "h1-upstream": "mini proxy that ignores http2_protocol_options (HTTP/1.1 upstream always)",
  "no-upgrade": "mini proxy that refuses every WebSocket upgrade",
};

export function miniTarget(kind: BreakKind): Target {
  return {
    name: kind === "none" ? "mini" : `broken-${kind}`,
    description: what[kind],
    dialect: "v2",
    image: null,
    configPath: "/etc/envoy.yaml",
    containerCommand: () => [],
    processCommand: (config, serviceCluster, dnsMap) => [
      process.execPath,
      miniMain,
      "-c",
      config,
      "--service-cluster",
      serviceCluster,
      "--dns-map",
      [...dnsMap].flatMap(([name, ips]) => ips.map((ip) => `${name}=${ip}`)).join(","),
      "--break",
      kind,
    ],
    async unavailable(driver) {
      if (driver !== "processes")
        return "the mini proxies run with the process driver only (ECHOMESH_DRIVER=processes)";
      if (!existsSync(miniMain)) return `${miniMain} not built (npm run build)`;
      return null;
    },
  };
}

export const brokenKinds: BreakKind[] = ["first-backend", "h1-upstream", "no-upgrade"];
