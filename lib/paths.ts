/**
 * Where the package lives on disk, the same answer from the TypeScript sources (vitest) and from the
 * compiled tree (`dist/`): the nearest folder above this file that holds `package.json`.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** The repository (or installed package) root. */
export const packageRoot: string = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

/** The compiled tree: `<root>/dist`. */
export const distDir: string = join(packageRoot, "dist");

/** A path below the package root: `fromRoot("proxy", "README.md")`. */
export function fromRoot(...parts: string[]): string {
  return join(packageRoot, ...parts);
}

/** A compiled entry point: `fromDist("proxy/main.js")`. */
export function fromDist(...parts: string[]): string {
  return join(distDir, ...parts);
}
