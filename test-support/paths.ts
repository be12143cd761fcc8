/** Repository paths for tests: the roots from lib/paths.ts and the entry points tests run. */
import { fromDist, fromRoot } from "../lib/paths.js";

export { distDir, fromDist, fromRoot, packageRoot } from "../lib/paths.js";

/** The built proxy CLI (`echomesh-proxy`). */
export const PROXY_MAIN = fromDist("proxy/main.js");
/** The built echo CLI (`echomesh-echo`). */
export const ECHO_MAIN = fromDist("echo/main.js");
/** The built mesh runner (`npm start`). */
export const MESH_MAIN = fromDist("scripts/mesh.js");
/** The seed's Envoy configs, byte for byte as the blog published them. */
export const SEEDS = fromRoot("seeds");
