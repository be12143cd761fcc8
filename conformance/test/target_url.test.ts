/**
 * `echomesh-conformance --target-url` against a proxy the suite did not start: HAProxy, started here
 * by hand with a config a user would write, routing to two loopback ports where the suite starts its
 * echos. A round-robin HAProxy passes; one with `balance first` (every request to the first server)
 * fails, exit 1.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { freePort, waitForPort } from "../../lib/net.js";
import { useCleanup } from "../../test-support/cleanup.js";
import { fromDist } from "../../test-support/paths.js";
import { runToEnd, stopChild } from "../../test-support/process.js";
import type { Report } from "../harness/report.js";

const CLI = fromDist("conformance/cli.js");

function haproxyMissing(): string | null {
  try {
    execFileSync("haproxy", ["-v"], { stdio: "ignore", timeout: 10_000 });
    return null;
  } catch {
    return "haproxy is not installed (Debian: apt-get install haproxy)";
  }
}
const missing = haproxyMissing();

/** What a user writes: one frontend on `listen`, one backend over `backends`, balanced by `balance`. */
function haproxyConfig(listen: number, backends: number[], balance: string): string {
  return [
    "defaults",
    "    mode http",
    "    timeout connect 2s",
    "    timeout client 30s",
    "    timeout server 30s",
    "    timeout tunnel 1h",
    "frontend web",
    `    bind 127.0.0.1:${listen}`,
    "    default_backend echos",
    "backend echos",
    `    balance ${balance}`,
    ...backends.map((p, i) => `    server s${i + 1} 127.0.0.1:${p}`),
    "",
  ].join("\n");
}

describe.skipIf(missing !== null)(
  `--target-url against HAProxy started by hand${missing ? ` (skipped: ${missing})` : ""}`,
  () => {
    const defer = useCleanup();

    /** Starts HAProxy with `balance`, runs the CLI against it; returns the CLI's result and report. */
    async function runAgainst(balance: string) {
      const dir = mkdtempSync(join(tmpdir(), "echomesh-target-url-"));
      defer(() => rmSync(dir, { recursive: true, force: true }));
      const listen = await freePort();
      const backends = [await freePort(), await freePort()];
      const config = join(dir, "haproxy.cfg");
      writeFileSync(config, haproxyConfig(listen, backends, balance));
      const haproxy = spawn("haproxy", ["-db", "-f", config], { stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      haproxy.stdout.on("data", (c: Buffer) => {
        output += c.toString();
      });
      haproxy.stderr.on("data", (c: Buffer) => {
        output += c.toString();
      });
      haproxy.on("error", (err) => {
        output += String(err);
      });
      defer(() => stopChild(haproxy, 5_000));
      await waitForPort(listen, { timeoutMs: 10_000, child: haproxy, describeExit: () => output });
      const reportDir = join(dir, "report");
      const backendList = backends.map((p) => `127.0.0.1:${p}`);
      const result = await runToEnd(
        CLI,
        [
          "--target-url",
          `http://127.0.0.1:${listen}`,
          "--backends",
          backendList.join(","),
          "--only",
          "round-robin",
          "--report-dir",
          reportDir,
        ],
        // dist/ was just built by the project's global setup.
        { timeoutMs: 120_000, env: { ECHOMESH_CONFORMANCE_BUILT: "1" } },
      );
      const report = JSON.parse(readFileSync(join(reportDir, "latest-url.json"), "utf8")) as Report;
      return { result, report, backendList };
    }

    it("a round-robin HAProxy passes the front topology's round-robin tests: exit 0", async () => {
      const { result, report, backendList } = await runAgainst("roundrobin");
      expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
      for (const b of backendList) expect(result.stdout).toContain(b);
      const outcome = new Map(report.results.map((r) => [r.id, r]));
      expect(outcome.get("rr-rotation-2")?.outcome).toBe("passed");
      expect(outcome.get("rr-rotation-fresh-2")?.outcome).toBe("passed");
      // A round-robin test of another topology needs a config the suite writes: skipped, saying so.
      expect(outcome.get("rr-rotation-3")?.outcome).toBe("skipped");
      expect(outcome.get("rr-rotation-3")?.reason).toContain("needs a topology the suite configures");
      expect(report.summary.failed).toBe(0);
    }, 150_000);

    it("an HAProxy with `balance first` (everything to one server) fails the rotation: exit 1", async () => {
      const { result, report } = await runAgainst("first");
      expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(1);
      const rotation = report.results.find((r) => r.id === "rr-rotation-2");
      expect(rotation?.outcome).toBe("failed");
    }, 150_000);
  },
);
