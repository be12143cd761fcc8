/**
 * The one way tests get a runnable build: `tsc -b tsconfig.build.json`, incremental (about 1 s when
 * nothing changed, a few seconds after an edit). Run once per vitest run by `global-build.ts`, before
 * any project whose tests start `dist/` (integration, e2e, conformance); `npm run bench`,
 * `npm run conformance` and `npm start` build first too.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { packageRoot } from "../lib/paths.js";

const key = Symbol.for("echomesh.test-support.build");
type BuildCache = Map<string, Promise<void>>;

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
        // tsc's exit code 2: type errors, but every output was written. The tests still run the
        // edited code; `npm run check` is where type errors fail.
        if (err.code === 2) {
          process.stderr.write(`[build] type errors (dist/ is up to date regardless):\n${stdout}${stderr}`);
          return resolve();
        }
        reject(new Error(`the build (tsc -b tsconfig.build.json in ${root}) failed:\n${stdout}${stderr}`));
      },
    );
  });
}
