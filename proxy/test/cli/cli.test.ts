/** The built proxy CLI (`dist/proxy/main.js`) as a child process: validate mode, flags, serving, signals. */
import { type AddressInfo, connect, createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { request } from "../../../test-support/http.js";
import { PROXY_MAIN, SEEDS } from "../../../test-support/paths.js";
import { type Running, runToEnd, startProcess, stopChild } from "../../../test-support/process.js";

/** The seed's front proxy shape, made local: listener and admin on ephemeral loopback ports. */
function seedLike(extra: { listenerPort?: number; accessLog?: string; route?: string } = {}): string {
  return `
static_resources:
  listeners:
  - address:
      socket_address: { address: 127.0.0.1, port_value: ${extra.listenerPort ?? 0} }
    filter_chains:
    - filters:
      - name: envoy.http_connection_manager
        config:
          codec_type: auto
          stat_prefix: ingress_http
${extra.accessLog ?? ""}
          route_config:
            name: local_route
            virtual_hosts:
            - name: backend
              domains: ["*"]
              routes:
${
  extra.route ??
  `              - match: { prefix: "/" }
                route: { cluster: myservice }`
}
          http_filters:
          - name: envoy.router
            config: {}
  clusters:
  - name: myservice
    connect_timeout: 0.25s
    type: strict_dns
    lb_policy: round_robin
    http2_protocol_options: {}
    hosts:
    - socket_address: { address: service1, port_value: 80 }
admin:
  access_log_path: "/dev/null"
  address:
    socket_address: { address: 127.0.0.1, port_value: 0 }
`;
}

const DIRECT = `              - match: { prefix: "/" }
                direct_response: { status: 200, body: { inline_string: "hello from the proxy" } }`;

const serving: Running[] = [];
afterEach(async () => {
  await Promise.all(serving.splice(0).map((p) => stopChild(p.child, 1000)));
});

/** Serves `seedLike` with a direct response on `/`, plus `args`; stopped after the test. */
function serve(args: string[]): Running {
  const p = startProcess(PROXY_MAIN, ["--config-yaml", seedLike({ route: DIRECT }), ...args]);
  serving.push(p);
  return p;
}

describe("echomesh-proxy --mode validate", () => {
  it("accepts the seed's files, exit 0", async () => {
    for (const file of ["proxy-envoy.yaml", "service-envoy.yaml"]) {
      const path = join(SEEDS, file);
      const r = await runToEnd(PROXY_MAIN, [
        "--mode",
        "validate",
        "-c",
        path,
        "--service-cluster",
        "front-proxy",
      ]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(`configuration '${path}' OK\n`);
      expect(r.code).toBe(0);
    }
  });

  const broken: Array<{ name: string; yaml: string; expect: RegExp[] }> = [
    {
      name: "a misspelt field, with a hint",
      yaml: seedLike().replace("lb_policy:", "lb_polcy:"),
      expect: [/static_resources\.clusters\[0\]\.lb_polcy/, /lb_policy/],
    },
    {
      name: "an unknown enum value",
      yaml: seedLike().replace("lb_policy: round_robin", "lb_policy: round_robbin"),
      expect: [/static_resources\.clusters\[0\]\.lb_policy/, /round_robbin/],
    },
    {
      name: "a bad duration",
      yaml: seedLike().replace("connect_timeout: 0.25s", "connect_timeout: fast"),
      expect: [/static_resources\.clusters\[0\]\.connect_timeout/, /fast/],
    },
    {
      name: "two problems at once: both are reported",
      yaml: seedLike()
        .replace("lb_policy: round_robin", "lb_policy: nope")
        .replace("connect_timeout: 0.25s", "connect_timeout: soon"),
      expect: [/lb_policy/, /connect_timeout/],
    },
    {
      name: "an access log format with an unknown command",
      yaml: seedLike({
        accessLog: `          access_log:
          - name: envoy.file_access_log
            config: { path: /dev/stdout, format: "%NOT_A_COMMAND%\\n" }`,
      }),
      expect: [/access_log/, /NOT_A_COMMAND/],
    },
    { name: "a YAML syntax error", yaml: "static_resources: [", expect: [/YAML/] },
  ];

  for (const b of broken) {
    it(`rejects ${b.name}, exit 1`, async () => {
      const r = await runToEnd(PROXY_MAIN, ["--mode", "validate", "--config-yaml", b.yaml]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toBe("");
      for (const re of b.expect) expect(r.stderr).toMatch(re);
    });
  }

  it("warns once for each Envoy flag it accepts and ignores", async () => {
    const path = join(SEEDS, "proxy-envoy.yaml");
    const r = await runToEnd(PROXY_MAIN, [
      "--mode",
      "validate",
      "-c",
      path,
      "--log-format",
      "%v",
      "--base-id",
      "3",
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/--log-format is accepted for Envoy's command line and ignored/);
    expect(r.stderr).toMatch(/--base-id is accepted for Envoy's command line and ignored/);
    expect(r.stderr.trim().split("\n")).toHaveLength(2);
  });

  it("rejects a missing file, naming it", async () => {
    const r = await runToEnd(PROXY_MAIN, ["--mode", "validate", "-c", "/nonexistent/envoy.yaml"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("/nonexistent/envoy.yaml");
  });
});

describe("echomesh-proxy command line", () => {
  it("rejects an unknown flag with the usage text, exit 1", async () => {
    const r = await runToEnd(PROXY_MAIN, ["-c", "x.yaml", "--frobnicate"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/frobnicate/);
    expect(r.stderr).toContain("Usage: echomesh-proxy");
  });

  it("prints its version and help", async () => {
    expect((await runToEnd(PROXY_MAIN, ["--version"])).stdout).toMatch(/^echomesh-proxy\/\d+\.\d+\.\d+\n$/);
    const help = await runToEnd(PROXY_MAIN, ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--service-cluster");
  });

  it("serve with a bad config: clear message, exit 1", async () => {
    const r = await runToEnd(PROXY_MAIN, ["--config-yaml", seedLike().replace("lb_policy:", "lb_polcy:")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/invalid config .*\n.*lb_polcy/);
  });

  it("serve on a port in use: clear message, exit 1", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen({ host: "127.0.0.1", port: 0 }, r));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const r = await runToEnd(PROXY_MAIN, ["--config-yaml", seedLike({ listenerPort: port })]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`cannot bind 127\\.0\\.0\\.1:${port}: EADDRINUSE`));
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });
});

describe("echomesh-proxy serve", () => {
  it("serves, answers the admin, and exits 0 on SIGTERM within the drain time", async () => {
    const p = serve([
      "--service-cluster",
      "front-proxy",
      "--drain-time-s",
      "2",
      "--dns-map",
      "service1=127.0.0.1",
    ]);
    const admin = Number((await p.waitFor(/admin address: 127\.0\.0\.1:(\d+)/))[1]);
    const listener = Number((await p.waitFor(/listener \S+ on 127\.0\.0\.1:(\d+)/))[1]);
    expect((await request(admin, "/ready")).text).toBe("LIVE\n");
    const info = JSON.parse((await request(admin, "/server_info")).text);
    expect(info.command_line_options).toMatchObject({
      service_cluster: "front-proxy",
      concurrency: 1,
      drain_time: "2s",
    });
    const r = await request(listener, "/");
    expect(r.status).toBe(200);
    expect(r.text).toBe("hello from the proxy");
    const stats = (await request(admin, "/stats?filter=http.ingress_http.downstream_rq_total")).text;
    expect(stats).toBe("http.ingress_http.downstream_rq_total: 1\n");

    // An idle client connection stays open: the drain must still end by the drain time.
    const idle = connect({ host: "127.0.0.1", port: listener });
    idle.on("error", () => {}); // the exiting proxy may reset it: expected
    await new Promise((r) => idle.once("connect", r));
    const t0 = Date.now();
    p.child.kill("SIGTERM");
    const exit = await p.exited;
    expect(exit.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(2000 + 3000);
    idle.destroy();
  });

  it("--concurrency 2: workers share the listener, the admin adds their stats up, SIGINT stops all", async () => {
    const p = serve(["--concurrency", "2", "--drain-time-s", "1"]);
    const admin = Number((await p.waitFor(/admin address: 127\.0\.0\.1:(\d+)/, 60_000))[1]);
    await p.waitFor(/all 2 workers serving/, 60_000);
    const listeners = (await request(admin, "/listeners")).text;
    const port = Number(/:(\d+)\n$/.exec(listeners)?.[1]);
    for (let i = 0; i < 6; i++) expect((await request(port, "/")).status).toBe(200);
    const stats = (await request(admin, "/stats?filter=downstream_rq_total$")).text;
    expect(stats).toBe("http.ingress_http.downstream_rq_total: 6\n");
    expect((await request(admin, "/stats?filter=^server.concurrency")).text).toBe("server.concurrency: 2\n");
    p.child.kill("SIGINT");
    expect((await p.exited).code).toBe(0);
  }, 90_000);
});
