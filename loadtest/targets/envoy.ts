/**
 * Envoy itself (`--concurrency 1`) in the three topologies, reading the v3 rendering of the spec our
 * proxy reads as v2 (./topology.ts). The binary is the one `lib/envoy.ts` finds (ECHOMESH_ENVOY_BIN, the
 * `npm run envoy:install` venv, PATH); without one the targets are unavailable with its reason. Its
 * version is in the report's header (bench.ts), not here: looking Envoy up runs it.
 */
import { findEnvoy } from "../../lib/envoy.js";
import { type ProxyFamily, proxyFamily, tlsHop } from "./proxy_family.js";

export const envoyFamily: ProxyFamily = {
  name: "envoy",
  label: "Envoy --concurrency 1",
  dialect: "envoy-v3",
  unavailable: () => {
    const found = findEnvoy();
    return found.found ? null : found.reason;
  },
  process: (_ctx, file, port) => {
    const found = findEnvoy();
    if (!found.found) throw new Error(found.reason);
    return {
      file: found.path,
      // a dynamic base id: other Envoys on the machine (tests, a second bench) never collide with this one
      args: ["-c", file, "--concurrency", "1", "--use-dynamic-base-id", "-l", "warn"],
      ports: [port],
    };
  },
};

export const [envoy, envoyH2up, envoyMesh] = proxyFamily(envoyFamily);
/** HTTPS in, HTTP/1.1 out (the TLS scenarios). */
export const envoyTls = tlsHop(envoyFamily);
