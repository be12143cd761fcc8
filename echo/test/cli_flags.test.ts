/** The echo's command line (config.ts): ECHOMESH_* variables and aliases, human messages for every flag, help. */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestPki } from "../../lib/test_pki.js";
import { configFromCli } from "../config.js";
import { envLine, FLAGS, USAGE } from "../flags.js";

function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const r = configFromCli(argv, env);
  if (r.kind !== "run") throw new Error(`expected a config, got ${r.kind}`);
  return r.config;
}

/** The message configFromCli throws. */
function problem(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    configFromCli(argv, env);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`accepted ${argv.join(" ")} ${JSON.stringify(env)}`);
}

describe("environment variables", () => {
  it("reads ECHOMESH_* first, then the older names; flags win over both", () => {
    expect(run([], { ECHOMESH_PORT: "9001", PORT: "9002" }).port).toBe(9001);
    expect(run([], { PORT: "9002" }).port).toBe(9002);
    expect(run([], { ECHOMESH_PORT: "", PORT: "9002" }).port).toBe(9002); // empty counts as unset
    expect(run(["--port", "9003"], { ECHOMESH_PORT: "9001", PORT: "9002" }).port).toBe(9003);
    expect(run([], { ECHOMESH_SHOW_IP: "off", ECHO_SHOW_IP: "1" }).showIp).toBe(false);
    expect(run([], { ECHOMESH_MAX_BODY: "1k", MAX_BODY_SIZE: "2k" }).maxBodyBytes).toBe(1024);
    expect(run([], { ECHOMESH_NAMESPACE: "a", NAMESPACE: "b", POD_NAME: "p" })).toMatchObject({
      namespace: "a",
      pod: "p",
    });
  });

  it("has one ECHOMESH_* variable per flag, named after it", () => {
    for (const f of FLAGS) expect(f.env).toBe(`ECHOMESH_${f.name.toUpperCase().replaceAll("-", "_")}`);
    const env = {
      ECHOMESH_JSON: "1",
      ECHOMESH_ANYTHING: "yes",
      ECHOMESH_ACCESS_LOG: "off",
      ECHOMESH_INSTANCE: "e",
    };
    expect(run([], env)).toMatchObject({ json: true, anything: true, accessLog: false, instance: "e" });
    expect(run(["--no-json", "--no-anything"], env)).toMatchObject({ json: false, anything: false });
  });
});

describe("messages for bad flags and values", () => {
  it("tells the flag, the rule and the value", () => {
    expect(problem(["--port=99999"])).toBe("--port must be an integer from 0 to 65535 (got 99999)");
    expect(problem(["-p", "http"])).toBe("--port must be an integer from 0 to 65535 (got http)");
    expect(problem([], { PORT: "70000" })).toBe("PORT must be an integer from 0 to 65535 (got 70000)");
    expect(problem([], { ECHOMESH_ACCESS_LOG: "maybe" })).toBe(
      "ECHOMESH_ACCESS_LOG must be on or off (or 1/0, true/false, yes/no) (got maybe)",
    );
    expect(problem(["--max-header-size", "10"])).toBe(
      "--max-header-size must be at least 1KiB (1024 bytes) (got 10)",
    );
    expect(problem(["--max-delay", "1000h"])).toBe(
      "--max-delay must be at most 24.8 days (2147483647 ms, Node's timer limit) (got 1000h)",
    );
    expect(problem(["--instance", "has space"])).toBe(
      '--instance must be printable ASCII without spaces (got "has space")',
    );
    expect(problem(["--host="])).toBe('--host must not be empty (got "")');
    expect(problem(["--max-ws-message", "0"])).toBe("--max-ws-message must be at least 1 byte (got 0)");
  });

  it("covers every flag that takes a value, from the flag and from each variable", () => {
    const rule: Record<string, RegExp> = {
      port: /must be an integer from 0 to 65535/,
      size: /must be a size such as 1048576, 64k or 10MiB/,
      duration: /must be a duration such as 500ms, 5s or 1m/,
      switch: /must be on or off/,
    };
    for (const f of FLAGS) {
      const expected = rule[f.kind];
      if (expected === undefined) continue; // text and file values are judged below
      if (f.kind !== "switch") expect(problem([`--${f.name}`, "bogus"])).toMatch(new RegExp(`^--${f.name} `));
      if (f.kind !== "switch") expect(problem([`--${f.name}`, "bogus"])).toMatch(expected);
      for (const name of [f.env, ...f.aliases]) {
        const message = problem([], { [name]: "bogus" });
        expect(message.startsWith(`${name} `), message).toBe(true);
        expect(message).toMatch(expected);
        expect(message).toMatch(/\(got bogus\)$/);
      }
    }
  });

  it("rewords node's argument errors", () => {
    expect(problem(["--bogus"])).toBe("unknown flag --bogus");
    expect(problem(["--port"])).toBe("--port needs a value");
    expect(problem(["--show-ip=1"])).toBe("--show-ip takes no value");
    expect(problem(["serve"])).toBe("unexpected argument serve");
  });
});

