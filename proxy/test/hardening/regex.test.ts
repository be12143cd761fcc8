/**
 * Regex bombs: every regex that config or admin input reaches is RE2 (linear time), so a pattern that
 * makes a backtracking engine take seconds costs microseconds, and what RE2 refuses (backreferences,
 * lookaround, programs over Envoy's size limit) is a config error naming its YAML path, as in Envoy
 * 1.40 (`--mode validate` on the same patterns). The proxy runs in this process: a stall of its event
 * loop is a stall of the test, measured on the concurrent request.
 */
import { describe, expect, it } from "vitest";
import { type Reply, request } from "../../../test-support/http.js";
import { loadConfigString, ProxyConfigError } from "../../config/load.js";
import { defaultFactories } from "../../server/factories.js";
import { silentLogger } from "../../server/log.js";
import { ProxyServer } from "../../server/server.js";
import { staticCluster, useProxies, v3Bootstrap } from "../http/helpers.js";

const proxies = useProxies();

/** The pattern of the report and a 35-character path it backtracks on (2.3-3.0 s there). */
const BOMB = "/files/([a-zA-Z0-9_-]+/?)*";
const BOMB_PATH = `/files/${"a".repeat(26)}/!`;

/** Sends `paths` at once; each reply with how long it took. */
async function timed(port: number, paths: string[]): Promise<{ reply: Reply; ms: number }[]> {
  const start = performance.now();
  return Promise.all(
    paths.map(async (path) => {
      const reply = await request(port, path);
      return { reply, ms: performance.now() - start };
    }),
  );
}

/** Config problems of `yaml` (a v3 bootstrap), [] when it loads. */
function problems(yaml: string): string[] {
  try {
    loadConfigString(yaml);
    return [];
  } catch (err) {
    if (err instanceof ProxyConfigError) return err.errors;
    throw err;
  }
}

const ROUTE =
  "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0]";

function routeConfig(match: string, action = "direct_response: { status: 200 }"): string {
  return v3Bootstrap({
    routes: `
              - match: ${match}
                ${action}`,
    clusters: staticCluster("backend", 1),
  });
}

describe("regex bombs", () => {
  it(`route safe_regex ${BOMB} and a 35-char path: answered at once, another client not stalled`, async () => {
    expect(BOMB_PATH.length).toBe(35);
    const proxy = await proxies.proxy(
      `- match: { safe_regex: { regex: "${BOMB}" } }
  direct_response: { status: 200, body: { inline_string: files } }
- match: { prefix: "/" }
  direct_response: { status: 204 }`,
      {},
    );
    const [bomb, other] = await timed(proxy.port, [BOMB_PATH, "/other"]);
    expect(bomb?.reply.status).toBe(204);
    expect(other?.reply.status).toBe(204);
    expect(other?.ms, "another client's GET (ms)").toBeLessThan(500);
    expect(bomb?.ms, "the bomb's own GET (ms)").toBeLessThan(500);
    // Still the regex the route asked for: the whole path must match.
    expect((await request(proxy.port, "/files/a_b/c-d/")).text).toBe("files");
    expect((await request(proxy.port, "/files/a/b?x=/!")).text).toBe("files");
  });

  it("header, query and regex_rewrite regexes are RE2 too: a backtracking pattern in each answers at once", async () => {
    const up = await proxies.upstream();
    const proxy = await proxies.proxy(
      `- match:
    prefix: "/"
    headers: [{ name: x-bomb, string_match: { safe_regex: { regex: "(a|aa)+b" } } }]
  direct_response: { status: 201 }
- match:
    prefix: "/"
    query_parameters: [{ name: q, string_match: { safe_regex: { regex: "(a|aa)+b" } } }]
  direct_response: { status: 202 }
- match: { prefix: "/" }
  route:
    cluster: backend
    regex_rewrite: { pattern: { regex: "(a|aa)+b" }, substitution: "[\\\\0]" }`,
      { backend: up.port },
    );
    const a = "a".repeat(35);
    const start = performance.now();
    const header = await request(proxy.port, "/", { headers: { "x-bomb": a } });
    const query = await request(proxy.port, `/?q=${a}`);
    const rewritten = await request(proxy.port, `/${a}c/aab`);
    expect(performance.now() - start, "three requests (ms)").toBeLessThan(500);
    expect([header.status, query.status, rewritten.status]).toEqual([200, 200, 200]);
    expect(JSON.parse(rewritten.text).url).toBe(`/${a}c/[aab]`);
  });

  it("admin /stats?filter= with a 41-byte backtracking regex: answered at once, the data plane not stalled", async () => {
    // A cluster whose name the filter backtracks on, once per stat of the cluster.
    const name = "a".repeat(22);
    const filter = `^cluster\\.(a|a)*\\.upstream_rq_total_nope$`;
    expect(filter.length).toBe(41);
    const bootstrap = loadConfigString(
      v3Bootstrap({
        top: "admin: { address: { socket_address: { address: 127.0.0.1, port_value: 0 } } }",
        routes: `
              - match: { prefix: "/" }
                direct_response: { status: 204 }`,
        clusters: staticCluster(name, 1),
      }),
    );
    const server = new ProxyServer(bootstrap, {
      logger: silentLogger,
      ...defaultFactories({}),
      serverInfo: {
        version: "echomesh-proxy/test",
        startTimeMs: Date.now(),
        commandLineOptions: {},
        node: { id: "", cluster: "" },
      },
    });
    proxies.defer(() => server.stop());
    await server.start();
    const port = server.listenerAddress("ingress")?.port ?? 0;
    const adminPort = server.admin?.address()?.port ?? 0;
    const start = performance.now();
    const [stats, other] = await Promise.all([
      request(adminPort, `/stats?filter=${encodeURIComponent(filter)}`),
      request(port, "/").then((reply) => ({ reply, ms: performance.now() - start })),
    ]);
    expect(stats.status).toBe(200);
    expect(stats.text).toBe("");
    expect(other.reply.status).toBe(204);
    expect(other.ms, "a data-plane GET during the admin request (ms)").toBeLessThan(500);
    // RE2 semantics: a partial match, (?i) and RE2's own syntax work; a backreference is refused.
    const found = await request(
      adminPort,
      `/stats?filter=${encodeURIComponent(`(?i)\\.UPSTREAM_RQ_TOTAL$`)}`,
    );
    expect(found.text).toBe(`cluster.${name}.upstream_rq_total: 0\n`);
    const refused = await request(adminPort, `/stats?filter=${encodeURIComponent("(a)\\1")}`);
    expect(refused.status).toBe(400);
  });
});

