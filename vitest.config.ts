import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "echo/test/**/*.test.ts",
      "proxy/test/**/*.test.ts",
      "conformance/**/*.test.ts",
      "loadtest/test/**/*.test.ts",
    ],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: "forks",
    reporters: ["default"],
  },
});
