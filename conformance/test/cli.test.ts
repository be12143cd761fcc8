/**
 * `echomesh-conformance`'s command line, in process: usage errors exit 2 naming the flag, `--help`
 * documents every flag and the exit codes, `--list` names every test and feature, and a selection
 * that matches nothing exits 3 before anything starts. (The runs themselves: target_url.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { EXIT, main, parseArgs, UsageError } from "../cli.js";
import { ALL_FEATURES } from "../harness/features.js";
import { commandTarget, splitCommand } from "../harness/user_targets.js";
import { allTests } from "../tests/index.js";

/** Runs the CLI in process; returns its exit code and what it printed. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("usage errors exit 2 and name the flag", () => {
  it.each([
    [["--bogus"], "--bogus"],
    [["--only"], "--only"],
    [["--repeat", "0"], "--repeat"],
    [["--repeat", "two"], "--repeat"],
    [["--driver", "vm"], "--driver"],
    [["--target", "nosuch"], "--target"],
    [["--target", "echomesh", "--all-targets"], "--all-targets"],
    [["--features", "teleport", "--target-url", "http://127.0.0.1:1", "--backends", "a:1,b:2"], "--features"],
    [["--target-url", "https://127.0.0.1:8080", "--backends", "a:1,b:2"], "--target-url"],
    [["--target-url", "http://127.0.0.1:8080/app", "--backends", "a:1,b:2"], "--target-url"],
    [["--target-url", "http://127.0.0.1:8080"], "--backends"],
    [["--target-url", "http://127.0.0.1:8080", "--backends", "a:1"], "--backends"],
    [["--target-url", "http://127.0.0.1:8080", "--backends", "a:1,nope"], "--backends"],
    [["--backends", "a:1,b:2"], "--backends"],
    [["--target-command", "myproxy -c {config}"], "--dialect"],
    [["--target-command", "myproxy -c {config}", "--dialect", "squid"], "--dialect"],
    [["--target-image", "my/proxy:1", "--dialect", "envoy-v3", "--driver", "processes"], "--driver"],
    [
      ["--target-command", "p {config}", "--dialect", "nginx", "--target-image", "i", "--name", "x"],
      "--target-image",
    ],
    [["--dialect", "nginx"], "--dialect"],
    [["--name", "a/b", "--target-command", "p {config}", "--dialect", "nginx"], "--name"],
    [["--list", "--list"], "--list"],
  ])("%j", async (argv, flag) => {
    const r = await cli(...argv);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toContain(flag);
    expect(r.out).toBe("");
  });

  it("parseArgs throws a UsageError (the bin prints it and exits 2)", () => {
    expect(() => parseArgs(["--repeat", "-1"])).toThrow(UsageError);
  });
});

describe("--help", () => {
  it("lists every flag and the four exit codes, and exits 0", async () => {
    const r = await cli("--help");
    expect(r.code).toBe(EXIT.passed);
    for (const flag of [
      "--help",
      "--version",
      "--list",
      "--only",
      "--target ",
      "--all-targets",
      "--driver",
      "--report-dir",
      "--repeat",
      "--target-url",
      "--backends",
      "--target-command",
      "--target-image",
      "--dialect",
      "--features",
      "--name",
    ])
      expect(r.out).toContain(flag);
    expect(r.out).toMatch(
      /exit codes:\n {2}0 {2}every test that ran passed.*\n {2}1 {2}a test failed\n {2}2 {2}usage error.*\n {2}3 {2}.*unavailable.*nothing ran/,
    );
  });
});

describe("--list", () => {
  it("names every test with its feature and topology, then every feature with its meaning", async () => {
    const r = await cli("--list");
    expect(r.code).toBe(EXIT.passed);
    const lines = r.out.split("\n");
    for (const t of allTests)
      expect(
        lines.some((l) => l.includes(` ${t.id} `) && l.includes(t.feature) && l.includes(t.topology)),
      ).toBe(true);
    for (const f of ALL_FEATURES) expect(r.out).toMatch(new RegExp(`\\n {2}${f} +\\S`));
  });
});

describe("selection", () => {
  it("--only matching no test exits 3: nothing ran", async () => {
    const r = await cli("--only", "nosuch", "--report-dir", "/nonexistent/never-written");
    expect(r.code).toBe(EXIT.nothingRan);
    expect(r.err).toContain("no test matches --only nosuch");
  });
});

describe("--target-command", () => {
  it("splits the command as a shell would and substitutes {config}, {dir} and {cluster}", () => {
    expect(splitCommand(`my proxy -c "{config}" --x 'a b' c"d e"`)).toEqual([
      "my",
      "proxy",
      "-c",
      "{config}",
      "--x",
      "a b",
      "cd e",
    ]);
    const t = commandTarget(
      "mine",
      "myproxy -c {config} --root {dir} --service-cluster {cluster}",
      "haproxy",
    );
    expect(t.processCommand?.("/w/front/config.cfg", "front-proxy", new Map())).toEqual([
      "myproxy",
      "-c",
      "/w/front/config.cfg",
      "--root",
      "/w/front",
      "--service-cluster",
      "front-proxy",
    ]);
  });

  it("claims what the dialect's built-in target claims unless --features says otherwise", () => {
    expect(commandTarget("mine", "p {config}", "nginx").features).not.toContain("h2-upstream");
    expect(commandTarget("mine", "p {config}", "nginx", ["round-robin"]).features).toEqual(["round-robin"]);
  });

  it("is unavailable, with the reason, when its program is not there", async () => {
    const t = commandTarget("mine", "/nonexistent/proxy -c {config}", "caddy");
    expect(await t.unavailable("processes")).toContain("/nonexistent/proxy");
  });
});
