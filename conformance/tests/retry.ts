/**
 * The `retry` feature group: a route's `retry_policy` as Envoy applies it. Per `retry_on` condition,
 * which upstream outcomes are retried (`num_retries` times, then the last outcome passes through),
 * counted by the response's `x-envoy-attempt-count` and the cluster's retry stats; the
 * previous_hosts predicate; the attempt count the echo sees; a retried POST's body (topology
 * `routes`). Topology `retries` (conformance/harness/topologies.ts).
 */
import { randomBytes } from "node:crypto";
import { expect } from "../harness/assert.js";
import { header, type Reply, request, sha256 } from "../harness/client.js";
import { stat, stats } from "../harness/stats.js";
import {
  HOST_SELECTION_ATTEMPTS,
  RETRIABLE_CODE,
  RETRIABLE_HEADER,
  RETRY_CONDITIONS,
  RETRY_NUM,
} from "../harness/topologies.js";
import type { ConformanceTest, Endpoint } from "../harness/types.js";

type Condition = (typeof RETRY_CONDITIONS)[number];

/** An upstream outcome the echo (or the `down` cluster) produces for one request. */
interface Outcome {
  name: string;
  /** The query that makes every try meet it; null = the `down` cluster (connection refused). */
  query: string | null;
  /** The status the client gets. */
  status: number;
  /** The echo's counting of its own answers cannot see it (a reset) or it never reaches the echo. */
  reset: boolean;
}

const OUTCOMES: readonly Outcome[] = [
  { name: "500", query: "echo_status=500", status: 500, reset: false },
  { name: "502", query: "echo_status=502", status: 502, reset: false },
  { name: "503", query: "echo_status=503", status: 503, reset: false },
  { name: "409", query: "echo_status=409", status: 409, reset: false },
  { name: `${RETRIABLE_CODE}`, query: `echo_status=${RETRIABLE_CODE}`, status: RETRIABLE_CODE, reset: false },
  {
    name: "429 x-envoy-ratelimited",
    query: "echo_status=429&echo_header=x-envoy-ratelimited:true",
    status: 429,
    reset: false,
  },
  {
    name: `200 ${RETRIABLE_HEADER}`,
    query: `echo_header=${RETRIABLE_HEADER}:yes`,
    status: 200,
    reset: false,
  },
  { name: "reset", query: "echo_reset=1", status: 503, reset: true },
  { name: "connect-failure", query: null, status: 503, reset: true },
];

/** The outcomes each condition retries, as Envoy 1.40 retries them (measured). */
const RETRIED: Record<Condition, readonly string[]> = {
  "5xx": ["500", "502", "503", "reset", "connect-failure"],
  "gateway-error": ["502", "503", "reset", "connect-failure"],
  reset: ["reset", "connect-failure"],
  "reset-before-request": ["connect-failure"],
  "connect-failure": ["connect-failure"],
  "retriable-4xx": ["409"],
  "retriable-status-codes": [`${RETRIABLE_CODE}`],
  "retriable-headers": [`200 ${RETRIABLE_HEADER}`],
  "envoy-ratelimited": ["429 x-envoy-ratelimited"],
};

async function retryStat(admin: Endpoint, cluster: string): Promise<number> {
  return (await stats(admin)).get(`cluster.${cluster}.upstream_rq_retry`) ?? 0;
}

function attempts(r: Reply): number {
  return Number(header(r, "x-envoy-attempt-count") ?? Number.NaN);
}

function conditionTest(condition: Condition): ConformanceTest {
  const retried = RETRIED[condition];
  return {
    id: `retry-on-${condition}`,
    description: `retry_on ${condition} retries ${retried.join(", ")} (${RETRY_NUM} times, then it passes through) and nothing else`,
    criterion: `for each upstream outcome (${OUTCOMES.map((o) => o.name).join(", ")}), one request through a route with retry_on ${condition} gets that outcome's status; x-envoy-attempt-count is ${RETRY_NUM + 1} for ${retried.join(", ")} and 1 for every other outcome, and the cluster's upstream_rq_retry grows by the retries made (not judged for resets, which the connection pool may resend)`,
    feature: "retries",
    topology: "retries",
    async check({ topo, measure }) {
      const admin = topo.admin();
      const failures: string[] = [];
      for (const o of OUTCOMES) {
        const cluster = o.query === null ? "down" : "solo";
        const path = o.query === null ? `/rdown/${condition}/` : `/r/${condition}/?${o.query}`;
        const before = await retryStat(admin, cluster);
        const r = await request(topo.listener(), path);
        const retries = (await retryStat(admin, cluster)) - before;
        const expected = retried.includes(o.name) ? RETRY_NUM + 1 : 1;
        measure(`${o.name}: status/attempts/upstream_rq_retry`, `${r.status}/${attempts(r)}/${retries}`);
        if (r.status !== o.status) failures.push(`${o.name}: answered ${r.status}, expected ${o.status}`);
        if (attempts(r) !== expected) {
          failures.push(
            `${o.name}: x-envoy-attempt-count ${header(r, "x-envoy-attempt-count")}, expected ${expected}`,
          );
        }
        // A reset on a reused connection may also be resent by the connection pool (counted apart).
        if (!o.reset && retries !== expected - 1) {
          failures.push(
            `${o.name}: cluster.${cluster}.upstream_rq_retry grew by ${retries}, expected ${expected - 1}`,
          );
        }
      }
      expect(failures.length === 0, failures.join("; "));
    },
  };
}

