/**
 * Differential tests: every case of conformance/differential/cases is sent to real Envoy
 * (`findEnvoy()`) and to our proxy (dist/, built by the tier's global setup) with the same v3 config,
 * in front of the same upstreams, and the two are compared (status, headers, body, the request the
 * upstream received, stats deltas). A difference not listed in conformance/differential/known.ts
 * (mirrored by docs/ENVOY-DIFFERENCES.md) fails its case. Without Envoy every case is skipped with the
 * resolver's reason. ECHOMESH_DIFF_CASES=id-prefix,... narrows the run; ECHOMESH_DIFF_REPORT=<file> writes
 * every case's differences (listed and unlisted, with both values) and Envoy's observation there as JSON;
 * ECHOMESH_DIFF_PENDING=1 also runs the cases left out until our proxy matches (cases/index.ts PENDING).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, test } from "vitest";
import { findEnvoy } from "../lib/envoy.js";
import { allCases, pendingCases } from "./differential/cases/index.js";
import { fields } from "./differential/compare.js";
import { type CaseResult, describeUnlisted, groupByConfig, Pair, unusedKnown } from "./differential/run.js";
import { COMPARED_STATS, STAT_NAMES } from "./differential/stats.js";
import { Upstreams } from "./differential/upstreams.js";

const envoy = findEnvoy();
const filter = (process.env.ECHOMESH_DIFF_CASES ?? "")
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
const corpus = process.env.ECHOMESH_DIFF_PENDING === "1" ? [...allCases, ...pendingCases] : allCases;
const cases = filter.length === 0 ? corpus : corpus.filter((c) => filter.some((f) => c.id.startsWith(f)));
const groups = groupByConfig(cases);
const results: CaseResult[] = [];
const startedAt = Date.now();
let upstreams: Upstreams | undefined;
let dir = "";

process.stdout.write(
  envoy.found
    ? `\n[differential] Envoy ${envoy.version} (${envoy.path}, from ${envoy.from}) vs echomesh (dist/proxy/main.js):` +
        ` ${cases.length} cases in ${groups.length} config groups, ${STAT_NAMES.length} stats` +
        ` (${COMPARED_STATS.length} with every cluster) compared\n`
    : `\n[differential] SKIPPED: ${envoy.reason}\n`,
);

beforeAll(async () => {
  if (!envoy.found) return;
  dir = mkdtempSync(join(tmpdir(), "echomesh-differential-"));
  upstreams = await Upstreams.start();
}, 60_000);

afterAll(async () => {
  await upstreams?.stop();
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
  if (!envoy.found) return;
  const passed = results.filter((r) => r.unlisted.length === 0);
  const identical = passed.filter((r) => r.listed.length === 0).length;
  // Same status, headers, body and upstream requests; only (listed) stats deltas differ.
  const sameTraffic = passed.filter(
    (r) => r.listed.length > 0 && r.listed.every((d) => d.field.startsWith("stat.")),
  ).length;
  const failed = results.filter((r) => r.unlisted.length > 0);
  const byEntry = new Map<string, Set<string>>();
  for (const r of results)
    for (const d of r.listed) byEntry.set(d.by, (byEntry.get(d.by) ?? new Set()).add(r.id));
  const lines = [
    `[differential] Envoy ${envoy.version}: ${results.length} cases: ${identical} identical, ${sameTraffic} with the` +
      ` same traffic and listed stats differences, ${passed.length - identical - sameTraffic} with listed traffic` +
      ` differences, ${failed.length} with unlisted differences (${((Date.now() - startedAt) / 1000).toFixed(1)} s)`,
    ...[...byEntry].map(([title, ids]) => {
      const list = [...ids];
      const shown =
        list.length > 8 ? `${list.slice(0, 8).join(", ")} and ${list.length - 8} more` : list.join(", ");
      return `  listed: ${title} (${list.length} case${list.length === 1 ? "" : "s"}: ${shown})`;
    }),
    ...failed.map((r) => `  UNLISTED: ${r.id}: ${r.unlisted.map((d) => d.field).join(", ")}`),
  ];
  if (filter.length === 0) {
    for (const k of unusedKnown(results)) lines.push(`  stale (excused nothing this run): ${k.title}`);
  }
  process.stdout.write(`\n${lines.join("\n")}\n`);
  const report = process.env.ECHOMESH_DIFF_REPORT;
  if (report !== undefined && report !== "") {
    // Envoy's whole observation too: what a case made Envoy do, differing or not.
    const cases = results.map(({ id, envoy, listed, unlisted }) => ({
      id,
      listed,
      unlisted,
      envoy: Object.fromEntries(fields(envoy, new Set())),
    }));
    writeFileSync(report, `${JSON.stringify({ envoy: envoy.version, cases }, null, 1)}\n`);
  }
}, 60_000);

describe("differential: Envoy vs echomesh", () => {
  groups.forEach((group, index) => {
    const first = group[0];
    if (first === undefined) return;
    describe(`config ${index + 1} (${group.map((c) => c.id).join(", ")})`.slice(0, 120), () => {
      let pair: Pair | undefined;
      beforeAll(async () => {
        if (!envoy.found || upstreams === undefined) return;
        pair = await Pair.start(first, upstreams, envoy.path, dir, index + 1);
      }, 60_000);
      afterAll(async () => {
        await pair?.stop();
      }, 30_000);

      for (const c of group) {
        test(c.id, { timeout: 30_000 }, async (ctx) => {
          if (!envoy.found) {
            ctx.skip(envoy.reason);
            return;
          }
          if (pair === undefined) throw new Error("the config group did not start");
          const failed = pair.envoyFailed;
          if (failed !== null) throw new Error(`${c.id}: Envoy rejected the case's config: ${failed}`);
          const r = await pair.run(c);
          results.push(r);
          // A wait that timed out on Envoy means the case does not do what it says: fix the case.
          if (r.envoy.waited !== undefined) throw new Error(`${c.id}: on Envoy, ${r.envoy.waited}`);
          if (r.unlisted.length > 0) throw new Error(describeUnlisted(r));
        });
      }
    });
  });
});
