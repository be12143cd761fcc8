/** The built echo CLI's command line: --version, --help, messages and exit codes, ECHOMESH_* variables, TLS flags. */
import net from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EXIT, PACKAGE_VERSION } from "../../../lib/cli.js";
import { request } from "../../../test-support/http.js";
import { ECHO_MAIN } from "../../../test-support/paths.js";
import { type Running, runToEnd, startProcess, stopChild } from "../../../test-support/process.js";
import { httpsRequest, makePki, type Pki } from "../tls_helpers.js";

const started: Running[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((run) => stopChild(run.child)));
});

let pki: Pki;
beforeAll(async () => {
  pki = await makePki();
}, 60_000);
afterAll(() => pki?.remove());

/** A port free right now (bound and released). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("echomesh-echo's command line", () => {
  it("prints its version and its help, exit 0", async () => {
    const version = await runToEnd(ECHO_MAIN, ["--version"]);
    expect(version.code).toBe(EXIT.ok);
    expect(version.stdout).toBe(`echomesh-echo ${PACKAGE_VERSION}\n`);
    const help = await runToEnd(ECHO_MAIN, ["--help"]);
    expect(help.code).toBe(EXIT.ok);
    expect(help.stdout).toContain("--tls-client-ca <file>");
    expect(help.stdout).toContain("env ECHOMESH_PORT (alias PORT)");
  });

  it("says what is wrong with a value in one line, exit 2", async () => {
    const r = await runToEnd(ECHO_MAIN, ["--port=99999"]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toBe(
      "echomesh-echo: --port must be an integer from 0 to 65535 (got 99999). Try --help.\n",
    );
    const env = await runToEnd(ECHO_MAIN, [], { env: { ECHOMESH_MAX_DELAY: "soon" } });
    expect(env.code).toBe(EXIT.usage);
    expect(env.stderr).toBe(
      "echomesh-echo: ECHOMESH_MAX_DELAY must be a duration such as 500ms, 5s or 1m (got soon). Try --help.\n",
    );
    const tls = await runToEnd(ECHO_MAIN, ["--tls-cert", "/nonexistent.crt", "--tls-key", pki.server.key]);
    expect(tls.code).toBe(EXIT.usage);
    expect(tls.stderr).toContain("--tls-cert cannot be read: no such file (got /nonexistent.crt)");
  });

  it("exits 1 when the port is taken", async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const { port } = holder.address() as net.AddressInfo;
    try {
      const r = await runToEnd(ECHO_MAIN, ["--host", "127.0.0.1", "--port", String(port)]);
      expect(r.code).toBe(EXIT.failure);
      expect(r.stderr).toMatch(/EADDRINUSE/);
    } finally {
      holder.close();
    }
  });

  it("listens on ECHOMESH_PORT over PORT, and serves HTTPS with the TLS variables", async () => {
    const [wanted, alias] = [await freePort(), await freePort()];
    const run = startProcess(ECHO_MAIN, ["--host", "127.0.0.1", "--tls-port", "0"], {
      ECHOMESH_PORT: String(wanted),
      PORT: String(alias),
      ECHOMESH_TLS_CERT: pki.server.cert,
      ECHOMESH_TLS_KEY: pki.server.key,
      ECHOMESH_INSTANCE: "from-env",
      INSTANCE: "alias",
    });
    started.push(run);
    const [, port, tlsPort] = await run.waitFor(
      /"url":"http:\/\/127\.0\.0\.1:(\d+)","tlsUrl":"https:\/\/127\.0\.0\.1:(\d+)"/,
    );
    expect(Number(port)).toBe(wanted);
    expect((await request(wanted, "/")).headers["x-echo-instance"]).toBe("from-env");
    const r = await httpsRequest(Number(tlsPort), "/?format=json", { ca: pki.caPem });
    expect(JSON.parse(r.text).tls.version).toMatch(/^TLSv1\.[23]$/);
  });
});
