/** HAProxy (nbthread 1) when installed: single hop h1->h1 (also h2c in), h1->h2c, and the mesh. */
import { installed, type ProxyFamily, proxyFamily, tlsHop } from "./proxy_family.js";

export const haproxyFamily: ProxyFamily = {
  name: "haproxy",
  label: "HAProxy nbthread 1",
  dialect: "haproxy",
  ...installed("haproxy", (file) => ["-db", "-f", file]),
};

export const [haproxy, haproxyH2up, haproxyMesh] = proxyFamily(haproxyFamily);
/** HTTPS in, HTTP/1.1 out (the TLS scenarios). */
export const haproxyTls = tlsHop(haproxyFamily);
