/**
 * Hostile or merely huge configs: loading is linear in the input and bounded (a size limit, a nesting
 * limit), and each refusal is one clear line and exit 1, never a stall or a crash. Inputs are
 * generated here, in a temporary directory removed after each test.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useCleanup } from "../../../test-support/cleanup.js";
import { PROXY_MAIN } from "../../../test-support/paths.js";
import { runToEnd } from "../../../test-support/process.js";
import { loadConfigFile, loadConfigString } from "../../config/load.js";

const defer = useCleanup();

/** A file named `name` holding `text`, in a directory removed after the test. */
async function tempFile(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "echomesh-config-"));
  defer(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

/** `n` STATIC clusters in compact JSON, about 115 bytes each. */
function manyClusters(n: number): string {
  const clusters: string[] = [];
  for (let i = 0; i < n; i++) {
    clusters.push(
      `{"name":"cluster_${i}","type":"STATIC","connect_timeout":"1s","load_assignment":{"cluster_name":"cluster_${i}"}}`,
    );
  }
  return `{"static_resources":{"clusters":[${clusters.join(",")}]}}`;
}

describe("huge and hostile configs", () => {
  it("100,000 clusters (11.5 MB of JSON) load in under 10 s", async () => {
    const text = manyClusters(100_000);
    expect(text.length).toBeGreaterThan(11_000_000);
    const path = await tempFile("clusters.json", text);
    const start = performance.now();
    const bootstrap = await loadConfigFile(path);
    const ms = performance.now() - start;
    expect(bootstrap.clusters).toHaveLength(100_000);
    expect(ms, "load time (ms)").toBeLessThan(10_000);
  });

  it("a 50 MB config is refused at once by --mode validate: one line naming the limit, exit 1", async () => {
    const text = `node:\n  id: "${"a".repeat(50 * 1024 * 1024)}"\n`;
    const path = await tempFile("big.yaml", text);
    const start = performance.now();
    const r = await runToEnd(PROXY_MAIN, ["--mode", "validate", "-c", path], { timeoutMs: 20_000 });
    expect(performance.now() - start, "time to refuse (ms)").toBeLessThan(2_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `invalid config (1 error):\n  ${path}: config too large: ${text.length} bytes, over the limit of 16 MiB (16777216 bytes)\n`,
    );
  });

  it("a mapping of 20,000 keys (340 KB of YAML) is read in linear time: under 2 s, its duplicate named", () => {
    let yaml = "node:\n  metadata:\n";
    for (let i = 0; i < 20_000; i++) yaml += `    k${i}: ${i}\n`;
    const start = performance.now();
    expect(() => loadConfigString(`${yaml}    k7: again\n`)).toThrow(
      "YAML syntax error: Map keys must be unique at line 20003, column 5",
    );
    expect(performance.now() - start, "load time (ms)").toBeLessThan(2_000);
  });

  it("50,000 nested [ (100 KB) are refused before YAML recurses, as Envoy refuses ~100 levels: one line, exit 1", async () => {
    const path = await tempFile(
      "deep.yaml",
      `node:\n  metadata:\n    a: ${"[".repeat(50_000)}${"]".repeat(50_000)}\n`,
    );
    const r = await runToEnd(PROXY_MAIN, ["--mode", "validate", "-c", path], { timeoutMs: 20_000 });
    expect(r.signal).toBe(null);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `invalid config (1 error):\n  ${path}: the config nests collections deeper than 100 levels (line 3, column 105)\n`,
    );
  });
});
