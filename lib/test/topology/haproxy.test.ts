/**
 * HAProxy 2.6 renderer: every catalog shape renders (h2c upstreams as `proto h2`, a weighted split as
 * `rand`-drawn `use_backend` rules, strict_dns as `resolvers` + `server-template`), `haproxy -c`
 * accepts each, and HAProxy carries requests round robin to two echoes over h2c.
 */
import { DNS_NAME, describePeer } from "./peers.js";

describePeer("haproxy", {
  unsupported: {},
  contains: {
    "single h1": ["balance roundrobin", /acl r0 path_beg \/ws\n/, "use_backend be_myservice if r1 !r0"],
    "single h2c": [/server s0 127\.0\.0\.1:\d+ proto h2\n/],
    "mesh front": [/server s0 127\.0\.0\.1:\d+ proto h2\n/],
    weighted: ["use_backend be_myservice if r0 { rand(100) lt 80 }", "use_backend be_canary if r0\n"],
    strict_dns: [
      /nameserver ns1 127\.0\.0\.1:\d+\n/,
      "hold valid 1000ms",
      `server-template s0_ 8 ${DNS_NAME}:`,
      "init-addr none",
    ],
  },
  roundTrip: { shape: "single h2c", protocol: "HTTP/2.0" },
});
