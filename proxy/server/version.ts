/**
 * The package version, read once at startup from the package's package.json (the same code runs
 * from `proxy/server/` under vitest and from `dist/proxy/server/` when built).
 */
import { readFileSync } from "node:fs";
import { fromRoot } from "../../lib/paths.js";

const pkg = JSON.parse(readFileSync(fromRoot("package.json"), "utf8")) as { version: string };

export const VERSION: string = pkg.version;
/** What `/server_info` and `--version` print, Envoy-style `<name>/<version>`. */
export const VERSION_STRING = `echomesh-proxy/${VERSION}`;
