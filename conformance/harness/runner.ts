/** Running tests against started topologies, and grouping them so each topology starts once. */
import { UnsupportedError } from "../../lib/topology/model.js";
import { promSum, stats } from "./stats.js";
import { WAITS } from "./timeouts.js";
import { topology } from "./topologies.js";
import {
  type CheckContext,
  type ConformanceTest,
  type Driver,
  type DriverCapabilities,
  type Measurements,
  type RunningTopology,
  SkipError,
  type Target,
  type TestResult,
} from "./types.js";

/**
 * The tests a filter names (`--only`, ECHOMESH_TESTS): each item an id prefix, a feature or a
 * topology; an empty filter keeps every test. The CLI, the vitest entry and the mutants use it.
 */
export function matching(tests: readonly ConformanceTest[], only: readonly string[]): ConformanceTest[] {
  const items = only.map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) return [...tests];
  return tests.filter((t) => items.some((f) => t.id.startsWith(f) || t.feature === f || t.topology === f));
}

/**
 * Each test `n` times (`ECHOMESH_REPEAT`, default 1): round k of a topology's group is a group of
 * its own, `<topology>#<k>`, on a topology start of its own (a membership test stops or starts an
 * echo, so two rounds on one start would not be the same check). A copy's id is `<id>#<k>`, so a
 * report names the round that failed. A check that is not stable under repetition is flaky.
 */
export function repeated(tests: ConformanceTest[], n: number): ConformanceTest[] {
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`repeat count must be a positive integer, got ${n}`);
  const out: ConformanceTest[] = [];
  for (const group of byTopology(tests).values()) {
    for (let round = 1; round <= n; round++) {
      for (const t of group) out.push(round === 1 ? t : { ...t, id: `${t.id}${ROUND}${round}` });
    }
  }
  return out;
}

const ROUND = "#";

/** A group's key: the topology id, with the round of a repeated copy (`front#2`). */
function groupOf(t: ConformanceTest): string {
  const at = t.id.lastIndexOf(ROUND);
  return at === -1 ? t.topology : `${t.topology}${t.id.slice(at)}`;
}

/** Tests by group (topology id, and round when repeated), in first-seen order. */
export function byTopology(tests: ConformanceTest[]): Map<string, ConformanceTest[]> {
  const groups = new Map<string, ConformanceTest[]>();
  for (const t of tests) groups.set(groupOf(t), [...(groups.get(groupOf(t)) ?? []), t]);
  return groups;
}

/** What a group of tests runs on: a started topology, a start failure, or a reason to skip. */
export type Stage = { topo: RunningTopology } | { startError: Error } | { skip: string };

export async function startStage(
  driver: Driver,
  target: Target,
  topologyId: string,
  tests: ConformanceTest[],
): Promise<Stage> {
  const claimed = tests.filter((t) => target.features.includes(t.feature));
  if (claimed.length === 0) return { skip: notSupported(target) };
  const needed = claimed.some((t) => (t.requires ?? []).every((c) => driver.capabilities[c]));
  if (!needed)
    return {
      skip: missingReason(
        driver,
        claimed.flatMap((t) => t.requires ?? []),
      ),
    };
  // A repeated round's group key is `<topology>#<round>`.
  const t = topology(topologyId.split(ROUND)[0] ?? topologyId);
  try {
    await t.prepare?.();
    return { topo: await driver.start(t, target) };
  } catch (err) {
    // The topology needs something the target's config language has no words for (nginx and an h2c
    // cluster): its tests are skipped with that reason, as a feature the target does not claim.
    if (err instanceof UnsupportedError) return { skip: `${target.name}: ${err.message}` };
    // A driver that cannot run this topology at all (a proxy the suite did not start) says why.
    if (err instanceof SkipError) return { skip: err.message };
    return { startError: err as Error };
  }
}

/**
 * Stops a started topology, first reading every process's count of bugs caught by its process guard
 * (`server.envoy_bug_failures` of each proxy's admin, as Envoy names it; `echo_unexpected_errors_total`
 * of each echo): a count above 0 fails the group even when every check passed. A proxy whose admin has
 * no such stat (another proxy than ours or Envoy) is not judged on it.
 */
export async function stopStage(stage: Stage | undefined): Promise<void> {
  if (!stage || !("topo" in stage)) return;
  const { topo } = stage;
  let bugs: string[];
  try {
    bugs = await unexpectedErrors(topo);
  } finally {
    await topo.stop();
  }
  if (bugs.length > 0)
    throw new Error(`unexpected errors in topology ${topo.topology.id}: ${bugs.join(", ")}`);
}

