/**
 * Mutants of our proxy: each a small, realistic bug of the kind proxies ship, written as text edits
 * of ONE compiled file of `dist/` (the `.js` that `file` compiles to; `search` is that output's text,
 * which must occur exactly once, else the mutant is stale and the run fails). The runner
 * (./run.ts) applies each to a copy of `dist/` and runs the conformance suite against it; a mutant
 * the suite does not notice is a missing check, unless `equivalent` says why no check can see it.
 */

/** Where the bug lives (the list of areas). */
export type MutantArea =
  | "load-balancing"
  | "protocol-conversion"
  | "headers"
  | "bodies"
  | "framing"
  | "websocket"
  | "timeouts"
  | "retries"
  | "dns"
  | "local-replies";

export interface MutantEdit {
  /** Exact text of the compiled file; must occur exactly once. */
  search: string;
  replace: string;
}

export interface Mutant {
  /** Unique, kebab-case; `--only NAME`. */
  name: string;
  area: MutantArea;
  /** The bug, as a user of the proxy would see it. */
  description: string;
  /** The source file (repo-relative `.ts`); the edits apply to its compiled `dist/` `.js`. */
  file: string;
  edits: MutantEdit[];
  /**
   * The target the suite runs: `echomesh` (the seed's v2 configs, the default) or `echomesh-v3`, for
   * a bug on a path only v3 configs reach.
   */
  target?: "echomesh" | "echomesh-v3";
  /** Set only for an equivalent mutant: why no correct check can tell it from the original. */
  equivalent?: string;
}

