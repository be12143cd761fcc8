/**
 * The `reload` feature group: config changes through file-based LDS/CDS (`dynamic_resources` with a
 * file path, rewritten by an atomic rename, as Envoy expects) under continuous load, without a
 * failed request; an invalid file is rejected and the old config keeps serving.
 */
import { sleep, waitUntil } from "../../lib/wait.js";
import { expect } from "../harness/assert.js";
import { counts, instanceOf, pool, request } from "../harness/client.js";
import { stat } from "../harness/stats.js";
import { WAITS } from "../harness/timeouts.js";
import { RELOAD_FILES, RELOAD_INITIAL, reloadCds, reloadLds } from "../harness/topologies.js";
import type {
  CheckContext,
  ConformanceTest,
  DiscoveryDoc,
  Endpoint,
  RunningTopology,
} from "../harness/types.js";

/** One request of a paced load: when it started (ms since the load began) and who answered. */
interface Sample {
  startMs: number;
  /** The echo instance, `status:<code>` for a proxy's answer, or `error:<message>`. */
  answer: string;
}

/**
 * `rate` requests per second for `durationMs` (bounded: rate x duration requests in all), each
 * started on schedule whatever the others do; over a keep-alive pool, or with `fresh` each on its
 * own connection. Resolves with every request's outcome once all are done.
 */
async function pacedLoad(
  ep: Endpoint,
  path: string,
  { rate, durationMs, fresh = false }: { rate: number; durationMs: number; fresh?: boolean },
): Promise<{ t0: number; samples: Sample[] }> {
  const agent = fresh ? undefined : pool(32);
  const total = Math.round((rate * durationMs) / 1000);
  const t0 = Date.now();
  const pending: Promise<Sample>[] = [];
  try {
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / rate;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      const startMs = Date.now() - t0;
      pending.push(
        request(ep, path, { agent, timeoutMs: WAITS.request }).then(
          (r) => ({ startMs, answer: r.status === 200 ? instanceOf(r) : `status:${r.status}` }),
          (err: Error) => ({ startMs, answer: `error:${err.message}` }),
        ),
      );
    }
    return { t0, samples: await Promise.all(pending) };
  } finally {
    agent?.destroy();
  }
}

const failed = (s: Sample) => s.answer.startsWith("error:") || s.answer.startsWith("status:");

/**
 * When, after `changeMs`, traffic took its new shape: the start (ms after the change) of the first
 * window of `window` consecutive requests that `settled` accepts. -1 if none did.
 */
function settledAfter(
  samples: Sample[],
  changeMs: number,
  window: number,
  settled: (answers: string[]) => boolean,
): number {
  const after = samples.filter((s) => s.startMs >= changeMs).sort((a, b) => a.startMs - b.startMs);
  for (let i = 0; i + window <= after.length; i++) {
    if (settled(after.slice(i, i + window).map((s) => s.answer))) return (after[i]?.startMs ?? 0) - changeMs;
  }
  return -1;
}

/** Rewrite one file and wait until the proxy counted it in `counter` (`update_success`, `_rejected`). */
async function update(topo: RunningTopology, doc: DiscoveryDoc, counter: string): Promise<number> {
  const admin = topo.admin();
  const before = await stat(admin, counter);
  const name = doc.kind === "listener" ? RELOAD_FILES.lds : RELOAD_FILES.cds;
  const written = Date.now();
  await topo.writeProxyFile(name, doc);
  await waitUntil(
    `${counter} moves after ${name} version ${doc.versionInfo}`,
    async () => (await stat(admin, counter)) > before,
    {
      withinMs: WAITS.fileUpdate,
      intervalMs: 50,
    },
  );
  return Date.now() - written;
}

const CDS_SUCCESS = "cluster_manager.cds.update_success";
const CDS_REJECTED = "cluster_manager.cds.update_rejected";
const LDS_SUCCESS = "listener_manager.lds.update_success";

