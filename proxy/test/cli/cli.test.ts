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

  it("warns once for each Envoy flag it accepts and ignores, in the --log-format it was given", async () => {
    const path = join(SEEDS, "proxy-envoy.yaml");
    const r = await runToEnd(PROXY_MAIN, [
      "--mode",
      "validate",
      "-c",
      path,
      "--log-format",
      "%L|%n|%v",
      "--base-id",
      "3",
      "--restart-epoch",
      "0",
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      "W|main|--base-id is accepted for Envoy's command line and ignored: there is no hot restart here\n" +
        "W|main|--restart-epoch is accepted for Envoy's command line and ignored: there is no hot restart here\n",
    );
  });

  it("rejects a missing file, naming it", async () => {
    const r = await runToEnd(PROXY_MAIN, ["--mode", "validate", "-c", "/nonexistent/envoy.yaml"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("/nonexistent/envoy.yaml");
  });
});

describe("echomesh-proxy command line", () => {
  it.each([
    [["-c", "x.yaml", "--frobnicate"], "echomesh-proxy: unknown flag --frobnicate. Try --help.\n"],
    [
      ["-c", "x.yaml", "--concurrency", "x"],
      "echomesh-proxy: --concurrency must be an integer from 1 to 1024 (got x). Try --help.\n",
    ],
    [
      ["-c", "x.yaml", "--mode", "init_only"],
      "echomesh-proxy: --mode must be serve or validate (got init_only). Try --help.\n",
    ],
    [["-c", "x.yaml", "--drain-time-s"], "echomesh-proxy: --drain-time-s needs a value. Try --help.\n"],
    [
      ["-c", "x.yaml", "--log-format", "%Q %v"],
      /^echomesh-proxy: --log-format: %Q is not supported \(supported: %Y .*\)\. Try --help\.\n$/,
    ],
    [
      ["-c", "x.yaml", "--log-json", "--log-format", "%v"],
      "echomesh-proxy: --log-json and --log-format: give one of them. Try --help.\n",
    ],
    [
      [],
      "echomesh-proxy: a config is required: -c/--config-path FILE or --config-yaml STRING. Try --help.\n",
    ],
  ])("a usage error %j: one line naming the flag and the value, exit 2", async (args, message) => {
    const r = await runToEnd(PROXY_MAIN, args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    if (typeof message === "string") expect(r.stderr).toBe(message);
    else expect(r.stderr).toMatch(message);
  });

  it("a bad environment variable is a usage error naming the variable, exit 2", async () => {
    const r = await runToEnd(PROXY_MAIN, ["-c", "x.yaml"], { env: { ECHOMESH_LOG_JSON: "maybe" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "echomesh-proxy: ECHOMESH_LOG_JSON must be 1 or 0 (true/false, yes/no, on/off) (got maybe). Try --help.\n",
    );
  });

  it("--version: the line every bin prints, then Envoy's shape for scripts that parse `envoy --version`", async () => {
    const r = await runToEnd(PROXY_MAIN, ["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^echomesh-proxy \d+\.\d+\.\d+\necho\S+ {2}version: echomesh\/\d+\.\d+\.\d+\/Clean\/RELEASE\/\w+\n$/,
    );
    // what lib/envoy.ts (and the conformance targets) read from `envoy --version`
    expect(/\/(\d+\.\d+\.\d+)\//.exec(r.stdout)?.[1]).toBe(r.stdout.split(/[ \n]/)[1]);
    const help = await runToEnd(PROXY_MAIN, ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--service-cluster");
    expect(help.stdout).toContain("--log-json");
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
  it("--log-json: every server log line is one JSON object (level, time, pid, component, msg)", async () => {
    const p = serve(["--log-json", "--drain-time-s", "0"]);
    const admin = Number((await p.waitFor(/admin address: 127\.0\.0\.1:(\d+)/))[1]);
    await p.waitFor(/all listeners started; serving/);
    expect((await request(admin, "/ready")).text).toBe("LIVE\n");
    p.child.kill("SIGTERM");
    expect((await p.exited).code).toBe(0);
    const lines = p.output().trim().split("\n");
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      expect(Object.keys(entry)).toEqual(["level", "time", "pid", "component", "msg"]);
      expect(entry.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(entry.pid).toBe(p.child.pid);
    }
    expect(lines.map((l) => JSON.parse(l).msg)).toContain("all listeners started; serving");
  });

  it("ECHOMESH_LOG_JSON=1 does what --log-json does; --log-level wins over ECHOMESH_LOG_LEVEL", async () => {
    const p = startProcess(
      PROXY_MAIN,
      ["--config-yaml", seedLike({ route: DIRECT }), "--drain-time-s", "0", "--log-level", "info"],
      { ECHOMESH_LOG_JSON: "1", ECHOMESH_LOG_LEVEL: "error" },
    );
    serving.push(p);
    await p.waitFor(/all listeners started; serving/);
    p.child.kill("SIGTERM");
    await p.exited;
    const first = p.output().split("\n")[0] ?? "";
    expect(JSON.parse(first)).toMatchObject({ level: "info", component: "main" });
  });

  it("ECHOMESH_LOG_LEVEL sets the level when no flag does", async () => {
    const validate = (level: string) =>
      runToEnd(PROXY_MAIN, ["--mode", "validate", "-c", join(SEEDS, "proxy-envoy.yaml"), "--base-id", "3"], {
        env: { ECHOMESH_LOG_LEVEL: level },
      });
    expect((await validate("warn")).stderr).toContain("--base-id is accepted");
    const quiet = await validate("error");
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe("");
  });

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
