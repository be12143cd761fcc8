/**
 * The router tells outlier detection each try's outcome, through an in-process proxy: response
 * heads (retried tries included), refused connections, per-try timeouts; a circuit breaker's
 * overflow says nothing of the host. The detector's own rules: ./outlier_detection.test.ts.
 */
import { describe, expect, it } from "vitest";
import { request } from "../../../test-support/http.js";
import { useProxies } from "../http/helpers.js";

const { proxy: proxyFor, upstream: up } = useProxies();

const CATCH_ALL = (policy = "") => `- match: { prefix: "/" }
  route: { cluster: backend${policy} }`;

/** One host: max_ejection_percent 100 lets it be ejected; a long base_ejection_time keeps it out. */
const OUTLIER = (extra = "") =>
  `outlier_detection: { consecutive_5xx: 3, consecutive_gateway_failure: 3, enforcing_consecutive_gateway_failure: 100, max_ejection_percent: 100, base_ejection_time: 60s${extra} }`;

const STAT = "cluster.backend.outlier_detection.";

describe("the router reports each try to outlier detection", () => {
  it("3 upstream 500s in a row eject the host; a 200 between them starts the run again", async () => {
    let n = 0;
    const u = await up((_req, res) => {
      n++;
      res.writeHead(n === 3 ? 200 : 500).end();
    });
    const p = await proxyFor(CATCH_ALL(), { backend: u.port }, { clusterExtra: { backend: OUTLIER() } });
    // 500, 500, 200, 500, 500: never 3 in a row.
    for (let i = 0; i < 5; i++) await request(p.port, "/");
    expect(p.stat(`${STAT}ejections_detected_consecutive_5xx`)).toBe(0);
    await request(p.port, "/");
    expect(p.stat(`${STAT}ejections_enforced_consecutive_5xx`)).toBe(1);
    expect(p.stat(`${STAT}ejections_active`)).toBe(1);
    expect(p.stat("cluster.backend.membership_healthy")).toBe(0);
  });

  it("retried tries count: one request whose 3 tries get 503 ejects the host", async () => {
    const u = await up((_req, res) => res.writeHead(503).end());
    const p = await proxyFor(
      CATCH_ALL(", retry_policy: { retry_on: 5xx, num_retries: 2 }"),
      { backend: u.port },
      { clusterExtra: { backend: OUTLIER() } },
    );
    const r = await request(p.port, "/");
    expect(r.status).toBe(503);
    expect(p.stat(`${STAT}ejections_detected_consecutive_gateway_failure`)).toBe(1);
    expect(p.stat(`${STAT}ejections_enforced_consecutive_gateway_failure`)).toBe(1);
  });

  it("refused connections count as 503s (no split_external_local_origin_errors)", async () => {
    const p = await proxyFor(CATCH_ALL(), { backend: 1 }, { clusterExtra: { backend: OUTLIER() } });
    for (let i = 0; i < 3; i++) expect((await request(p.port, "/")).status).toBe(503);
    expect(p.stat(`${STAT}ejections_enforced_consecutive_gateway_failure`)).toBe(1);
  });

  it("with split_external_local_origin_errors they count as local-origin failures only", async () => {
    const p = await proxyFor(
      CATCH_ALL(),
      { backend: 1 },
      {
        clusterExtra: {
          backend: OUTLIER(", split_external_local_origin_errors: true, consecutive_local_origin_failure: 3"),
        },
      },
    );
    for (let i = 0; i < 3; i++) await request(p.port, "/");
    expect(p.stat(`${STAT}ejections_enforced_consecutive_local_origin_failure`)).toBe(1);
    expect(p.stat(`${STAT}ejections_detected_consecutive_gateway_failure`)).toBe(0);
  });

  it("a per-try timeout counts as a 504", async () => {
    const u = await up(() => {
      // Never answers: the per-try timeout ends each try.
    });
    const p = await proxyFor(
      CATCH_ALL(", retry_policy: { retry_on: 5xx, num_retries: 2, per_try_timeout: 0.05s }"),
      { backend: u.port },
      { clusterExtra: { backend: OUTLIER() } },
    );
    expect((await request(p.port, "/")).status).toBe(504);
    expect(p.stat(`${STAT}ejections_enforced_consecutive_gateway_failure`)).toBe(1);
  });
});
