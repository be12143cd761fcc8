import { defineConfig } from "vitest/config";

/**
 * Three groups, run one after the other so that heavy tests never share the 2 cores with each other:
 * 0. unit: echo, proxy and loadtest unit tests, files in parallel;
 * 1. e2e: multi-process proxy tests (100 MB bodies, leak checks) and the benchmark smoke test, one file at a time;
 * 2. conformance: the suite against our proxy, then its self-test against the broken proxies, one at a time.
 */
const heavy = ["proxy/test/e2e/**/*.test.ts", "loadtest/test/**/*.test.ts"];

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
          include: ["echo/test/**/*.test.ts", "proxy/test/**/*.test.ts"],
          exclude: heavy,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "e2e",
          include: heavy,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: "conformance",
          include: ["conformance/**/*.test.ts"],
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