async function unexpectedErrors(topo: RunningTopology): Promise<string[]> {
  const found: string[] = [];
  const running = new Set(topo.runningEchos());
  // Only Envoy's config dialects come with Envoy's admin (HAProxy, nginx, Caddy have none of ours).
  const envoyAdmin = topo.target.dialect === "envoy-v2" || topo.target.dialect === "envoy-v3";
  for (const p of envoyAdmin ? topo.topology.proxies : []) {
    if (p.sidecarOf !== undefined && !running.has(p.sidecarOf)) continue; // gone with its echo
    const n = (await stats(topo.admin(p.name))).get("server.envoy_bug_failures") ?? 0;
    if (n > 0) found.push(`proxy ${p.name}: server.envoy_bug_failures ${n}`);
  }
  for (const e of topo.topology.echos) {
    if (!running.has(e.name)) continue;
    const n = await promSum(topo.echo(e.name), "echo_unexpected_errors_total");
    if (n > 0) found.push(`echo ${e.name}: echo_unexpected_errors_total ${n}`);
  }
  return found;
}

const capabilityText: Record<keyof DriverCapabilities, string> = {
  dynamicDns:
    "backends joining and leaving a DNS name at runtime (a DNS server whose records follow the echos)",
};

function missingReason(driver: Driver, missing: (keyof DriverCapabilities)[]): string {
  const list = [...new Set(missing)].map((c) => capabilityText[c]).join("; ");
  return `the ${driver.name} driver cannot do ${list}: run with the container driver`;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export const DEFAULT_TEST_TIMEOUT_MS = WAITS.test;

/** The skip reason of a test whose feature the target does not claim. */
export function notSupported(target: Target): string {
  return `not supported by ${target.name}`;
}

export async function runTest(
  test: ConformanceTest,
  driver: Driver,
  stage: Stage,
  target: Target,
): Promise<TestResult> {
  const measurements: Measurements = {};
  const started = Date.now();
  const knownDefect = target.knownDefects?.[test.id];
  const result = (outcome: TestResult["outcome"], reason?: string): TestResult => ({
    id: test.id,
    feature: test.feature,
    topology: test.topology,
    description: test.description,
    ...(test.criterion === undefined ? {} : { criterion: test.criterion }),
    outcome,
    ...(reason === undefined ? {} : { reason }),
    ...(knownDefect === undefined || outcome === "skipped" ? {} : { knownDefect }),
    durationMs: Date.now() - started,
    measurements,
  });
  if (!target.features.includes(test.feature)) return result("skipped", notSupported(target));
  if ("skip" in stage) return result("skipped", stage.skip);
  const missing = (test.requires ?? []).filter((c) => !driver.capabilities[c]);
  if (missing.length > 0) return result("skipped", missingReason(driver, missing));
  if ("startError" in stage)
    return result("failed", `topology ${test.topology} did not start: ${stage.startError.message}`);
  const ctx: CheckContext = {
    topo: stage.topo,
    driver,
    measure: (key, value) => {
      measurements[key] = value;
    },
    skip: (reason) => {
      throw new SkipError(reason);
    },
  };
  try {
    await withTimeout(test.check(ctx), test.timeoutMs ?? DEFAULT_TEST_TIMEOUT_MS, test.id);
    return result("passed");
  } catch (err) {
    if (err instanceof SkipError) return result("skipped", err.message);
    return result("failed", (err as Error).message ?? String(err));
  }
}

/** Run `tests` outside vitest's per-test structure: each topology once, its tests in order. */
export async function runAll(
  driver: Driver,
  target: Target,
  tests: ConformanceTest[],
  onResult?: (r: TestResult, target: Target) => void,
): Promise<TestResult[]> {
  const results: TestResult[] = [];
  const unavailable = await target.unavailable(driver.name);
  for (const [topologyId, group] of byTopology(tests)) {
    const stage: Stage = unavailable
      ? { skip: `target ${target.name} unavailable: ${unavailable}` }
      : await startStage(driver, target, topologyId, group);
    try {
      for (const t of group) {
        const r = await runTest(t, driver, stage, target);
        onResult?.(r, target);
        results.push(r);
      }
    } finally {
      await stopStage(stage);
    }
  }
  return results;
}