/** POST /echo (route with a retry_policy to one host) after arming the echo's next answer to fail. */
function retryPostBody(failure: "503" | "reset"): ConformanceTest {
  return {
    id: `retry-post-body-after-${failure}`,
    description: `a POST whose first attempt meets ${failure === "reset" ? "a reset" : "a 503"} is retried with its whole body`,
    criterion: `with the echo's next answer armed to ${failure === "reset" ? "reset" : "503"}, a 64 KiB POST to /echo answers 200 with the same 64 KiB (same sha256), and cluster.solo.upstream_rq_retry grows by at least 1`,
    feature: "retries",
    topology: "routes",
    async check({ topo, measure }) {
      const echo = topo.echo("service1");
      const armed = await request(echo, `/_echo/fail?count=1&status=${failure}`, { method: "POST" });
      expect(armed.status === 200, `arming the echo's failure answered ${armed.status}`);
      const before = await stat(topo.admin(), "cluster.solo.upstream_rq_retry");
      const body = randomBytes(64 * 1024);
      const r = await request(topo.listener(), "/echo", { body });
      const retries = (await stat(topo.admin(), "cluster.solo.upstream_rq_retry")) - before;
      const left = await request(echo, "/_echo/fail");
      measure("status", r.status);
      measure("bytesBack", r.body.length);
      measure("cluster.solo.upstream_rq_retry", retries);
      measure("echoFailLeft", left.body.toString("utf8").trim());
      expect(retries >= 1, "cluster.solo.upstream_rq_retry did not grow: the first attempt was not retried");
      expect(
        r.status === 200,
        `the retried POST answered ${r.status}: ${r.body.subarray(0, 120).toString()}`,
      );
      expect(r.body.length === body.length, `sent ${body.length} bytes; the retry echoed ${r.body.length}`);
      expect(sha256(r.body) === sha256(body), "the retried body came back with a different sha256");
    },
  };
}

interface EchoJson {
  headers?: Record<string, string[]>;
}

