/**
 * `echomesh-mesh`'s command line (dist/scripts/mesh.js): --help, --version, bad values in words with
 * exit 2, and the environment: ECHOMESH_MESH_* first, the older MESH_* names as aliases, a flag over both.
 * (The mesh itself: mesh.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { PACKAGE_VERSION } from "../../lib/cli.js";
import { MESH_MAIN } from "../../test-support/paths.js";
import { runToEnd } from "../../test-support/process.js";

describe("echomesh-mesh command line", () => {
  it("--help lists every flag with its variable; --version prints the bin and version", async () => {
    const help = await runToEnd(MESH_MAIN, ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: echomesh-mesh/);
    expect(help.stdout).toContain("--front-port N");
    expect(help.stdout).toContain("ECHOMESH_MESH_FRONT_PORT");
    expect(help.stdout).toContain("Exit codes:");
    const version = await runToEnd(MESH_MAIN, ["--version"]);
    expect(version).toMatchObject({ code: 0, stdout: `echomesh-mesh ${PACKAGE_VERSION}\n` });
  });

  it.each([
    [["--front-port", "99999"], {}, "--front-port must be a port (1-65535) (got 99999)"],
    [["--echo-ports", "8081"], {}, "--echo-ports must be two comma-separated values (got 8081)"],
    [
      ["--log-level", "loud"],
      {},
      "--log-level must be one of trace, debug, info, warn, warning, error, critical, off (got loud)",
    ],
    [["--front-port"], {}, "--front-port needs a value"],
    [[], { MESH_FRONT_PORT: "abc" }, "MESH_FRONT_PORT must be a port (1-65535) (got abc)"],
    [
      [],
      { ECHOMESH_MESH_FRONT_PORT: "abc", MESH_FRONT_PORT: "9000" },
      "ECHOMESH_MESH_FRONT_PORT must be a port",
    ],
    // the ECHOMESH_ name wins over its alias, a flag over both: the bad alias value is never read
    [
      ["--echo-ports", "1"],
      { ECHOMESH_MESH_FRONT_PORT: "9100", MESH_FRONT_PORT: "abc" },
      "--echo-ports must be",
    ],
    [
      ["--front-port", "9100", "--echo-ports", "1"],
      { ECHOMESH_MESH_FRONT_PORT: "abc" },
      "--echo-ports must be",
    ],
  ])("%j with %j: exit 2, one line", async (args, env, message) => {
    const r = await runToEnd(MESH_MAIN, args, { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^echomesh-mesh: .*\. Try --help\.\n$/);
    expect(r.stderr).toContain(message);
  });
});
