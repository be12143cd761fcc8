/**
 * The package version, read once at startup from the package.json above this file (the same code
 * runs from `proxy/server/` under vitest and from `dist/proxy/server/` when built).
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function findVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "echomesh" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // not here: look one level up
    }
    dir = dirname(dir);
  }
  return "0.0.0";
}

export const VERSION = findVersion();
/** What `/server_info` and `--version` print, Envoy-style `<name>/<version>`. */
export const VERSION_STRING = `echomesh-proxy/${VERSION}`;
