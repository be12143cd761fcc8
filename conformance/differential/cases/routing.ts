/**
 * Routing: prefix, path, regex, header and query matching, case-insensitive matching, virtual host
 * domains, weighted clusters, rewrites, redirects and direct responses.
 */
import { config } from "../config.js";
import type { Case, Doc } from "../types.js";
import { get, h1, req } from "./util.js";

/** Routes to `raw_b` when matched, else (a catch-all) to `raw`; the stats say which cluster took it. */
function matching(match: Doc): Doc {
  return config({
    routes: [
      { match, route: { cluster: "raw_b" } },
      { match: { prefix: "/" }, route: { cluster: "raw" } },
    ],
  });
}

const REDIRECTS = config({
  routes: [
    { match: { prefix: "/https" }, redirect: { https_redirect: true } },
    { match: { prefix: "/moved" }, redirect: { path_redirect: "/new/place", response_code: "FOUND" } },
    { match: { prefix: "/host" }, redirect: { host_redirect: "other.example", port_redirect: 8443 } },
    {
      match: { prefix: "/old/" },
      redirect: { prefix_rewrite: "/new/", strip_query: true, response_code: "TEMPORARY_REDIRECT" },
    },
    {
      match: { prefix: "/scheme" },
      redirect: { scheme_redirect: "https", response_code: "PERMANENT_REDIRECT" },
    },
  ],
});

const DIRECT = config({
  routes: [
    { match: { path: "/health" }, direct_response: { status: 200, body: { inline_string: "healthy\n" } } },
    { match: { path: "/down" }, direct_response: { status: 503 } },
    {
      match: { path: "/teapot" },
      direct_response: { status: 418, body: { inline_string: "short and stout" } },
    },
  ],
});

const REWRITES = config({
  routes: [
    { match: { prefix: "/api/" }, route: { cluster: "raw", prefix_rewrite: "/v2/" } },
    {
      match: { prefix: "/items/" },
      route: {
        cluster: "raw",
        regex_rewrite: { pattern: { regex: "^/items/([0-9]+)$" }, substitution: "/item?id=\\1" },
      },
    },
    { match: { prefix: "/host" }, route: { cluster: "raw", host_rewrite_literal: "rewritten.example" } },
  ],
});

const VHOSTS = config({
  virtualHosts: [
    {
      name: "exact",
      domains: ["example.com"],
      routes: [{ match: { prefix: "/" }, route: { cluster: "raw" } }],
    },
    {
      name: "suffix",
      domains: ["*.example.org"],
      routes: [{ match: { prefix: "/" }, route: { cluster: "raw_b" } }],
    },
  ],
});

