/** Our proxy (`node dist/proxy/main.js -c FILE --concurrency 1`) in the three topologies, the seed's v2 dialect. */
import { proxyFamily } from "./proxy_family.js";
import { nodeSpec } from "./spawn.js";

export const [echomesh, echomeshH2up, echomeshMesh] = proxyFamily({
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
});
