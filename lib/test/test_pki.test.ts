import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestPki, type TestPki } from "../test_pki.js";

let dir: string;
let pki: TestPki;
let other: TestPki;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "echomesh-pki-"));
  pki = await createTestPki(join(dir, "a"));
  other = await createTestPki(join(dir, "b"), "another CA");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Handshakes a client trusting `ca` with a server presenting `files`; resolves the outcome. */
async function handshake(
  files: { cert: string; key: string },
  ca: string,
  servername: string,
): Promise<{ ok: boolean; error?: string; peerCn?: string }> {
  const server = tls.createServer({ cert: readFileSync(files.cert), key: readFileSync(files.key) }, (s) =>
    s.end(),
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise((resolve) => {
      const socket = tls.connect({ port, host: "127.0.0.1", ca: readFileSync(ca), servername }, () => {
        resolve({ ok: true, peerCn: String(socket.getPeerCertificate().subject.CN) });
        socket.destroy();
      });
      socket.on("error", (err) => resolve({ ok: false, error: (err as NodeJS.ErrnoException).code }));
    });
  } finally {
    server.close();
  }
}

describe("test PKI", () => {
  it("issues a leaf that a client trusting the CA accepts for its DNS name", async () => {
    const leaf = await pki.issue("server", { dns: ["echo.test", "localhost"], ips: ["127.0.0.1"] });
    expect(await handshake(leaf, pki.ca, "echo.test")).toEqual({ ok: true, peerCn: "echo.test" });
  });

  it("a leaf of another CA is refused, and so is a name the leaf does not carry", async () => {
    const stranger = await other.issue("stranger", { dns: ["echo.test"] });
    expect((await handshake(stranger, pki.ca, "echo.test")).ok).toBe(false);
    const leaf = await pki.issue("named", { dns: ["a.test"] });
    expect(await handshake(leaf, pki.ca, "b.test")).toMatchObject({
      ok: false,
      error: "ERR_TLS_CERT_ALTNAME_INVALID",
    });
  });
});
