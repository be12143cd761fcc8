import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { EXIT, envValue, PACKAGE_VERSION, versionLine } from "../cli.js";
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
});