/** Every test starts from the topology's files: `myservice` over service1/service2, `/` only. */
async function reset(topo: RunningTopology, version: string): Promise<void> {
  await update(topo, reloadCds(`${version}-reset`, RELOAD_INITIAL), CDS_SUCCESS);
  await update(topo, reloadLds(`${version}-reset`), LDS_SUCCESS);
}

const RATE = 200;
const LOAD_MS = 8_000;
const CHANGE_AT_MS = 3_000;
/** The bound: the new instance gets its share within 2 s of the update. */
const SHARE_WITHIN_MS = 2_000;

async function cdsSwapUnderLoad({ topo, measure }: CheckContext): Promise<void> {
  await reset(topo, "swap");
  const load = pacedLoad(topo.listener(), "/", { rate: RATE, durationMs: LOAD_MS });
  await sleep(CHANGE_AT_MS);
  const changeAt = Date.now();
  const appliedMs = await update(
    topo,
    reloadCds("swap", { myservice: ["service2", "service3"] }),
    CDS_SUCCESS,
  );
  const { t0, samples } = await load;
  const changeMs = changeAt - t0;
  const failures = samples.filter(failed);
  // Its share: in 40 consecutive requests, service1 gone and service3 at least 15 (expected 20).
  const shareMs = settledAfter(samples, changeMs, 40, (a) => {
    const c = counts(a);
    return (c.service1 ?? 0) === 0 && (c.service3 ?? 0) >= 15;
  });
  measure("requests", samples.length);
  measure("failed", failures.length);
  measure("updateCountedMs", appliedMs);
  measure("newInstanceShareMs", shareMs);
  measure("before", counts(samples.filter((s) => s.startMs < changeMs).map((s) => s.answer)));
  measure(
    "after",
    counts(samples.filter((s) => s.startMs >= changeMs + SHARE_WITHIN_MS).map((s) => s.answer)),
  );
  expect(
    failures.length === 0,
    `${failures.length} of ${samples.length} requests failed: ${[...new Set(failures.map((f) => f.answer))].slice(0, 3).join("; ")}`,
  );
  expect(
    shareMs >= 0 && shareMs <= SHARE_WITHIN_MS,
    `service3 did not get its share within ${SHARE_WITHIN_MS} ms of the CDS update (settled: ${shareMs} ms)`,
  );
}

async function invalidRejected({ topo, measure }: CheckContext): Promise<void> {
  await reset(topo, "invalid");
  const admin = topo.admin();
  const successBefore = await stat(admin, CDS_SUCCESS);
  const load = pacedLoad(topo.listener(), "/", { rate: RATE / 2, durationMs: 4_000 });
  await sleep(1_000);
  // A negative duration: Envoy rejects it (`Invalid duration`), as does our validation.
  const rejectedMs = await update(
    topo,
    reloadCds("invalid", { myservice: ["service3"] }, { connect_timeout: "-1s" }),
    CDS_REJECTED,
  );
  const { samples } = await load;
  const failures = samples.filter(failed);
  const c = counts(samples.map((s) => s.answer));
  measure("requests", samples.length);
  measure("failed", failures.length);
  measure("rejectedCountedMs", rejectedMs);
  measure("answers", c);
  expect(failures.length === 0, `${failures.length} of ${samples.length} requests failed`);
  expect((c.service3 ?? 0) === 0, `the rejected file's instance service3 answered ${c.service3} requests`);
  expect(
    (c.service1 ?? 0) > 0 && (c.service2 ?? 0) > 0,
    `the old cluster (service1, service2) did not keep serving: ${JSON.stringify(c)}`,
  );
  const successAfter = await stat(admin, CDS_SUCCESS);
  measure("updateSuccessDelta", successAfter - successBefore);
  expect(
    successAfter === successBefore,
    `update_success moved by ${successAfter - successBefore} for a rejected file`,
  );
}

