import { describe, expect, it } from "vitest";
import { DEFAULT_DRAIN_TIME_S, parseCommandLine, UsageError } from "../../server/options.js";

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const parsed = parseCommandLine(args, env);
  if (parsed.kind !== "run") throw new Error(`expected run, got ${parsed.kind}`);
  return parsed.options;
}

describe("command line", () => {
  it("takes the seed's Envoy command line as it is", () => {
    const o = run(["-c", "/etc/front-envoy.yaml", "--service-cluster", "front-proxy"]);
    expect(o).toMatchObject({
      configPath: "/etc/front-envoy.yaml",
      configYaml: null,
      mode: "serve",
      serviceCluster: "front-proxy",
      concurrency: 1,
      logLevel: "info",
      drainTimeS: DEFAULT_DRAIN_TIME_S,
    });
  });

  it("reads every flag", () => {
    const o = run([
      "--config-path=a.yaml",
      "--config-yaml",
      "admin: {}",
      "--mode",
      "validate",
      "--service-node",
      "n1",
      "--service-zone",
      "z",
      "--concurrency",
      "4",
      "-l",
      "warning",
      "--log-path",
      "/tmp/x.log",
      "--drain-time-s",
      "0",
      "--file-flush-interval-msec",
      "250",
    ]);
    expect(o).toMatchObject({
      configPath: "a.yaml",
      configYaml: "admin: {}",
      mode: "validate",
      serviceNode: "n1",
      serviceZone: "z",
      concurrency: 4,
      logLevel: "warn",
      logPath: "/tmp/x.log",
      drainTimeS: 0,
      fileFlushIntervalMs: 250,
    });
  });

  it("accepts Envoy's hot restart flags and ignores them", () => {
    const o = run(["-c", "x.yaml", "--base-id", "1", "--restart-epoch", "0", "--disable-hot-restart"]);
    expect(o.ignored).toEqual({ "base-id": "1", "restart-epoch": "0", "disable-hot-restart": true });
  });

  it("builds the DNS map from --dns-map (repeatable) over ECHOMESH_DNS_MAP", () => {
    const o = run(
      ["-c", "x", "--dns-map", "Service1=127.0.0.2,service2=127.0.0.3", "--dns-map", "service1=127.0.0.4"],
      {
        ECHOMESH_DNS_MAP: "db=::1",
      },
    );
    expect(Object.fromEntries(o.dnsMap)).toEqual({
      db: ["::1"],
      service1: ["127.0.0.2", "127.0.0.4"],
      service2: ["127.0.0.3"],
    });
  });

  it("rejects what it does not understand, naming it", () => {
    const bad: Array<[string[], RegExp]> = [
      [["-c", "x", "--bogus"], /bogus/],
      [[], /config is required/],
      [["-c", "x", "--mode", "init_only"], /--mode/],
      [["-c", "x", "--concurrency", "0"], /--concurrency/],
      [["-c", "x", "--concurrency", "two"], /--concurrency/],
      [["-c", "x", "-l", "loud"], /--log-level/],
      [["-c", "x", "--dns-map", "service1"], /NAME=IP/],
      [["-c", "x", "--dns-map", "service1=not-an-ip"], /NAME=IP/],
      [["-c", "x", "stray"], /stray/],
    ];
    for (const [args, msg] of bad) expect(() => parseCommandLine(args, {}), args.join(" ")).toThrow(msg);
    expect(() => parseCommandLine(["--bogus"], {})).toThrow(UsageError);
  });

  it("answers --help and --version", () => {
    expect(parseCommandLine(["--help"], {})).toEqual({ kind: "help" });
    expect(parseCommandLine(["-h"], {})).toEqual({ kind: "help" });
    expect(parseCommandLine(["--version"], {})).toEqual({ kind: "version" });
  });
});
