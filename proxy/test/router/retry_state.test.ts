/**
 * RetryState's decisions, condition by condition, as Envoy 1.40 decided them for the same outcomes
 * (measured: one echo answering each outcome behind a route per `retry_on` condition); the
 * previous_hosts host choice; the back-off bounds of both dialects.
 */
import { describe, expect, it } from "vitest";
import type { RawHeaders, ResetReason } from "../../api/upstream.js";
import type { RetryPolicy } from "../../config/model.js";
import { REFUSED_STREAM_DETAIL, RetryState } from "../../router/retry.js";
import type { Cluster } from "../../upstream/cluster.js";
import type { Host } from "../../upstream/host.js";

function policy(retryOn: string, extra: Partial<RetryPolicy> = {}): RetryPolicy {
  return {
    retryOn: new Set(retryOn.split(",")),
    numRetries: 2,
    perTryTimeoutMs: 0,
    retriableStatusCodes: new Set([418]),
    retriableHeaders: [{ name: "x-retry-me", match: { kind: "present", present: true }, invert: false }],
    retriableRequestHeaders: [],
    previousHosts: false,
    hostSelectionRetryMaxAttempts: 1,
    baseIntervalMs: 25,
    maxIntervalMs: 250,
    ...extra,
  };
}

type Outcome = { status: number; headers?: RawHeaders } | { reset: ResetReason; detail?: string };

const OUTCOMES: Record<string, Outcome> = {
  "500": { status: 500 },
  "502": { status: 502 },
  "503": { status: 503 },
  "504": { status: 504 },
  "409": { status: 409 },
  "418": { status: 418 },
  "429 ratelimited": { status: 429, headers: ["X-Envoy-RateLimited", "true"] },
  "200 x-retry-me": { status: 200, headers: ["x-retry-me", "yes"] },
  reset: { reset: "remote reset" },
  "connection termination": { reset: "connection termination" },
  "connect failure": { reset: "connection failure" },
  "connect timeout": { reset: "connection timeout" },
  "refused stream": { reset: "remote reset", detail: REFUSED_STREAM_DETAIL },
  overflow: { reset: "overflow" },
};

/** What each condition retries (the rest of OUTCOMES it does not). */
const RETRIED: Record<string, string[]> = {
  "5xx": [
    "500",
    "502",
    "503",
    "504",
    "reset",
    "connection termination",
    "connect failure",
    "connect timeout",
    "refused stream",
  ],
  "gateway-error": [
    "502",
    "503",
    "504",
    "reset",
    "connection termination",
    "connect failure",
    "connect timeout",
    "refused stream",
  ],
  reset: ["reset", "connection termination", "connect failure", "connect timeout", "refused stream"],
  "reset-before-request": ["connect failure", "connect timeout"],
  "connect-failure": ["connect failure", "connect timeout"],
  "retriable-4xx": ["409"],
  "refused-stream": ["refused stream"],
  "retriable-status-codes": ["418"],
  "retriable-headers": ["200 x-retry-me"],
  "envoy-ratelimited": ["429 ratelimited"],
};

function wouldRetry(state: RetryState, o: Outcome): boolean {
  return "status" in o
    ? state.wouldRetryResponse(o.status, o.headers ?? [])
    : state.wouldRetryReset(o.reset, o.detail ?? "");
}

describe("retry_on conditions", () => {
  for (const [condition, retried] of Object.entries(RETRIED)) {
    it(`${condition} retries ${retried.join(", ")} and nothing else`, () => {
      const state = new RetryState(policy(condition), Math.random);
      const got = Object.keys(OUTCOMES).filter((name) => wouldRetry(state, OUTCOMES[name] as Outcome));
      expect(got).toEqual(retried);
    });
  }

  it("retriable-headers without retriable_headers retries nothing", () => {
    const state = new RetryState(policy("retriable-headers", { retriableHeaders: [] }), Math.random);
    expect(state.wouldRetryResponse(200, ["x-retry-me", "yes"])).toBe(false);
  });

  it("a per-try timeout counts as a 504", () => {
    expect(new RetryState(policy("gateway-error"), Math.random).wouldRetryTimeout()).toBe(true);
    expect(new RetryState(policy("reset"), Math.random).wouldRetryTimeout()).toBe(false);
  });

  it("num_retries bounds take(): then the limit is reached", () => {
    const state = new RetryState(policy("5xx"), Math.random);
    expect([state.take(), state.take(), state.take()]).toEqual([true, true, false]);
    expect(state.attempts).toBe(2);
    expect(state.remaining).toBe(0);
  });
});

describe("previous_hosts", () => {
  const hosts = ["a", "b", "c"].map((key) => ({ key }) as unknown as Host);
  /** A cluster whose balancer answers `picks` in turn. */
  const clusterPicking = (picks: number[]) => {
    let i = 0;
    const cluster = { chooseHost: () => hosts[picks[i++] ?? 0] ?? null } as unknown as Cluster;
    return { cluster, picked: () => i };
  };

  it("a retry picks again while the pick is a host already tried", () => {
    const { cluster, picked } = clusterPicking([0, 0, 0, 1]);
    const state = new RetryState(
      policy("5xx", { previousHosts: true, hostSelectionRetryMaxAttempts: 5 }),
      Math.random,
    );
    expect(state.chooseHost(cluster)?.key).toBe("a");
    expect(state.chooseHost(cluster)?.key).toBe("b");
    expect(picked()).toBe(4);
  });

  it("host_selection_retry_max_attempts bounds the extra picks; the last pick stands", () => {
    const { cluster, picked } = clusterPicking([0, 0, 0, 0, 1]);
    const state = new RetryState(
      policy("5xx", { previousHosts: true, hostSelectionRetryMaxAttempts: 2 }),
      Math.random,
    );
    state.chooseHost(cluster);
    expect(state.chooseHost(cluster)?.key).toBe("a");
    expect(picked()).toBe(4);
  });

  it("without the predicate the balancer's pick stands", () => {
    const { cluster, picked } = clusterPicking([0, 0]);
    const state = new RetryState(policy("5xx"), Math.random);
    state.chooseHost(cluster);
    expect(state.chooseHost(cluster)?.key).toBe("a");
    expect(picked()).toBe(2);
  });
});

describe("back-off", () => {
  const ceilings = (dialect: "v2" | "v3", base: number, max: number, n: number) => {
    const state = new RetryState(
      policy("5xx", { numRetries: n, baseIntervalMs: base, maxIntervalMs: max }),
      () => 0.999_999,
      dialect,
    );
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      state.take();
      out.push(state.backoffMs() + 1);
    }
    return out;
  };

  it("v3 (Envoy 1.40): the ceiling starts at base_interval and doubles; once past half of max_interval it is max_interval", () => {
    expect(ceilings("v3", 25, 250, 6)).toEqual([25, 50, 100, 200, 250, 250]);
    expect(ceilings("v3", 100, 1000, 5)).toEqual([100, 200, 400, 800, 1000]);
  });

  it("v2 (Envoy of 2018): the n-th retry's ceiling is (2^n - 1) x base, capped at max", () => {
    expect(ceilings("v2", 25, 250, 5)).toEqual([25, 75, 175, 250, 250]);
  });

  it("jittered from 0", () => {
    const state = new RetryState(policy("5xx"), () => 0);
    state.take();
    expect(state.backoffMs()).toBe(0);
  });
});