const pinnedRoute = (cluster: string) => ({
  match: { prefix: "/pinned" },
  route: { cluster, prefix_rewrite: "/" },
});

async function ldsRouteUnderLoad({ topo, measure }: CheckContext): Promise<void> {
  await reset(topo, "route");
  // A second cluster over service3 only, for the new route to name; `/pinned` (rewritten to `/`,
  // which the echo answers) goes to `myservice` until the LDS update sends it to `pinned`.
  await update(topo, reloadCds("route-cds", { ...RELOAD_INITIAL, pinned: ["service3"] }), CDS_SUCCESS);
  await update(topo, reloadLds("route-before", [pinnedRoute("myservice")]), LDS_SUCCESS);
  // Each request on a new connection: a connection keeps the filter chain it was accepted with.
  const load = pacedLoad(topo.listener(), "/pinned", { rate: 50, durationMs: 6_000, fresh: true });
  await sleep(2_000);
  const changeAt = Date.now();
  const appliedMs = await update(topo, reloadLds("route", [pinnedRoute("pinned")]), LDS_SUCCESS);
  const { t0, samples } = await load;
  const changeMs = changeAt - t0;
  const failures = samples.filter(failed);
  const routedMs = settledAfter(samples, changeMs, 20, (a) => a.every((x) => x === "service3"));
  measure("requests", samples.length);
  measure("failed", failures.length);
  measure("updateCountedMs", appliedMs);
  measure("newRouteMs", routedMs);
  measure("before", counts(samples.filter((s) => s.startMs < changeMs).map((s) => s.answer)));
  expect(failures.length === 0, `${failures.length} of ${samples.length} requests failed`);
  expect(routedMs >= 0, "requests after the LDS update never all took the new /pinned route");
  const last = samples.filter((s) => s.startMs >= LOAD_MS_ROUTE_TAIL);
  expect(
    last.every((s) => s.answer === "service3"),
    `the last second was not all service3: ${JSON.stringify(counts(last.map((s) => s.answer)))}`,
  );
}

/** The last second of the route test's 6 s load. */
const LOAD_MS_ROUTE_TAIL = 5_000;

export const reloadTests: ConformanceTest[] = [
  {
    id: "reload-cds-swap-under-load",
    description: `${RATE} req/s over a CDS file update that adds service3 and removes service1: 0 failed requests, service3 gets its share within ${SHARE_WITHIN_MS / 1000} s`,
    criterion: `${RATE} req/s for ${LOAD_MS / 1000} s over a keep-alive pool, the CDS file replaced at ${CHANGE_AT_MS / 1000} s by one with myservice = service2, service3: every request answers 200 (no error, no proxy status), and within ${SHARE_WITHIN_MS / 1000} s of the update some 40 consecutive requests have no service1 and at least 15 from service3`,
    feature: "reload",
    topology: "reload",
    timeoutMs: 90_000,
    check: cdsSwapUnderLoad,
  },
  {
    id: "reload-cds-invalid-rejected",
    description:
      "a CDS file with an invalid cluster is rejected (update_rejected grows, update_success does not) and the old cluster keeps serving without a failed request",
    criterion: `${RATE / 2} req/s for 4 s while a CDS file with connect_timeout -1s is written: update_rejected grows, update_success does not, every request answers 200, service3 (only in the rejected file) answers none and service1 and service2 keep answering`,
    feature: "reload",
    topology: "reload",
    timeoutMs: 90_000,
    check: invalidRejected,
  },
  {
    id: "reload-lds-route-under-load",
    description:
      "an LDS file update adds a route to a CDS cluster under load: new connections take it, no request fails",
    criterion:
      "50 req/s for 6 s, each on a new connection, to /pinned while an LDS file update sends /pinned from myservice to a cluster of service3 only: every request answers 200, after the update some 20 consecutive requests all come from service3, and every request of the last second does",
    feature: "reload",
    topology: "reload",
    timeoutMs: 90_000,
    check: ldsRouteUnderLoad,
  },
];
