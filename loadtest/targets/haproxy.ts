/** HAProxy (nbthread 1) when installed: single hop h1->h1 (also h2c in), h1->h2c, and the mesh. */
import { installed, proxyFamily } from "./proxy_family.js";

export const [haproxy, haproxyH2up, haproxyMesh] = proxyFamily({
  name: "haproxy",
  label: "HAProxy nbthread 1",
  dialect: "haproxy",
  ...installed("haproxy", (file) => ["-db", "-f", file]),
});
