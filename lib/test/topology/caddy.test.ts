/**
 * Caddy 2.6 renderer: no split between clusters by weight (unsupported, saying so); the rest renders
 * (codec auto as `protocols h1 h2c`, h2c upstreams as `versions h2c`, strict_dns as `dynamic a`
 * upstreams asking our DNS server), `caddy validate` accepts each, and Caddy carries requests round
 * robin to two echoes over h2c.
 */
import { DNS_NAME, describePeer } from "./peers.js";

describePeer("caddy", {
  unsupported: { weighted: /a weighted split between clusters on \/ \(Caddy 2\.6 has none\)/ },
  contains: {
    "single h1": [
      "admin off",
      "auto_https off",
      "protocols h1 h2c",
      "handle /ws* {",
      "lb_policy round_robin",
    ],
    "single h2c": ["versions h2c"],
    "mesh front": ["versions h2c"],
    strict_dns: ["dynamic a {", `name ${DNS_NAME}`, "refresh 1000ms", /resolvers 127\.0\.0\.1:\d+\n/],
  },
  roundTrip: { shape: "single h2c", protocol: "HTTP/2.0" },
});
