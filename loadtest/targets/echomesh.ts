/** Our proxy (`node dist/proxy/main.js -c FILE --concurrency 1`) in the three topologies. */
import { proxyYaml } from "../topologies/echomesh.js";
import { proxyFamily } from "./proxy_family.js";
import { nodeSpec } from "./spawn.js";

export const [echomesh, echomeshH2up, echomeshMesh] = proxyFamily({
  name: "echomesh",
  label: "our proxy, 1 worker",
  ext: "yaml",
  unavailable: () => null,
  config: (port, upstreams, h2) => proxyYaml({ port, upstreams, h2 }),
  process: (ctx, file, port) =>
    nodeSpec(
      ctx,
      "proxy/main.js",
      ["-c", file, "--concurrency", "1", "-l", "warn", "--drain-time-s", "1"],
      [port],
    ),
});