describe("what RE2 refuses is a config error naming its YAML path, as in Envoy 1.40", () => {
  it("backreferences and lookaround are refused; (?P<name>), (?<name>), (?i), \\pL and \\Q...\\E load", () => {
    expect(problems(routeConfig(`{ safe_regex: { regex: "/(a)\\\\1" } }`))).toEqual([
      `${ROUTE}.match.safe_regex.regex: invalid regex "/(a)\\\\1": invalid escape sequence: \`\\1\` (line 18)`,
    ]);
    expect(problems(routeConfig(`{ safe_regex: { regex: "/a(?=b)" } }`))[0]).toMatch(
      /^static_resources\..*\.routes\[0\]\.match\.safe_regex\.regex: invalid regex "\/a\(\?=b\)": invalid or unsupported Perl syntax/,
    );
    expect(
      problems(
        routeConfig(
          `{ prefix: "/", headers: [{ name: x, string_match: { safe_regex: { regex: "(?<!a)b" } } }] }`,
        ),
      )[0],
    ).toMatch(/\.routes\[0\]\.match\.headers\[0\]\.string_match\.safe_regex\.regex: invalid regex/);
    expect(
      problems(
        routeConfig(
          `{ prefix: "/" }`,
          `route: { cluster: backend, regex_rewrite: { pattern: { regex: "(?!x)" }, substitution: y } }`,
        ),
      )[0],
    ).toMatch(/\.routes\[0\]\.route\.regex_rewrite\.pattern\.regex: invalid regex/);
    for (const ok of ["/u/(?P<id>[0-9]+)", "/u/(?<id>[0-9]+)", "(?i)/USERS", "/\\\\pL+", "/\\\\Q.*\\\\E"]) {
      expect(problems(routeConfig(`{ safe_regex: { regex: "${ok}" } }`)), ok).toEqual([]);
    }
  });

  it("a safe_regex whose RE2 program is over 100 is refused (a{97}), unless google_re2.max_program_size allows it", () => {
    expect(problems(routeConfig(`{ safe_regex: { regex: "a{96}" } }`))).toEqual([]);
    expect(problems(routeConfig(`{ safe_regex: { regex: "a{97}" } }`))).toEqual([
      `${ROUTE}.match.safe_regex.regex: regex "a{97}": RE2 program size of 101 > max program size of 100 (line 18)`,
    ]);
    expect(
      problems(routeConfig(`{ safe_regex: { google_re2: { max_program_size: 200 }, regex: "a{150}" } }`)),
    ).toEqual([]);
  });
});
