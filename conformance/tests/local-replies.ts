/** Local replies: answers the proxy makes itself, never an echo's, with Envoy's status and body. */

import { sleep } from "../../lib/wait.js";
import { expect } from "../harness/assert.js";
import { header, request } from "../harness/client.js";
import { WAITS } from "../harness/timeouts.js";
import type { ConformanceTest, Endpoint, RunningTopology } from "../harness/types.js";

/**
 * Requests the echos finished answering (`echo_requests_total`, its own `/metrics` scrapes left out).
 * The echo counts a request when its answer is complete or it reset it; one whose client (the
 * proxy) reset it first is never counted.
 */
async function answered(topo: RunningTopology): Promise<number> {
  let sum = 0;
  for (const e of topo.runningEchos()) sum += await answeredBy(topo.echo(e));
  return sum;
}

async function answeredBy(ep: Endpoint): Promise<number> {
  const r = await request(ep, "/metrics");
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
  let sum = 0;
  for (const line of r.body.toString("utf8").split("\n")) {
    if (line.startsWith("echo_requests_total{") && !line.includes('route="/metrics"'))
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

const base = { feature: "local-replies" as const, topology: "local-replies" };

/** How Envoy's body for an upstream connect failure or reset before headers begins, in every version. */
const CONNECT_FAILURE = "upstream connect error or disconnect/reset before headers";

export const localReplyTests: ConformanceTest[] = [
  {
    ...base,
    id: "local-reply-no-route-404",
    description: "a path no route matches gets 404 from the proxy",
    criterion:
      "a routed path reaches an echo; a path no route matches answers 404 with no x-echo-instance (the " +
      "proxy, not an echo) and an empty body, as Envoy's",
    async check({ topo, measure }) {
      // A routed path reaches an echo (which answers 404 itself for a path it does not serve).
      const ok = await request(topo.listener(), "/app");
      expect(
        header(ok, "x-echo-instance") !== undefined,
        `routed /app: the proxy answered ${ok.status} itself`,
      );
      const r = await request(topo.listener(), "/nothing/here");
      measure("status", r.status);
      measure("body", r.body.toString("utf8").slice(0, 120));
      expect(r.status === 404, `no-route path answered ${r.status}`);
      expect(header(r, "x-echo-instance") === undefined, "the 404 came from an echo, not the proxy");
      // Envoy's no-route reply has no body (content-length: 0).
      expect(r.body.length === 0, `the 404 has a ${r.body.length}-byte body; Envoy's has none`);
    },
  },
  {
    ...base,
    id: "local-reply-all-down-503",
    description: "a route whose every backend refuses connections gets 503 from the proxy",
    criterion: `a GET of a route whose every backend refuses connections answers 503 from the proxy (no x-echo-instance) with a body starting "${CONNECT_FAILURE}", as Envoy's`,
    async check({ topo, measure }) {
      const r = await request(topo.listener(), "/down");
      measure("status", r.status);
      measure("body", r.body.toString("utf8").slice(0, 160));
      expect(r.status === 503, `every-backend-down answered ${r.status}`);
      expect(header(r, "x-echo-instance") === undefined, "the 503 came from an echo, not the proxy");
      // Envoy's wording of a reset before the response started (a reset reason follows since 1.10).
      expect(
        r.body.toString("utf8").startsWith(CONNECT_FAILURE),
        `the 503 body does not start with Envoy's "${CONNECT_FAILURE}"`,
      );
    },
  },
  {
    ...base,
    id: "local-reply-timeout-504",
    description: "a backend slower than the route's 1 s timeout gets 504 after about 1 s",
    criterion:
      "a GET the echo delays 4 s, on a route with a 1 s timeout, answers 504 after 0.9 to 3.5 s with " +
      'the body "upstream request timeout" (Envoy\'s); a GET delayed 100 ms is answered by an echo',
    async check({ topo, measure }) {
      const started = Date.now();
      const r = await request(topo.listener(), "/slow?echo_delay=4s");
      const ms = Date.now() - started;
      measure("status", r.status);
      measure("ms", ms);
      measure("body", r.body.toString("utf8").slice(0, 120));
      expect(r.status === 504, `slow backend answered ${r.status} after ${ms} ms`);
      expect(ms >= 900 && ms < 3_500, `504 came after ${ms} ms; the route timeout is 1 s`);
      expect(
        r.body.toString("utf8") === "upstream request timeout",
        `the 504 body is not Envoy's "upstream request timeout"`,
      );
      const fast = await request(topo.listener(), "/slow?echo_delay=100ms");
      expect(
        fast.status !== 504 && header(fast, "x-echo-instance") !== undefined,
        `a backend within the timeout: the proxy answered ${fast.status}`,
      );
    },
  },
  {
    ...base,
    id: "local-reply-timeout-resets-upstream",
    description:
      "after the route timeout's 504 the upstream request is reset: the echo never finishes answering it",
    criterion:
      "a GET delayed 10 ms moves the echos' answered count (echo_requests_total) by exactly 1; a GET " +
      `delayed 2 s answers 504, and ${(2_000 + WAITS.pastEchoDelay) / 1000} s after it was sent (past the echo's delay) the count has not moved`,
    async check({ topo, measure }) {
      // A request within the timeout is counted: the count can move.
      const first = await answered(topo);
      const ok = await request(topo.listener(), "/slow?echo_delay=10ms");
      const second = await answered(topo);
      expect(
        ok.status !== 504 && second === first + 1,
        `a finished request moved the count ${first} -> ${second}`,
      );
      const started = Date.now();
      const r = await request(topo.listener(), "/slow?echo_delay=2s");
      expect(r.status === 504, `slow backend answered ${r.status}`);
      // Past the echo's 2 s delay: a request left running has been answered and counted by now.
      await sleep(Math.max(0, 2_000 + WAITS.pastEchoDelay - (Date.now() - started)));
      const after = await answered(topo);
      measure("answeredBefore", second);
      measure("answeredAfter", after);
      expect(
        after === second,
        `the echo finished ${after - second} request(s) the proxy had timed out: not reset`,
      );
    },
  },
];