describe("TLS flags", () => {
  let dir: string;
  let files: { ca: string; cert: string; key: string; otherKey: string };
  beforeAll(async () => {
    dir = await mkdtemp(join(os.tmpdir(), "echo-cli-"));
    const pki = await createTestPki(dir);
    const server = await pki.issue("echo", { dns: ["localhost"] });
    const other = await pki.issue("other");
    files = { ca: pki.ca, cert: server.cert, key: server.key, otherKey: other.key };
  }, 30_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("turns HTTPS on with a certificate and key, on port 8443 unless told", () => {
    expect(run([]).tls).toBeUndefined();
    expect(run(["--tls-cert", files.cert, "--tls-key", files.key]).tls).toEqual({
      port: 8443,
      cert: files.cert,
      key: files.key,
      clientCa: undefined,
    });
    const env = {
      ECHOMESH_TLS_CERT: files.cert,
      ECHOMESH_TLS_KEY: files.key,
      ECHOMESH_TLS_CLIENT_CA: files.ca,
    };
    expect(run(["--tls-port", "0"], env).tls).toEqual({
      port: 0,
      cert: files.cert,
      key: files.key,
      clientCa: files.ca,
    });
  });

  it("names what is missing or wrong", () => {
    expect(problem(["--tls-cert", files.cert])).toBe(
      "--tls-cert needs --tls-key (HTTPS is on when both are given)",
    );
    expect(problem(["--tls-port", "9443"])).toBe(
      "--tls-port needs --tls-cert and --tls-key (HTTPS is on when both are given)",
    );
    expect(problem(["--tls-cert", "/nonexistent.pem", "--tls-key", files.key])).toBe(
      "--tls-cert cannot be read: no such file (got /nonexistent.pem)",
    );
    expect(problem(["--tls-cert", files.key, "--tls-key", files.key])).toBe(
      `--tls-cert is not a PEM certificate (got ${files.key})`,
    );
    expect(problem(["--tls-cert", files.cert, "--tls-key", files.cert])).toBe(
      `--tls-key is not a PEM private key (got ${files.cert})`,
    );
    expect(problem(["--tls-cert", files.cert, "--tls-key", files.otherKey])).toBe(
      `--tls-key does not belong to the certificate (got ${files.otherKey})`,
    );
    expect(
      problem([], {
        ECHOMESH_TLS_CERT: files.cert,
        ECHOMESH_TLS_KEY: files.key,
        ECHOMESH_TLS_CLIENT_CA: files.key,
      }),
    ).toBe(`ECHOMESH_TLS_CLIENT_CA is not a PEM certificate (got ${files.key})`);
  });
});

describe("--help and --version", () => {
  it("lists every flag with its variable and aliases", () => {
    expect(configFromCli(["--help"], {})).toEqual({ kind: "help", text: USAGE });
    for (const f of FLAGS) {
      expect(USAGE).toContain(`--${f.kind === "switch" ? `[no-]${f.name}` : f.name}`);
      expect(USAGE).toContain(envLine(f.env, f.aliases));
    }
    expect(USAGE).toContain("env ECHOMESH_PORT (alias PORT)\n");
    expect(USAGE).toContain("env ECHOMESH_SHOW_IP (alias ECHO_SHOW_IP)\n");
    expect(USAGE).toMatch(/ECHOMESH_NAMESPACE +\(alias NAMESPACE\)/);
    expect(USAGE).toContain("--version");
  });

  it("asks for the version", () => {
    expect(configFromCli(["--version"], {})).toEqual({ kind: "version" });
  });
});
