/**
 * nginx 1.22 renderer: no HTTP/2 to upstreams (the h2c shapes are unsupported, saying so); the rest
 * renders (a weighted split as `split_clients`, WebSocket routes with the Upgrade/Connection pair,
 * names written in as the addresses they stand for), `nginx -t` accepts each, and nginx carries
 * requests round robin to two echoes over HTTP/1.1.
 */
import { describePeer } from "./peers.js";

describePeer("nginx", {
  unsupported: {
    "single h2c": /HTTP\/2 to the upstreams of cluster myservice/,
    "mesh front": /HTTP\/2 to the upstreams of cluster myservice/,
  },
  contains: {
    "single h1": [
      "proxy_http_version 1.1;",
      "proxy_set_header Host $http_host;",
      "proxy_set_header Upgrade $http_upgrade;",
      'proxy_set_header Connection "";',
      /location \/ws \{[^}]*Connection \$connection_upgrade/,
    ],
    weighted: [/split_clients "\$\{request_id\}" \$split_0 /, "80.00% u_myservice;", "* u_canary;"],
    strict_dns: [/server 127\.0\.0\.2:\d+;\n\s+server 127\.0\.0\.3:\d+;/],
  },
  roundTrip: { shape: "single h1", protocol: "HTTP/1.1" },
});
