import { describe, expect, it } from "vitest";
import { countBugsIn, reportBug } from "../../server/guards.js";
import { silentLogger } from "../../server/log.js";
import { StatsStore } from "../../stats/store.js";

describe("process guards", () => {
  it("count every bug they catch in server.envoy_bug_failures and log it at critical", () => {
    const store = new StatsStore();
    const counter = store.counter("server.envoy_bug_failures");
    const lines: string[] = [];
    const logger = { ...silentLogger, critical: (c: string, m: string) => lines.push(`${c}: ${m}`) };
    countBugsIn(counter);
    reportBug(logger, "uncaught exception", new Error("boom"));
    reportBug(logger, "unhandled rejection", "just a string");
    expect(store.snapshot().counters["server.envoy_bug_failures"]).toBe(2);
    expect(lines[0]).toMatch(/^main: uncaught exception \(serving continues\): Error: boom/);
    expect(lines[1]).toBe("main: unhandled rejection (serving continues): just a string");
  });
});
