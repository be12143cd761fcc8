/** HAProxy (nbthread 1) when installed: single hop h1->h1 (also h2c in), h1->h2c, and the mesh. */
import { which } from "../proc.js";
import { haproxyConfig } from "../topologies/haproxy.js";
import { proxyFamily } from "./proxy_family.js";

export const [haproxy, haproxyH2up, haproxyMesh] = proxyFamily({
  name: "haproxy",
  label: "HAProxy nbthread 1",
  ext: "cfg",
  unavailable: () => (which("haproxy") === null ? "haproxy not installed" : null),
  config: haproxyConfig,
  process: (_ctx, file, port) => ({
    file: which("haproxy") as string,
    args: ["-db", "-f", file],
    ports: [port],
  }),
});
