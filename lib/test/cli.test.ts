import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { describe, expect, it } from "vitest";
import {
  badValue,
  EXIT,
  envFlag,
  envValue,
  PACKAGE_VERSION,
  parseArgsMessage,
  usageLine,
  versionLine,
  wholeNumber,
} from "../cli.js";
import { fromRoot } from "../paths.js";

describe("lib/cli", () => {
  it("the ECHOMESH_ name wins over its aliases, an empty value counts as unset", () => {
    const env = { ECHOMESH_PORT: "", PORT: "81", ECHO_PORT: "82" };
    expect(envValue(env, "ECHOMESH_PORT", ["PORT", "ECHO_PORT"])).toBe("81");
    expect(envValue({ ...env, ECHOMESH_PORT: "80" }, "ECHOMESH_PORT", ["PORT"])).toBe("80");
    expect(envValue({}, "ECHOMESH_PORT", ["PORT"])).toBeUndefined();
  });

  it("--version prints the bin and the package's version", () => {
    const pkg = JSON.parse(readFileSync(fromRoot("package.json"), "utf8")) as { version: string };
    expect(PACKAGE_VERSION).toBe(pkg.version);
    expect(versionLine("echomesh-echo")).toBe(`echomesh-echo ${pkg.version}`);
  });

  it("one exit-code table: 0 ok, 1 failure, 2 usage, 3 unavailable", () => {
    expect(EXIT).toEqual({ ok: 0, failure: 1, usage: 2, unavailable: 3 });
  });

  it("a usage error is one line: the bin, what is wrong, Try --help.", () => {
    expect(usageLine("echomesh-proxy", badValue("--concurrency", "a positive integer", "x"))).toBe(
      "echomesh-proxy: --concurrency must be a positive integer (got x). Try --help.\n",
    );
    expect(usageLine("echomesh-mesh", "--host needs a value.")).toBe(
      "echomesh-mesh: --host needs a value. Try --help.\n",
    );
    expect(badValue("--port", "a port (1-65535)", "")).toBe("--port must be a port (1-65535) (got nothing)");
  });

  it("node:util parseArgs errors in our words, not Node's", () => {
    const message = (args: string[]) => {
      try {
        parseArgs({ args, strict: true, options: { port: { type: "string" }, watch: { type: "boolean" } } });
        return "parsed";
      } catch (err) {
        return parseArgsMessage(err);
      }
    };
    expect(message(["--frobnicate"])).toBe("unknown flag --frobnicate");
    expect(message(["--port"])).toBe("--port needs a value");
    expect(message(["--watch=yes"])).toBe("--watch takes no value");
    expect(message(["stray"])).toBe("unexpected argument stray");
  });

  it("wholeNumber: the number, or the bin's own error saying what was expected and what came", () => {
    const usage = (m: string) => new RangeError(m);
    expect(wholeNumber("--port", "8080", 1, 65_535, usage)).toBe(8080);
    expect(() => wholeNumber("--port", "99999", 1, 65_535, usage)).toThrow(
      new RangeError("--port must be a port (1-65535) (got 99999)"),
    );
    expect(() => wholeNumber("--rounds", "1.5", 1, Number.MAX_SAFE_INTEGER, usage)).toThrow(
      "--rounds must be a positive integer (got 1.5)",
    );
    expect(() => wholeNumber("--drain-time-s", "-1", 0, 86_400, usage)).toThrow(
      "--drain-time-s must be an integer from 0 to 86400 (got -1)",
    );
  });

  it("envFlag: on/off words, unset is undefined, anything else names the variable that carried it", () => {
    const usage = (m: string) => new Error(m);
    expect(envFlag({ ECHOMESH_X: "on" }, "ECHOMESH_X", ["X"], usage)).toBe(true);
    expect(envFlag({ X: "0" }, "ECHOMESH_X", ["X"], usage)).toBe(false);
    expect(envFlag({}, "ECHOMESH_X", ["X"], usage)).toBeUndefined();
    expect(() => envFlag({ X: "maybe" }, "ECHOMESH_X", ["X"], usage)).toThrow(
      "X must be 1 or 0 (true/false, yes/no, on/off) (got maybe)",
    );
  });
});
