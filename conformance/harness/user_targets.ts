/**
 * The user's own proxy as a target: a local program the suite configures (`--target-command`) or an
 * image (`--target-image`); one already running (`--target-url`) is `driver-external.ts`'s. The suite renders each topology in the program's `--dialect`; what it claims
 * defaults to what that dialect's built-in target claims (`--features` overrides).
 */
import { accessSync, constants } from "node:fs";
import { delimiter, dirname, isAbsolute, join } from "node:path";
import type { Dialect } from "../../lib/topology/model.js";
import { imageTarget, PEERS, targets } from "./targets.js";
import type { Feature, Target } from "./types.js";

export const DIALECTS: readonly Dialect[] = ["envoy-v2", "envoy-v3", "haproxy", "nginx", "caddy"];

/** What a running proxy is assumed to do unless `--features` says otherwise. */
export const URL_FEATURES: readonly Feature[] = ["round-robin", "websocket", "headers", "framing"];

/** The built-in target whose config dialect is `dialect` (its features are the user's default). */
function builtIn(dialect: Dialect): Target {
  const name =
    dialect === "envoy-v2"
      ? "echomesh"
      : dialect === "envoy-v3"
        ? "envoy"
        : (PEERS.find((p) => p.dialect === dialect)?.name ?? dialect);
  const found = targets().find((t) => t.name === name);
  if (!found) throw new Error(`no built-in target reads ${dialect}`);
  return found;
}

/** The features a `dialect`'s built-in target claims (echomesh for envoy-v2, envoy for envoy-v3). */
export function dialectFeatures(dialect: Dialect): readonly Feature[] {
  return builtIn(dialect).features;
}

/** Splits a command line into words as a shell does for plain words, '...' and "..." (no expansion). */
export function splitCommand(line: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote !== null) {
      if (c === quote) quote = null;
      else if (quote === '"' && c === "\\" && i + 1 < line.length) word = (word ?? "") + line[++i];
      else word = (word ?? "") + c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= "";
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else word = (word ?? "") + c;
  }
  if (quote !== null) throw new Error(`unclosed ${quote} in command: ${line}`);
  if (word !== null) words.push(word);
  return words;
}

/** True when `program` is an executable file (a path, or a name on PATH). */
function executable(program: string): boolean {
  const candidates =
    program.includes("/") || isAbsolute(program)
      ? [program]
      : (process.env.PATH ?? "").split(delimiter).map((d) => join(d, program));
  return candidates.some((c) => {
    try {
      accessSync(c, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * A local program: `{config}` in its command line becomes the rendered config file, `{dir}` the
 * proxy's own scratch folder (the config's folder), `{cluster}` the node's service cluster (Envoy's
 * `--service-cluster`). Process driver only.
 */
export function commandTarget(
  name: string,
  command: string,
  dialect: Dialect,
  features?: readonly Feature[],
): Target {
  const words = splitCommand(command);
  const program = words[0] ?? "";
  const reference = builtIn(dialect);
  return {
    name,
    description: `\`${command}\` with ${dialect} configs`,
    dialect,
    features: features ?? reference.features,
    // The state folders the built-in target of this dialect needs (Caddy's HOME), not its defects.
    ...(reference.processEnv === undefined ? {} : { processEnv: reference.processEnv }),
    image: null,
    configPath: "",
    containerCommand: () => [],
    processCommand: (config, serviceCluster) =>
      words.map((w) =>
        w
          .replaceAll("{config}", config)
          .replaceAll("{dir}", dirname(config))
          .replaceAll("{cluster}", serviceCluster),
      ),
    async unavailable(driver) {
      if (driver !== "processes") return `--target-command runs with the process driver only`;
      if (!executable(program)) return `${program}: not an executable file (nor a program on PATH)`;
      return null;
    },
  };
}

/**
 * An image: the container driver starts it with the rendered config copied in. The container driver
 * writes Envoy's configs only (`-c FILE --service-cluster X`, `imageTarget`); an image of another
 * dialect is unavailable with that reason (its local program runs with `--target-command`). The
 * image is pulled only when it is not present, and never re-tagged.
 */
export function userImageTarget(
  name: string,
  image: string,
  dialect: Dialect,
  features?: readonly Feature[],
): Target {
  if (dialect === "envoy-v2" || dialect === "envoy-v3") {
    const t = imageTarget(name, image, dialect);
    return { ...t, features: features ?? dialectFeatures(dialect) };
  }
  return {
    name,
    description: `${image} with ${dialect} configs`,
    dialect,
    features: features ?? dialectFeatures(dialect),
    image,
    configPath: "",
    containerCommand: () => [],
    processCommand: null,
    async unavailable() {
      return `the container driver runs images of Envoy's dialects only (envoy-v2, envoy-v3); run the ${dialect} program with --target-command`;
    },
  };
}
