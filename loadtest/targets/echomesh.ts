/** Our proxy (`node dist/proxy/main.js -c FILE --concurrency 1`) in the three topologies. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { proxyYaml } from "../topologies/echomesh.js";
import { proxyFamily } from "./proxy_family.js";
import { nodeSpec } from "./spawn.js";

const MAIN = "proxy/main.js";

export const [echomesh, echomeshH2up, echomeshMesh] = proxyFamily({
  name: "echomesh",
  label: "our proxy, 1 worker",
  ext: "yaml",
  unavailable: (ctx) => (existsSync(join(ctx.dist, MAIN)) ? null : "dist/proxy/main.js not built"),
  config: (port, upstreams, h2) => proxyYaml({ port, upstreams, h2 }),
  process: (ctx, file, port) =>
    nodeSpec(ctx, MAIN, ["-c", file, "--concurrency", "1", "-l", "warn", "--drain-time-s", "1"], [port]),
});