export const routingCases: Case[] = [
  {
    id: "match-prefix",
    description: "prefix /b matches /bee",
    config: matching({ prefix: "/b" }),
    exchange: h1(get("/bee")),
  },
  {
    id: "match-path-exact",
    description: "path /exact does not match /exact/",
    config: matching({ path: "/exact" }),
    exchange: h1(get("/exact/")),
  },
  {
    id: "match-path-query-ignored",
    description: "path /exact matches /exact?x=1 (the query is not part of the path)",
    config: matching({ path: "/exact" }),
    exchange: h1(get("/exact?x=1")),
  },
  {
    id: "match-regex",
    description: "safe_regex ^/items/[0-9]+$ matches /items/42",
    config: matching({ safe_regex: { regex: "/items/[0-9]+" } }),
    exchange: h1(get("/items/42")),
  },
  {
    id: "match-regex-whole-path",
    description: "safe_regex must match the whole path: /items/42/x does not match",
    config: matching({ safe_regex: { regex: "/items/[0-9]+" } }),
    exchange: h1(get("/items/42/x")),
  },
  {
    id: "match-header-exact",
    description: "header x-tenant exact b",
    config: matching({ prefix: "/", headers: [{ name: "x-tenant", string_match: { exact: "b" } }] }),
    exchange: h1(get("/", "X-Tenant: b")),
  },
  {
    id: "match-header-absent-inverted",
    description: "header x-tenant present, inverted, without the header: matches",
    config: matching({
      prefix: "/",
      headers: [{ name: "x-tenant", present_match: true, invert_match: true }],
    }),
    exchange: h1(get("/")),
  },
  {
    id: "match-query-parameter",
    description: "query parameter v exact 2",
    config: matching({ prefix: "/", query_parameters: [{ name: "v", string_match: { exact: "2" } }] }),
    exchange: h1(get("/q?a=1&v=2")),
  },
  {
    id: "match-case-insensitive",
    description: "prefix /CaSe with case_sensitive false matches /case/x",
    config: matching({ prefix: "/CaSe", case_sensitive: false }),
    exchange: h1(get("/case/x")),
  },
  {
    id: "vhost-exact-domain",
    description: "Host example.com picks the exact virtual host",
    config: VHOSTS,
    exchange: h1(get("/")),
  },
  {
    id: "vhost-suffix-domain",
    description: "Host a.example.org picks the *.example.org virtual host",
    config: VHOSTS,
    exchange: h1(req("GET / HTTP/1.1", ["host: a.example.org"])),
  },
  {
    id: "vhost-no-domain",
    description: "Host unknown.test matches no virtual host: 404",
    config: VHOSTS,
    exchange: h1(req("GET / HTTP/1.1", ["host: unknown.test"])),
  },
  {
    id: "weighted-clusters",
    description: "weighted_clusters raw 0, raw_b 100: always raw_b",
    config: config({
      routes: [
        {
          match: { prefix: "/" },
          route: {
            weighted_clusters: {
              clusters: [
                { name: "raw", weight: 0 },
                { name: "raw_b", weight: 100 },
              ],
            },
          },
        },
      ],
    }),
    exchange: h1(get("/w")),
  },
  {
    id: "prefix-rewrite",
    description: "prefix_rewrite /api/ -> /v2/, x-envoy-original-path not added",
    config: REWRITES,
    exchange: h1(get("/api/users?x=1")),
  },
  {
    id: "regex-rewrite",
    description: "regex_rewrite ^/items/([0-9]+)$ -> /item?id=\\1",
    config: REWRITES,
    exchange: h1(get("/items/42")),
  },
  {
    id: "host-rewrite-literal",
    description: "host_rewrite_literal: Host replaced",
    config: REWRITES,
    exchange: h1(get("/host")),
  },
  {
    id: "redirect-https",
    description: "https_redirect: 301 to https://example.com/https/x",
    config: REDIRECTS,
    exchange: h1(get("/https/x?q=1")),
  },
  {
    id: "redirect-path",
    description: "path_redirect with FOUND: 302",
    config: REDIRECTS,
    exchange: h1(get("/moved?keep=1")),
  },
  {
    id: "redirect-host-port",
    description: "host_redirect and port_redirect",
    config: REDIRECTS,
    exchange: h1(get("/host/a")),
  },
  {
    id: "redirect-prefix-strip-query",
    description: "prefix_rewrite /old/ -> /new/ with strip_query, 307",
    config: REDIRECTS,
    exchange: h1(get("/old/page?drop=1")),
  },
  {
    id: "redirect-scheme",
    description: "scheme_redirect https, 308",
    config: REDIRECTS,
    exchange: h1(get("/scheme")),
  },
  {
    id: "direct-response-body",
    description: "direct_response 200 with an inline body",
    config: DIRECT,
    exchange: h1(get("/health")),
  },
  {
    id: "direct-response-empty",
    description: "direct_response 503 without a body",
    config: DIRECT,
    exchange: h1(get("/down")),
  },
  {
    id: "direct-response-head",
    description: "HEAD on a direct_response with a body",
    config: DIRECT,
    exchange: h1(req("HEAD /teapot HTTP/1.1", ["host: example.com"]), { head: true }),
  },
];
