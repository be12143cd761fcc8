/** Our proxy (`node dist/proxy/main.js -c FILE --concurrency 1`) in the three topologies, the seed's v2 dialect. */
import { type ProxyFamily, proxyFamily, tlsHop } from "./proxy_family.js";
import { nodeSpec } from "./spawn.js";

export const echomeshFamily: ProxyFamily = {
  name: "echomesh",
  label: "our proxy, 1 worker",
  dialect: "envoy-v2",
  unavailable: () => null,
  process: (ctx, file, port) =>
    nodeSpec(
      ctx,
      "proxy/main.js",
      ["-c", file, "--concurrency", "1", "-l", "warn", "--drain-time-s", "1"],
      [port],
    ),
};

export const [echomesh, echomeshH2up, echomeshMesh] = proxyFamily(echomeshFamily);
/** HTTPS in, HTTP/1.1 out (the TLS scenarios). */
export const echomeshTls = tlsHop(echomeshFamily);
