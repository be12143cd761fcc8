import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { CheckFailure } from "../../conformance/harness/assert.js";
import { SkipError } from "../../conformance/harness/types.js";
import { EchoConfigError } from "../../echo/config.js";
import { FormatError } from "../../proxy/access_log/format.js";
import { TunnelError } from "../../proxy/api/upstream.js";
import { ProxyConfigError } from "../../proxy/config/errors.js";
import { ConnectFailure } from "../../proxy/conn_pool/connector.js";
import { UsageError } from "../../proxy/server/options.js";
import { StatsQueryError } from "../../proxy/stats/render.js";
import { EchomeshError, ERROR_CODES } from "../errors.js";
import { fromRoot, packageRoot } from "../paths.js";
import { UnsupportedError } from "../topology/model.js";

/** One instance of every error class of ours, with the code and part it must carry. */
const EVERY_ERROR: Array<[EchomeshError, string, string]> = [
  [new EchoConfigError("invalid port: x"), "ECHOMESH_ECHO_CONFIG", "echo"],
  [new UsageError("--mode: expected serve or validate"), "ECHOMESH_PROXY_USAGE", "proxy"],
  [new ProxyConfigError(["a: b"]), "ECHOMESH_PROXY_CONFIG", "proxy"],
  [new FormatError("unknown command %X%"), "ECHOMESH_PROXY_ACCESS_LOG_FORMAT", "proxy"],
  [new StatsQueryError("Invalid re2 regex: ("), "ECHOMESH_PROXY_STATS_QUERY", "proxy"],
  [new ConnectFailure("delayed connect error: ECONNREFUSED", false), "ECHOMESH_PROXY_CONNECT", "proxy"],
  [new TunnelError("remote reset", "stream closed"), "ECHOMESH_PROXY_TUNNEL", "proxy"],
  [new CheckFailure("expected 200, got 503"), "ECHOMESH_CONFORMANCE_CHECK", "conformance"],
  [new SkipError("needs docker"), "ECHOMESH_CONFORMANCE_SKIP", "conformance"],
  [new UnsupportedError("nginx", "an h2c cluster"), "ECHOMESH_TOPOLOGY_UNSUPPORTED", "conformance"],
];

describe("error classes", () => {
  it.each(EVERY_ERROR)("%s carries its code and part", (err, code, part) => {
    expect(err).toBeInstanceOf(EchomeshError);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe(code);
    expect(err.part).toBe(part);
    expect(err.name).toBe(err.constructor.name);
    expect(String(err)).toBe(`${err.name}: ${err.message}`);
  });

  it("every declared code has a class, and no two classes share a name or a code", () => {
    expect(new Set(EVERY_ERROR.map(([, code]) => code))).toEqual(new Set(Object.keys(ERROR_CODES)));
    expect(new Set(EVERY_ERROR.map(([err]) => err.name)).size).toBe(EVERY_ERROR.length);
  });

  it("keeps the messages users see", () => {
    expect(new ProxyConfigError(["x: bad", "y: worse"]).message).toBe(
      "invalid config (2 errors):\n  x: bad\n  y: worse",
    );
    expect(new TunnelError("remote reset", "stream closed with error code 2")).toMatchObject({
      reason: "remote reset",
      message: "stream closed with error code 2",
    });
    expect(new ConnectFailure("connect timeout after 250 ms to 10.0.0.1:80", true).timedOut).toBe(true);
  });
});

const ARCHITECTURE = readFileSync(fromRoot("docs", "ARCHITECTURE.md"), "utf8");
const errorsSection = ARCHITECTURE.slice(ARCHITECTURE.indexOf("## Errors"));

describe("the error policy in docs/ARCHITECTURE.md", () => {
  it("has an Errors section naming every code and every way to ignore an error", async () => {
    expect(ARCHITECTURE).toContain("## Errors");
    for (const code of Object.keys(ERROR_CODES)) expect(errorsSection).toContain(`\`${code}\``);
    const ignorers = Object.keys(await import("../errors.js")).filter((name) => name.startsWith("ignore"));
    expect(ignorers.length).toBeGreaterThan(0);
    for (const name of ignorers) expect(errorsSection).toContain(`\`${name}\``);
  });
});

/** Every shipped source file of the parts whose errors this policy covers (tests excluded). */
function productSources(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== "test" && entry.name !== "node_modules") walk(path);
      } else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) {
        out.push(path);
      }
    }
  };
  for (const part of ["echo", "proxy", "lib", "scripts"]) walk(fromRoot(part));
  return out;
}

/** Ways to drop an error without saying why; each must be one of lib/errors.ts's named functions. */
const SWALLOWS: Array<[string, RegExp]> = [
  ["a noop function", /function noop\b/],
  ["an empty catch block", /catch\s*(\([^)]*\))?\s*\{(\s|\/\/[^\n]*|\/\*[\s\S]*?\*\/)*\}/],
  ["an empty .catch() handler", /\.catch\(\s*(\(\s*\w*\s*\)|\w+)\s*=>\s*(\{\s*\}|undefined)\s*\)/],
  [
    "an empty error listener",
    /\.on(ce)?\(\s*"(error|sessionError|frameError|clientError)",\s*(\(\s*\w*\s*\)|\w+)\s*=>\s*(\{\s*\}|undefined)\s*\)/,
  ],
];

describe("no error is swallowed without a name", () => {
  const sources = productSources();

  it("finds the sources", () => {
    expect(sources.length).toBeGreaterThan(50);
  });

  it.each(SWALLOWS)("no %s in echo/, proxy/, lib/ or scripts/", (_what, pattern) => {
    const offenders = sources
      .filter((path) => pattern.test(readFileSync(path, "utf8")))
      .map((path) => relative(packageRoot, path));
    expect(offenders).toEqual([]);
  });
});
