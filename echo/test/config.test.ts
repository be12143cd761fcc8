import os from "node:os";
import { describe, expect, it } from "vitest";
import { request } from "../../test-support/http.js";
import { configFromCli, DEFAULTS, EchoConfigError, resolveConfig } from "../config.js";
import { parseDuration, parseSize } from "../units.js";
import { LogSink, start } from "./helpers.js";

function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const r = configFromCli(argv, env);
  if (r.kind !== "run") throw new Error("expected a config");
  return r.config;
}

describe("configuration", () => {
  it("defaults: port 8080 on 0.0.0.0, instance = hostname, access log on, ip line off", () => {
    const c = run([]);
    expect(c).toMatchObject({ ...DEFAULTS, instance: os.hostname() });
    expect(c.port).toBe(8080);
    expect(c.maxBodyBytes).toBe(10 * 1024 * 1024);
  });

  it("reads env, and flags win over env", () => {
    const env = {
      PORT: "9000",
      HOST: "127.0.0.1",
      INSTANCE: "from-env",
      MAX_BODY_SIZE: "1MiB",
      MAX_HEADER_SIZE: "32k",
      MAX_WS_MESSAGE_SIZE: "100",
      MAX_RESPONSE_SIZE: "2mb",
      MAX_DELAY: "10s",
      DRAIN_TIMEOUT: "750ms",
      ACCESS_LOG: "off",
      ECHO_SHOW_IP: "1",
      NAMESPACE: "ns",
      POD_NAME: "p",
      SERVICE_NAME: "s",
      INGRESS_NAME: "i",
    };
    expect(run([], env)).toEqual({
      port: 9000,
      host: "127.0.0.1",
      instance: "from-env",
      maxBodyBytes: 1024 * 1024,
      maxHeaderBytes: 32 * 1024,
      maxWsMessageBytes: 100,
      maxResponseBytes: 2_000_000,
      maxDelayMs: 10_000,
      drainTimeoutMs: 750,
      accessLog: false,
      showIp: true,
      json: false,
      anything: false,
      namespace: "ns",
      pod: "p",
      service: "s",
      ingress: "i",
    });
    const c = run(["echo", "-p", "7000", "--instance", "flag", "--access-log", "--drain-timeout", "2s"], env);
    expect(c).toMatchObject({ port: 7000, instance: "flag", accessLog: true, drainTimeoutMs: 2000 });
    expect(run(["--no-access-log"]).accessLog).toBe(false);
    expect(run(["--show-ip"]).showIp).toBe(true);
  });

  it("accepts the positional `echo` (compose `command: echo`) and nothing else", () => {
    expect(run(["echo"]).port).toBe(8080);
    expect(() => run(["serve"])).toThrow(EchoConfigError);
  });

  it("names the bad value", () => {
    expect(() => run(["--port", "http"])).toThrow(/port/);
    expect(() => run([], { PORT: "70000" })).toThrow(/PORT/);
    expect(() => run(["--max-body", "big"])).toThrow(/max-body/);
    expect(() => run(["--drain-timeout", "soon"])).toThrow(/drain-timeout/);
    expect(() => run([], { ACCESS_LOG: "maybe" })).toThrow(/ACCESS_LOG/);
    expect(() => run(["--bogus"])).toThrow(EchoConfigError);
    expect(() => resolveConfig({ instance: "has space" })).toThrow(/instance/);
  });

  it("prints help", () => {
    const r = configFromCli(["--help"], {});
    expect(r.kind).toBe("help");
    if (r.kind === "help") expect(r.text).toContain("--drain-timeout");
  });

  it("parses sizes and durations", () => {
    expect(parseSize("10MiB")).toBe(10 * 1024 * 1024);
    expect(parseSize("64k")).toBe(65536);
    expect(parseSize("1.5kb")).toBe(1500);
    expect(parseSize("12")).toBe(12);
    expect(parseSize("x")).toBeUndefined();
    expect(parseDuration("200")).toBe(200);
    expect(parseDuration("1.5s")).toBe(1500);
    expect(parseDuration("1m30s")).toBe(90_000);
    expect(parseDuration("500us")).toBe(0.5);
    expect(parseDuration("5 parsecs")).toBeUndefined();
  });
});

describe("access log", () => {
  it("writes one JSON line per request when on", async () => {
    const sink = new LogSink();
    const echo = await start({ accessLog: true, logDestination: sink, instance: "logged" });
    try {
      await request(echo.port, "/hello?x=1", { headers: { "User-Agent": "t/1" } });
      await request(echo.port, "/nope");
      await new Promise((r) => setTimeout(r, 50));
      const records = sink.lines.map((l) => JSON.parse(l)).filter((r) => r.msg === "request");
      expect(records).toHaveLength(2);
      expect(records[0]).toMatchObject({
        instance: "logged",
        method: "GET",
        path: "/hello?x=1",
        proto: "HTTP/1.1",
        status: 200,
        route: "/hello",
        remote: "127.0.0.1",
        ua: "t/1",
        level: "info",
      });
      expect(typeof records[0].ms).toBe("number");
      expect(typeof records[0].time).toBe("string");
      expect(records[1]).toMatchObject({ status: 404, route: "not_found" });
    } finally {
      await echo.close();
    }
  });

  it("writes nothing per request when off", async () => {
    const sink = new LogSink();
    const echo = await start({ accessLog: false, logDestination: sink });
    try {
      await request(echo.port, "/");
      await request(echo.port, "/echo", { method: "POST", body: "x" });
      await new Promise((r) => setTimeout(r, 50));
      expect(sink.lines).toEqual([]);
    } finally {
      await echo.close();
    }
  });
});
