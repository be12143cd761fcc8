/**
 * The incremental build (`tsc -b tsconfig.build.json`, about 1 s when nothing changed) of a checkout,
 * so nothing runs a stale `dist/`: the tests' global setup and the `echomesh-conformance` bin run it
 * first. An installed package (no `tsconfig.build.json` or no TypeScript beside `dist/`) runs as is.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "./paths.js";

const key = Symbol.for("echomesh.build");
type BuildCache = Map<string, Promise<void>>;

/** The TypeScript compiler of a checkout at `root`, or null when `root` is an installed package. */
export function checkoutCompiler(root: string = packageRoot): string | null {
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  return existsSync(join(root, "tsconfig.build.json")) && existsSync(tsc) ? tsc : null;
}

/** Builds `root` (default: this checkout) into `root/dist`; once per process and root. */
export function buildOnce(root: string = packageRoot): Promise<void> {
  const g = globalThis as { [key]?: BuildCache };
  g[key] ??= new Map();
  let done = g[key].get(root);
  if (done === undefined) {
    done = build(root);
    g[key].set(root, done);
  }
  return done;
}

function build(root: string): Promise<void> {
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [tsc, "-b", "tsconfig.build.json"],
      { cwd: root, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err === null) return resolve();
        // tsc's exit code 2: type errors, but every output was written. The edited code still runs;
        // `npm run check` is where type errors fail.
        if (err.code === 2) {
          process.stderr.write(`[build] type errors (dist/ is up to date regardless):\n${stdout}${stderr}`);
          return resolve();
        }
        reject(new Error(`the build (tsc -b tsconfig.build.json in ${root}) failed:\n${stdout}${stderr}`));
      },
    );
  });
}
