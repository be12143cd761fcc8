/**
 * The build stage of both Dockerfiles (docker/Dockerfile.local and echo/Dockerfile):
 *
 *   node dist/scripts/lib/image_assemble.js SRC OUT
 *
 * lays out under OUT what the runtime stage copies to `/`:
 *   OUT/app/package.json, OUT/app/node_modules (SRC's, as it stands: the caller has pruned it to the
 *   production dependencies), OUT/app/dist (SRC/dist without the conformance and loadtest suites, tests,
 *   source maps, type declarations and build stamps), and the executables OUT/usr/local/bin/{envoy, echomesh-proxy,
 *   echomesh-echo, echomesh-sidecar}: two-line `#!/usr/local/bin/node` shims that call the entry point,
 *   so an overridden `--entrypoint /usr/local/bin/envoy` works with no shell in the image.
 * Written for node alone (the offline image has no shell, so its RUN lines are in exec form).
 */
import { chmodSync, cpSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, join, relative, sep } from "node:path";

/** The shims, each named for the entry point's command it runs (scripts/entry.ts). */
export const SHIM_NAMES = ["envoy", "echomesh-proxy", "echomesh-echo", "echomesh-sidecar"] as const;

/** Folders of dist/ that are test suites, not part of the image. */
const SUITES = new Set(["conformance", "loadtest"]);

/** Whether a dist/ path (relative to dist/) belongs in the image. */
export function keepInImage(rel: string): boolean {
  const parts = rel.split(sep);
  if (parts.length > 0 && SUITES.has(parts[0] ?? "")) return false;
  if (parts.includes("test")) return false;
  const name = basename(rel);
  return !(
    name.endsWith(".map") ||
    name.endsWith(".d.ts") ||
    name.endsWith(".tsbuildinfo") ||
    /^\..*stamp$/.test(name)
  );
}

export function shimText(name: string): string {
  return `#!/usr/local/bin/node\nimport("/app/dist/scripts/entry.js").then((m) => m.runEntry(["${name}", ...process.argv.slice(2)]));\n`;
}

export function assemble(src: string, out: string): void {
  const app = join(out, "app");
  mkdirSync(app, { recursive: true });
  cpSync(join(src, "package.json"), join(app, "package.json"));
  cpSync(join(src, "node_modules"), join(app, "node_modules"), { recursive: true, verbatimSymlinks: true });
  const dist = join(src, "dist");
  cpSync(dist, join(app, "dist"), {
    recursive: true,
    filter: (from) => from === dist || keepInImage(relative(dist, from)),
  });
  const bin = join(out, "usr", "local", "bin");
  mkdirSync(bin, { recursive: true });
  for (const name of SHIM_NAMES) {
    writeFileSync(join(bin, name), shimText(name));
    chmodSync(join(bin, name), 0o755);
  }
}

const started = process.argv[1];
if (started !== undefined && /^image_assemble\.[cm]?js$/.test(basename(started))) {
  const [src, out] = process.argv.slice(2);
  if (src === undefined || out === undefined) {
    process.stderr.write("usage: image_assemble.js SRC OUT\n");
    process.exit(2);
  }
  assemble(src, out);
}
