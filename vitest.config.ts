import { defineConfig } from "vitest/config";

/**
 * Four tiers, run one after the other so that heavy tests never share the 2 cores with each other:
 * 0. unit: in-process only (loopback sockets allowed, no child processes), files in parallel in
 *    shared workers;
 *    `npm run test:unit` is the inner loop.
 * 1. hardening: what an attacker or a broken peer can do (rapid reset, stream hogs, pipelining
 *    floods, slow heads, regex bombs, huge configs), one test per attack, each bounded in count and
 *    time and on loopback only; one file at a time, since each loads the machine on purpose.
 * 2. integration: tests that start a built CLI (`dist/`) as a child process: the proxy's and the
 *    echo's command lines, the mesh runner.
 * 3. e2e: multi-process proxy tests (100 MB bodies, leak checks), the benchmark smoke test and the
 *    package test (npm pack, install into a temp prefix, run every bin), one file at a time.
 * 4. conformance: the suite against echomesh, echomesh-v3 and real Envoy, its self-test against the
 *    broken proxies, and the differential run (the same traffic to Envoy and to our proxy).
 * Every tier that runs `dist/` builds it first (test-support/global-build.ts: incremental `tsc -b`),
 * so no test ever runs stale code.
 */
const hardening = ["{echo,proxy}/test/hardening/**/*.test.ts"];
const integration = [
  "proxy/test/cli/**/*.test.ts",
  "echo/test/cli/**/*.test.ts",
  "scripts/test/*.test.ts",
  "conformance/test/target_url.test.ts",
  // the HAProxy, nginx and Caddy renderers, checked and run by the programs themselves
  "lib/test/topology/{haproxy,nginx,caddy}.test.ts",
];
const e2e = [
  "proxy/test/e2e/**/*.test.ts",
  "loadtest/test/e2e/**/*.test.ts",
  "test-support/test/**/*.test.ts",
  // the packed tarball installed into a temp prefix, every bin run from there
  "scripts/test/e2e/**/*.test.ts",
];
const build = ["test-support/global-build.ts"];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: "forks",
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["{echo,proxy,loadtest,lib,conformance}/test/**/*.test.ts"],
          exclude: [...hardening, ...integration, ...e2e],
          // Files share a worker (no fresh process per file): about 20 s instead of 35 s here. Unit
          // tests must leave no global state behind (timers, listeners, env); each cleans up after itself.
          isolate: false,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "hardening",
          include: hardening,
          globalSetup: build,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: integration,
          globalSetup: build,
          sequence: { groupOrder: 2 },
        },
      },
      {
        extends: true,
        test: {
          name: "e2e",
          include: e2e,
          globalSetup: build,
          fileParallelism: false,
          sequence: { groupOrder: 3 },
        },
      },
      {
        extends: true,
        test: {
          name: "conformance",
          include: ["conformance/*.test.ts"],
          globalSetup: build,
          fileParallelism: false,
          sequence: { groupOrder: 4 },
        },
      },
    ],
  },
});
