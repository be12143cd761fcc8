import { describe, expect, it } from "vitest";
import { loadConfigString, MAX_CONFIG_BYTES, ProxyConfigError, readConfigFile } from "../../config/load.js";
import { loadBootstrap } from "../../server/config_source.js";

const LIMIT = "over the limit of 16 MiB (16777216 bytes)";

async function problems(load: () => unknown): Promise<string[]> {
  try {
    await load();
    return [];
  } catch (err) {
    if (err instanceof ProxyConfigError) return err.errors;
    throw err;
  }
}

describe("config bounds", () => {
  it("a string over 16 MiB is refused by its size; one just under it is read", async () => {
    const over = `node: { id: "${"é".repeat(MAX_CONFIG_BYTES / 2)}" }`;
    expect(await problems(() => loadConfigString(over))).toEqual([
      `config too large: ${Buffer.byteLength(over)} bytes, ${LIMIT}`,
    ]);
    expect(await problems(() => loadBootstrap(null, over))).toEqual([
      `--config-yaml: config too large: ${Buffer.byteLength(over)} bytes, ${LIMIT}`,
    ]);
    const under = `{"node": {"id": "${"a".repeat(MAX_CONFIG_BYTES - 100)}"}}`;
    expect(loadConfigString(under).node?.id).toHaveLength(MAX_CONFIG_BYTES - 100);
  });

  it("a file without a size (a device, a pipe) is read only up to the limit", async () => {
    const start = performance.now();
    expect(await problems(() => readConfigFile("/dev/zero"))).toEqual([
      `/dev/zero: config too large: ${LIMIT}`,
    ]);
    expect(performance.now() - start).toBeLessThan(5_000);
    expect(await problems(() => loadBootstrap("/dev/zero", "node: {}"))).toEqual([
      `/dev/zero: config too large: ${LIMIT}`,
    ]);
  });
});