export const mutants: Mutant[] = [
  // --- load balancing ---
  {
    name: "lb-endpoint-weight-ignored",
    area: "load-balancing",
    description: "endpoint `load_balancing_weight` parsed but every host gets weight 1",
    file: "proxy/config/cluster.ts",
    edits: [
      {
        search: "out.push({ address, weight: input.weight, hostname });",
        replace: "out.push({ address, weight: 1, hostname });",
      },
    ],
  },
  {
    name: "lb-rr-per-connection",
    area: "load-balancing",
    description:
      "round robin kept per downstream connection: each connection starts at the first host, so " +
      "one request per connection always reaches the same backend",
    file: "proxy/router/upstream_request.ts",
    edits: [
      {
        search: "const host = selector === null ? cluster.chooseHost() : selector.chooseHost(cluster);",
        replace:
          "const rrConn = stream.connection ?? stream;\n" +
          "        const rrSeq = (rrConn.mutantRr ??= new Map());\n" +
          "        const rrK = rrSeq.get(cluster) ?? 0;\n" +
          "        rrSeq.set(cluster, rrK + 1);\n" +
          "        const rrList = cluster.active;\n" +
          "        const host = rrList.length === 0 ? null : rrList[rrK % rrList.length];",
      },
    ],
  },
  {
    name: "lb-rr-random",
    area: "load-balancing",
    description: "round_robin picks a random host (uniform, so shares look right on average)",
    file: "proxy/load_balancer/round_robin.ts",
    edits: [
      {
        search: "const host = this.hosts[this.cursor];",
        replace: "const host = this.hosts[randomIndex(this.random, n)];",
      },
    ],
  },
  {
    name: "lb-rr-skips-last",
    area: "load-balancing",
    description: "round robin off by one: the cursor wraps one early, the last host is never picked",
    file: "proxy/load_balancer/round_robin.ts",
    edits: [
      {
        search: "this.cursor = this.cursor + 1 === n ? 0 : this.cursor + 1;",
        replace: "this.cursor = this.cursor + 2 >= n ? 0 : this.cursor + 1;",
      },
    ],
  },
  {
    name: "lb-weighted-clusters-first",
    area: "load-balancing",
    description: "route `weighted_clusters` always picks the first cluster",
    file: "proxy/router/route_table.ts",
    edits: [{ search: "let point = random % action.totalWeight;", replace: "let point = 0;" }],
  },
  // --- protocol conversion ---
  {
    name: "proto-h2-upstream-ignored",
    area: "protocol-conversion",
    description: "a cluster's `http2_protocol_options` ignored: upstream always HTTP/1.1",
    file: "proxy/conn_pool/index.ts",
    edits: [
      { search: 'return cluster.protocol === "http2"', replace: 'return cluster.protocol === "h2-never"' },
    ],
  },
  {
    name: "proto-h2c-preface-refused",
    area: "protocol-conversion",
    description: "the listener's h2c sniff takes the HTTP/2 preface for HTTP/1.1 (h2c clients fail)",
    file: "lib/h2c_sniff.ts",
    edits: [
      {
        search: 'return n === H2_PREFACE.length ? "http2" : null;',
        replace: 'return n === H2_PREFACE.length ? "http1" : null;',
      },
    ],
  },
  {
    name: "proto-host-auto-rewritten",
    area: "protocol-conversion",
    description:
      "Host/`:authority` rewritten to the upstream host's name on every route (not only `auto_host_rewrite`)",
    file: "proxy/router/upstream_request.ts",
    edits: [{ search: "if (action.autoHostRewrite)", replace: "if (true)" }],
  },
  {
    name: "proto-host-rewrite-ignored",
    area: "protocol-conversion",
    description: "a route's `host_rewrite` (literal) ignored: the client's Host goes upstream",
    file: "proxy/router/upstream_request.ts",
    edits: [{ search: "if (action.hostRewriteLiteral !== null) {", replace: "if (false) {" }],
  },
  // --- headers ---
  {
    name: "hdr-hop-by-hop-forwarded",
    area: "headers",
    description: "`connection`, `keep-alive`, `te`, `upgrade` request headers forwarded upstream",
    file: "proxy/http/downstream_headers.ts",
    edits: [{ search: "if (HOP_BY_HOP.has(lower)) {", replace: 'if (lower === "transfer-encoding") {' }],
  },
  {
    name: "hdr-connection-nominated-forwarded",
    area: "headers",
    description: "headers named in `Connection` (e.g. `Connection: x-foo`) forwarded upstream",
    file: "proxy/http/downstream_headers.ts",
    edits: [
      {
        search:
          'if (lower === "connection" && nominates(raw[i + 1]))\n                return nominated(raw);',
        replace: "",
      },
    ],
  },
  {
    name: "hdr-xfp-missing",
    area: "headers",
    description: "`x-forwarded-proto` not added to requests",
    file: "proxy/http/request_headers.ts",
    edits: [
      {
        search: 'if (xfp < 0)\n        headers.push("x-forwarded-proto", scheme);',
        replace: "if (xfp < 0)\n        void 0;",
      },
    ],
  },
  {
    name: "hdr-request-id-missing",
    area: "headers",
    description: "`x-request-id` not generated",
    file: "proxy/http/request_headers.ts",
    edits: [
      {
        search: 'if (rid < 0)\n            headers.push("x-request-id", randomUUID());',
        replace: "if (rid < 0)\n            void 0;",
      },
    ],
  },
  {
    name: "hdr-expected-timeout-missing",
    area: "headers",
    description: "`x-envoy-expected-rq-timeout-ms` not sent upstream",
    file: "proxy/router/upstream_request.ts",
    edits: [{ search: "if (expectedTimeoutMs > 0)", replace: "if (false)" }],
  },
  {
    name: "hdr-response-repeats-joined",
    area: "headers",
    description: 'repeated response headers (`set-cookie` included) joined into one field with ", "',
    file: "proxy/router/forward.ts",
    edits: [
      {
        search: "out.push(name, headers[i + 1]);",
        replace:
          "{\n                const seen = out.indexOf(name);\n" +
          "                if (seen >= 0 && seen % 2 === 0)\n" +
          '                    out[seen + 1] = out[seen + 1] + ", " + headers[i + 1];\n' +
          "                else\n                    out.push(name, headers[i + 1]);\n            }",
      },
    ],
  },
  {
    name: "hdr-request-repeats-dropped",
    area: "headers",
    description: "a repeated request header keeps only its first value",
    file: "proxy/http/downstream_headers.ts",
    edits: [
      {
        search: "        out.push(lower, raw[i + 1]);\n    }\n    return out;",
        replace:
          "        if (!out.includes(lower))\n            out.push(lower, raw[i + 1]);\n    }\n    return out;",
      },
    ],
  },
  {
    name: "hdr-request-value-lowercased",
    area: "headers",
    description: "request header values lower-cased on the way upstream",
    file: "proxy/http/downstream_headers.ts",
    edits: [
      {
        search: "        out.push(lower, raw[i + 1]);\n    }\n    return out;",
        replace: "        out.push(lower, raw[i + 1].toLowerCase());\n    }\n    return out;",
      },
    ],
  },
  // --- bodies ---
  {
    name: "body-upload-stalls",
    area: "bodies",
    description:
      "a streamed request body paused on upstream backpressure is never resumed: large uploads stall (then 504)",
    file: "lib/http1/client_connection.ts",
    edits: [
      {
        search: 'body.pause();\n                socket.once("drain", onDrain);',
        replace: "body.pause();",
      },
    ],
  },
  {
    name: "body-response-first-chunk-only",
    area: "bodies",
    description: "a sized HTTP/1.1 response body: only the chunk written with the head reaches the client",
    file: "proxy/http/h1_stream.ts",
    edits: [
      {
        search: "if (head === null) {\n                const ok = socket.write(chunk);",
        replace: "if (head === null) {\n                const ok = true;",
      },
    ],
  },
  {
    name: "body-retry-not-buffered",
    area: "retries",
    description: "the request body is not kept for retries: a retried POST goes upstream with an empty body",
    file: "proxy/router/forward.ts",
    edits: [{ search: "else if (this.retry !== null) {", replace: "else if (false) {" }],
  },
  // --- framing ---
  {
    name: "frame-content-length-to-chunked",
    area: "framing",
    description: "the upstream's `content-length` dropped: a sized response goes downstream chunked",
    file: "proxy/router/forward.ts",
    edits: [
      {
        search: 'if (name.length === 14 && name === "content-length")\n                contentLength = true;',
        replace: 'if (name.length === 14 && name === "content-length")\n                continue;',
      },
    ],
  },
  {
    name: "frame-204-304-framed",
    area: "framing",
    description: "204 and 304 responses get body framing (`content-length: 0` or a chunked terminator)",
    file: "proxy/http/h1_stream.ts",
    edits: [
      {
        search: 'const noBody = status < 200 || status === 204 || status === 304 || this.method === "HEAD";',
        replace: 'const noBody = status < 200 || this.method === "HEAD";',
      },
    ],
  },
  {
    name: "frame-head-waits-for-body",
    area: "framing",
    description: "the upstream client reads a body after a HEAD response's content-length (hangs, then 504)",
    file: "lib/http1/client_connection.ts",
    edits: [
      {
        search: "if (this.headRequest || status === 204 || status === 304)",
        replace: "if (status === 204 || status === 304)",
      },
    ],
  },
  {
    name: "frame-request-both-framings",
    area: "framing",
    description:
      "a request's `content-length` not seen: the request goes up with both content-length and chunked",
    file: "lib/http1/serializer.ts",
    edits: [
      {
        search: 'if (name.length === 14 && name === "content-length")\n            hasContentLength = true;',
        replace:
          'if (name.length === 14 && name === "content-length-")\n            hasContentLength = true;',
      },
    ],
  },
  {
    name: "frame-last-chunk-missing",
    area: "framing",
    description: "a chunked response never gets its last chunk (`0\\r\\n\\r\\n`): the client waits forever",
    file: "proxy/http/h1_stream.ts",
    edits: [
      {
        search: 'const last = this.chunked && !this.noBody ? "0\\r\\n\\r\\n" : "";',
        replace: 'const last = "";',
      },
    ],
  },
  // --- WebSocket ---
  {
    name: "ws-one-way",
    area: "websocket",
    description: "a WebSocket tunnel carries only client-to-server bytes",
    file: "proxy/conn_pool/splice.ts",
    edits: [
      {
        search: "        if (this.closing)\n            return;\n        this.timer",
        replace: "        if (this.closing || from === this.b)\n            return;\n        this.timer",
      },
    ],
  },
  {
    name: "ws-rfc8441-upgrade-missing",
    area: "websocket",
    description:
      "an RFC 8441 (HTTP/2 extended CONNECT) WebSocket sent on to HTTP/1.1 without `upgrade`: the upstream never switches",
    file: "proxy/conn_pool/tunnel.ts",
    // v2's `use_websocket` reaches the sidecar as an HTTP/1.1 upgrade; v3 (`allow_connect`) as RFC 8441.
    target: "echomesh-v3",
    edits: [{ search: 'if (!upgrade)\n        headers.push("upgrade", upgradeType);', replace: "" }],
  },
  {
    name: "ws-active-gauge-leak",
    area: "websocket",
    description: "`downstream_cx_upgrades_active` never goes down when a tunnel closes",
    file: "proxy/router/upgrade.ts",
    edits: [{ search: "stats.downstream_cx_upgrades_active.value--;", replace: "" }],
  },
  // --- timeouts ---
  {
    name: "timeout-route-ignored",
    area: "timeouts",
    description: "the route `timeout` is never armed",
    file: "proxy/router/forward.ts",
    edits: [
      {
        search: "this.globalTimer = setTimeout(() => this.onGlobalTimeout(), ms);",
        replace: "this.globalTimer = null;",
      },
    ],
  },
  {
    name: "timeout-upstream-not-reset",
    area: "timeouts",
    description:
      "a route timeout answers 504 but leaves the upstream request running (connection never reset)",
    file: "proxy/router/forward.ts",
    edits: [
      {
        search: '        this.endTry(true);\n        this.finish();\n        stream.addFlag("UT");',
        replace: '        this.endTry(false);\n        this.finish();\n        stream.addFlag("UT");',
      },
    ],
  },
  {
    name: "timeout-wrong-status",
    area: "timeouts",
    description: "a route timeout answers 503 instead of 504",
    file: "proxy/router/forward.ts",
    edits: [
      {
        search: 'stream.sendLocalReply(504, UPSTREAM_TIMEOUT, "response_timeout",',
        replace: 'stream.sendLocalReply(503, UPSTREAM_TIMEOUT, "response_timeout",',
      },
    ],
  },
  // --- retries ---
  {
    name: "retry-policy-ignored",
    area: "retries",
    description: "`retry_policy` parsed but never acted on: no retries",
    file: "proxy/router/forward.ts",
    edits: [
      {
        search: "? new RetryState(policy, ctx.random, ctx.dialect)",
        replace: "? null",
      },
    ],
  },
  // --- DNS ---
  {
    name: "dns-refresh-ignored",
    area: "dns",
    description: "strict_dns resolves each name once: `dns_refresh_rate` never re-resolves after a success",
    file: "proxy/upstream/dns_cluster.ts",
    edits: [
      {
        search: "        this.answered(index, addresses);\n        this.schedule(index);",
        replace: "        this.answered(index, addresses);",
      },
    ],
  },
  {
    name: "dns-first-address-only",
    area: "dns",
    description: "strict_dns keeps only the first address of each answer (one host per name, as logical_dns)",
    file: "proxy/upstream/strict_dns_cluster.ts",
    edits: [
      {
        search: "for (const address of addresses) {",
        replace: "for (const address of addresses.slice(0, 1)) {",
      },
    ],
  },
  {
    name: "dns-removed-hosts-kept",
    area: "dns",
    description: "strict_dns adds the addresses of a new answer but never removes those gone from it",
    file: "proxy/upstream/strict_dns_cluster.ts",
    edits: [
      {
        search: "this.hostsByName[index] = this.hostsFor(ep, addresses);",
        replace:
          "this.hostsByName[index] = [...(this.hostsByName[index] ?? []), ...this.hostsFor(ep, addresses)];",
      },
    ],
  },
  // --- local replies ---
  {
    name: "reply-no-route-with-body",
    area: "local-replies",
    description: "no route answers 404 with a body (Envoy sends none)",
    file: "proxy/router/router.ts",
    edits: [
      {
        search: 'stream.sendLocalReply(404, "", "route_not_found");',
        replace: 'stream.sendLocalReply(404, "route not found", "route_not_found");',
      },
    ],
  },
  {
    name: "reply-connect-failure-502",
    area: "local-replies",
    description: "an upstream connect failure answers 502 instead of 503",
    file: "proxy/http/local_reply.ts",
    edits: [{ search: 'return reason === "protocol error" ? 502 : 503;', replace: "return 502;" }],
  },
];