export const retryTests: ConformanceTest[] = [
  ...RETRY_CONDITIONS.map(conditionTest),
  {
    id: "retry-limit-then-success",
    description: `num_retries ${RETRY_NUM}: ${RETRY_NUM + 1} failures pass the last one through (upstream_rq_retry_limit_exceeded); ${RETRY_NUM} failures end in the echo's 200 (upstream_rq_retry_success)`,
    criterion: `with ${RETRY_NUM + 2} 503s armed on the echo, the client gets service1's 503 after ${RETRY_NUM + 1} attempts (upstream_rq_retry +${RETRY_NUM}, upstream_rq_retry_limit_exceeded +1); with ${RETRY_NUM} armed it gets service1's 200 after ${RETRY_NUM + 1} attempts (upstream_rq_retry_success +1); the echo saw exactly that many tries`,
    feature: "retries",
    topology: "retries",
    async check({ topo, measure }) {
      const admin = topo.admin();
      const echo = topo.echo("service1");
      const names = ["upstream_rq_retry_limit_exceeded", "upstream_rq_retry_success", "upstream_rq_retry"];
      const read = async () => {
        const s = await stats(admin);
        return names.map((n) => s.get(`cluster.solo.${n}`) ?? 0);
      };
      const failures: string[] = [];
      for (const [fails, status, limitGrowth, successGrowth] of [
        [RETRY_NUM + 2, 503, 1, 0],
        [RETRY_NUM, 200, 0, 1],
      ] as const) {
        const armed = await request(echo, `/_echo/fail?count=${fails}&status=503`, { method: "POST" });
        expect(armed.status === 200, `arming the echo's failures answered ${armed.status}`);
        const before = await read();
        const r = await request(topo.listener(), "/r/5xx/");
        const after = await read();
        const [limit = 0, success = 0, retries = 0] = after.map((v, i) => v - (before[i] ?? 0));
        const left = JSON.parse((await request(echo, "/_echo/fail")).body.toString("utf8")) as {
          remaining: number;
        };
        await request(echo, "/_echo/fail?count=0", { method: "POST" });
        measure(`${fails} failures armed`, {
          status: r.status,
          attempts: attempts(r),
          upstream_rq_retry: retries,
          upstream_rq_retry_limit_exceeded: limit,
          upstream_rq_retry_success: success,
          echoFailuresLeft: left.remaining,
        });
        const what = `with ${fails} failures armed`;
        if (r.status !== status || header(r, "x-echo-instance") !== "service1") {
          failures.push(`${what}: answered ${r.status} from ${header(r, "x-echo-instance") ?? "the proxy"}`);
        }
        if (attempts(r) !== RETRY_NUM + 1) failures.push(`${what}: ${attempts(r)} attempts`);
        if (left.remaining !== Math.max(0, fails - (RETRY_NUM + 1))) {
          failures.push(
            `${what}: the echo has ${left.remaining} failures left (it saw the wrong number of tries)`,
          );
        }
        if (retries !== RETRY_NUM) failures.push(`${what}: upstream_rq_retry grew by ${retries}`);
        if (limit !== limitGrowth)
          failures.push(`${what}: upstream_rq_retry_limit_exceeded grew by ${limit}`);
        if (success !== successGrowth) failures.push(`${what}: upstream_rq_retry_success grew by ${success}`);
      }
      expect(failures.length === 0, failures.join("; "));
    },
  },
  {
    id: "retry-attempt-count-header",
    description:
      "include_request_attempt_count: each try carries x-envoy-attempt-count 1, 2, 3 upstream; include_attempt_count_in_response: the response carries the last",
    criterion: `after ${RETRY_NUM} armed 503s, the echo sees x-envoy-attempt-count ${RETRY_NUM + 1} once on the try that succeeds (the client's own 7 replaced) and the response carries ${RETRY_NUM + 1}; a request answered at once carries 1 both ways`,
    feature: "retries",
    topology: "retries",
    async check({ topo, measure }) {
      const echo = topo.echo("service1");
      const armed = await request(echo, `/_echo/fail?count=${RETRY_NUM}&status=503`, { method: "POST" });
      expect(armed.status === 200, `arming the echo's failures answered ${armed.status}`);
      // The client's own value is replaced by the router's.
      const ep = topo.listener();
      const r = await request(ep, "/r/5xx/?format=json", {
        headers: ["Host", `${ep.host}:${ep.port}`, "x-envoy-attempt-count", "7"],
      });
      await request(echo, "/_echo/fail?count=0", { method: "POST" });
      expect(r.status === 200, `answered ${r.status} after ${RETRY_NUM} failures`);
      const json = JSON.parse(r.body.toString("utf8")) as EchoJson;
      const seen = Object.entries(json.headers ?? {})
        .filter(([k]) => k.toLowerCase() === "x-envoy-attempt-count")
        .flatMap(([, v]) => v);
      measure("echo saw", seen);
      measure("response", header(r, "x-envoy-attempt-count"));
      const last = String(RETRY_NUM + 1);
      expect(
        seen.length === 1 && seen[0] === last,
        `the successful try carried x-envoy-attempt-count ${JSON.stringify(seen)}, expected ["${last}"]`,
      );
      expect(
        header(r, "x-envoy-attempt-count") === last,
        `the response carries x-envoy-attempt-count ${header(r, "x-envoy-attempt-count")}, expected ${last}`,
      );
      const plain = await request(topo.listener(), "/r/5xx/?format=json");
      const first = JSON.parse(plain.body.toString("utf8")) as EchoJson;
      const firstSeen = Object.entries(first.headers ?? {})
        .filter(([k]) => k.toLowerCase() === "x-envoy-attempt-count")
        .flatMap(([, v]) => v);
      measure("first try saw", firstSeen);
      expect(
        firstSeen.length === 1 && firstSeen[0] === "1" && header(plain, "x-envoy-attempt-count") === "1",
        `a request answered at once carried ${JSON.stringify(firstSeen)} upstream and ${header(plain, "x-envoy-attempt-count")} back, expected 1 and 1`,
      );
    },
  },
  {
    id: "retry-previous-hosts",
    description: `retry_host_predicate previous_hosts (host_selection_retry_max_attempts ${HOST_SELECTION_ATTEMPTS}, lb random): a retry after service1's 503 goes to service2, every time`,
    criterion:
      "with service1 answering 503 to everything, 20 sequential requests all end in service2's 200, and cluster.pair.upstream_rq_retry grows (some request went to service1 first)",
    feature: "retries",
    topology: "retries",
    async check({ topo, measure }) {
      const echo = topo.echo("service1");
      const total = 20;
      const armed = await request(echo, `/_echo/fail?count=${total * 2}&status=503`, { method: "POST" });
      expect(armed.status === 200, `arming service1's failures answered ${armed.status}`);
      const before = await retryStat(topo.admin(), "pair");
      const answers: string[] = [];
      try {
        for (let i = 0; i < total; i++) {
          const r = await request(topo.listener(), "/prev");
          answers.push(`${r.status} ${header(r, "x-echo-instance") ?? "proxy"} ${attempts(r)}`);
        }
      } finally {
        await request(echo, "/_echo/fail?count=0", { method: "POST" });
      }
      const retries = (await retryStat(topo.admin(), "pair")) - before;
      const ok = answers.filter((a) => a.startsWith("200 service2")).length;
      measure("requests", total);
      measure("200 from service2", ok);
      measure("retried (cluster.pair.upstream_rq_retry)", retries);
      expect(ok === total, `every request should end at service2 with 200; got ${answers.join(", ")}`);
      expect(retries > 0, "no request was retried: the random balancer never picked service1 first");
    },
  },
  retryPostBody("503"),
  retryPostBody("reset"),
];
