/**
 * `--mode validate` as Envoy 1.40's. Every config of the corpus (proxy/test/fixtures/validate/, the v3
 * fixtures, the seed's v2 files and proxy/profiles/edge.yaml) goes through `envoy --mode validate` and `echomesh-proxy --mode
 * validate`; both must reach the verdict recorded here (accepts: exit 0, rejects: exit 1), except
 * where docs/ENVOY-DIFFERENCES.md lists the difference and why (`differs`). Without an Envoy the
 * Envoy half is skipped with findEnvoy's reason; ours is still held to the recorded verdicts.
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { beforeAll, describe, expect, it } from "vitest";
import { findEnvoy } from "../../../lib/envoy.js";
import { fromRoot, PROXY_MAIN } from "../../../test-support/paths.js";
import { type Result, runToEnd } from "../../../test-support/process.js";

type Verdict = "accepts" | "rejects";

interface Case {
  /** Envoy 1.40's verdict, recorded from running it (re-checked below whenever an Envoy is found). */
  envoy: Verdict;
  /**
   * What echomesh-proxy prints on stderr: substrings of its errors (rejects) or warnings (accepts).
   * An accepted config without `ours` must load without a single warning.
   */
  ours?: string[];
  /** Ours reaches the other verdict: the `### ` title of the docs/ENVOY-DIFFERENCES.md entry saying why. */
  differs?: string;
}

const HCM = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config";
const ROUTE = `${HCM}.route_config.virtual_hosts[0].routes[0]`;
const V2_IN_V3 = "v2 syntax in a v3 file (Envoy 1.40 rejects it)";
const NOT_IMPLEMENTED = "Fields Envoy applies that echomesh-proxy does not";

/** Paths relative to proxy/test/fixtures/ (the seed's, `seeds/...`, to the repository root). */
const CORPUS: Record<string, Case> = {
  // Valid, applied.
  "validate/ok.yaml": { envoy: "accepts" },
  "validate/no-admin.yaml": { envoy: "accepts" },
  "validate/admin-no-address.yaml": { envoy: "accepts" },
  "validate/empty.yaml": { envoy: "accepts" },
  "validate/no-listener-name.yaml": { envoy: "accepts" },
  "validate/lowercase-enums.yaml": { envoy: "accepts" },
  "validate/string-ports.yaml": { envoy: "accepts" },
  "validate/camelcase-fields.yaml": { envoy: "accepts" },
  "validate/protobuf-json-names.json": { envoy: "accepts" },
  "validate/hcm-any-name.yaml": { envoy: "accepts" },
  "validate/router-v2-name.yaml": { envoy: "accepts" },
  "validate/strict-dns.yaml": { envoy: "accepts" },
  "validate/route-matching.yaml": { envoy: "accepts" },
  "validate/route-weighted.yaml": { envoy: "accepts" },
  "validate/route-retry-timeouts.yaml": { envoy: "accepts" },
  "validate/retry-on-retriable-4xx.yaml": { envoy: "accepts" },
  "validate/route-retry-policy-full.yaml": { envoy: "accepts" },
  "validate/route-host-rewrite.yaml": { envoy: "accepts" },
  "validate/route-upgrade-websocket.yaml": { envoy: "accepts" },
  "validate/hcm-upgrade-websocket.yaml": { envoy: "accepts" },
  "validate/hcm-options.yaml": { envoy: "accepts" },
  "validate/hcm-h2-windows.yaml": { envoy: "accepts" },
  "validate/hcm-envoy-defaults-spelled-out.yaml": { envoy: "accepts" },
  "validate/access-log-stdout.yaml": { envoy: "accepts" },
  "validate/cluster-h2-upstream.yaml": { envoy: "accepts" },
  "validate/duplicate-vhost-name.yaml": { envoy: "accepts" },
  "v3/front-proxy.yaml": { envoy: "accepts" },
  "v3/front-proxy.json": { envoy: "accepts" },
  "v3/sidecar.yaml": { envoy: "accepts" },
  "v3/features.yaml": { envoy: "accepts" },
  "../../profiles/edge.yaml": { envoy: "accepts" },
  "validate/cluster-circuit-breakers.yaml": { envoy: "accepts" },
  "validate/cluster-outlier-detection.yaml": { envoy: "accepts" },
  "validate/bootstrap-overload-manager.yaml": { envoy: "accepts" },
  "validate/cluster-dns-resolvers.yaml": { envoy: "accepts" },

  // Valid, accepted with a warning naming what is not applied (or deprecated, as Envoy warns).
  "validate/route-retry-unapplied.yaml": {
    envoy: "accepts",
    ours: [
      `${ROUTE}.route.retry_policy.retry_priority: ignored`,
      `${ROUTE}.route.retry_policy.rate_limited_retry_back_off: ignored`,
    ],
  },
  "validate/cluster-health-checks.yaml": { envoy: "accepts" },
  "validate/bootstrap-layered-runtime.yaml": {
    envoy: "accepts",
    ours: ["layered_runtime: ignored (has no effect in echomesh-proxy)"],
  },
  "validate/cluster-h2-deprecated-field.yaml": {
    envoy: "accepts",
    ours: ["static_resources.clusters[0].http2_protocol_options: deprecated in v3"],
  },
  "validate/cluster-dns-resolvers-deprecated.yaml": {
    envoy: "accepts",
    ours: [
      "static_resources.clusters[0].dns_resolvers: deprecated in v3 (Envoy 1.40 warns; use typed_dns_resolver_config)",
    ],
  },
  "validate/admin-access-log-path.yaml": {
    envoy: "accepts",
    ours: ["admin.access_log_path: deprecated in v3 (Envoy 1.40 warns; use access_log)"],
  },
  "validate/weighted-total-weight.yaml": {
    envoy: "accepts",
    ours: [`${ROUTE}.route.weighted_clusters.total_weight: deprecated and ignored`],
  },
  "validate/retry-on-unknown.yaml": {
    envoy: "accepts",
    ours: [`${ROUTE}.route.retry_policy.retry_on: ignored unknown value "bogus"`],
  },
  "validate/listener-on-admin-port.yaml": {
    envoy: "accepts",
    ours: ["port 9901 is also the admin listener's: serving will fail to bind it"],
  },
  "validate/duplicate-listener-name.yaml": {
    envoy: "accepts",
    ours: [
      'static_resources.listeners[1].name: ignored: listener name "listener_0" is taken by listeners[0]',
    ],
  },

  // Valid for Envoy, not implemented here: an error naming the field.
  "validate/route-headers-to-add.yaml": {
    envoy: "accepts",
    differs: NOT_IMPLEMENTED,
    ours: [`${ROUTE}.request_headers_to_add: unsupported field`],
  },
  "validate/hcm-normalize-path.yaml": {
    envoy: "accepts",
    differs: NOT_IMPLEMENTED,
    ours: [`${HCM}.normalize_path: unsupported value true`, `${HCM}.merge_slashes: unsupported value true`],
  },
  "validate/hcm-server-header-pass.yaml": {
    envoy: "accepts",
    differs: NOT_IMPLEMENTED,
    ours: [`${HCM}.server_header_transformation: unsupported value "PASS_THROUGH"`],
  },
  "validate/hcm-headers-underscores.yaml": {
    envoy: "accepts",
    differs: NOT_IMPLEMENTED,
    ours: [
      `${HCM}.common_http_protocol_options.headers_with_underscores_action: unsupported value "REJECT_REQUEST"`,
    ],
  },
  "validate/hcm-xff-extras.yaml": {
    envoy: "accepts",
    differs: NOT_IMPLEMENTED,
    ours: [`${HCM}.preserve_external_request_id: unsupported field`, `${HCM}.via: unsupported field`],
  },
  "validate/hcm-local-reply.yaml": {
    envoy: "accepts",
    differs: NOT_IMPLEMENTED,
    ours: [`${HCM}.local_reply_config: unsupported field`],
  },
  "validate/route-retry-host-predicate-canary.yaml": {
    envoy: "accepts",
    differs: NOT_IMPLEMENTED,
    ours: [
      `${ROUTE}.route.retry_policy.retry_host_predicate[0].typed_config.@type: unsupported retry host predicate type`,
    ],
  },
  "validate/http-filter-cors.yaml": {
    envoy: "accepts",
    differs: NOT_IMPLEMENTED,
    ours: [`${HCM}.http_filters[0].typed_config.@type: unsupported HTTP filter type`],
  },
  "validate/access-log-json.yaml": {
    envoy: "accepts",
    differs: NOT_IMPLEMENTED,
    ours: [`${HCM}.access_log[0].typed_config.log_format.json_format: unsupported field`],
  },
  "validate/hcm-no-http-filters.yaml": {
    envoy: "accepts",
    differs: "A connection manager without HTTP filters",
    ours: [`${HCM}.http_filters: must end with the router filter`],
  },

  // v2 inside a v3 file: Envoy 1.40 rejects every one.
  "validate/filter-config-v2.yaml": {
    envoy: "rejects",
    ours: [`static_resources.listeners[0].filter_chains[0].filters[0].config: ${V2_IN_V3}: use typed_config`],
  },
  "validate/router-config-v2.yaml": {
    envoy: "rejects",
    ours: [`${HCM}.http_filters[0].config: ${V2_IN_V3}`],
  },
  "validate/router-no-typed-config.yaml": {
    envoy: "rejects",
    ours: [`${HCM}.http_filters[0]: ${V2_IN_V3}: HTTP filter without typed_config`],
  },
  "validate/router-v2-name-no-typed-config.yaml": {
    envoy: "rejects",
    ours: [`${HCM}.http_filters[0]: ${V2_IN_V3}: HTTP filter without typed_config`],
  },
  "validate/access-log-no-typed-config.yaml": {
    envoy: "rejects",
    ours: [`${HCM}.access_log[0]: ${V2_IN_V3}: access logger without typed_config`],
  },
  "validate/route-use-websocket.yaml": {
    envoy: "rejects",
    ours: [`${ROUTE}.route.use_websocket: ${V2_IN_V3}: use upgrade_configs`],
  },
  "validate/cluster-hosts-v2.yaml": {
    envoy: "rejects",
    ours: [`static_resources.clusters[0].hosts: ${V2_IN_V3}: use load_assignment`],
  },
  "validate/route-regex-v2.yaml": { envoy: "rejects", ours: [`${ROUTE}.match.regex: ${V2_IN_V3}`] },
  "validate/header-regex-match-v2.yaml": {
    envoy: "rejects",
    ours: [`${ROUTE}.match.headers[0].regex_match: ${V2_IN_V3}`],
  },
  "validate/query-value-v2.yaml": {
    envoy: "rejects",
    ours: [`${ROUTE}.match.query_parameters[0].value: ${V2_IN_V3}`],
  },
  "validate/hcm-idle-timeout-v2.yaml": { envoy: "rejects", ours: [`${HCM}.idle_timeout: ${V2_IN_V3}`] },
  "validate/hcm-v2-type-url.yaml": { envoy: "rejects", ours: [`${HCM}.@type: ${V2_IN_V3}`] },

  // Broken.
  "validate/cluster-dns-resolvers-no-port.yaml": {
    envoy: "rejects",
    ours: [
      "static_resources.clusters[0].dns_resolvers[0].socket_address.port_value: required field is missing",
    ],
  },
  "validate/hcm-unknown-field.yaml": {
    envoy: "rejects",
    ours: [`${HCM}.stat_prefx: unknown field (did you mean "stat_prefix"?)`],
  },
  "validate/missing-type-url.yaml": {
    envoy: "rejects",
    ours: [`${HCM}.http_filters[0].typed_config.@type: required field is missing`],
  },
  "validate/unknown-type-url.yaml": { envoy: "rejects" },
  "validate/route-unknown-cluster.yaml": {
    envoy: "rejects",
    ours: [`${ROUTE}.route.cluster: unknown cluster "nope"`],
  },
  "validate/router-not-last.yaml": { envoy: "rejects", ours: ["the router must be the last HTTP filter"] },
  "validate/hcm-no-stat-prefix.yaml": { envoy: "rejects" },
  "validate/hcm-codec-http3.yaml": { envoy: "rejects" },
  "validate/cluster-no-name.yaml": { envoy: "rejects" },
  "validate/duplicate-cluster.yaml": { envoy: "rejects" },
  "validate/cluster-eds.yaml": { envoy: "rejects" },
  "validate/cluster-connect-timeout-zero.yaml": { envoy: "rejects" },
  "validate/bad-duration.yaml": { envoy: "rejects" },
  "validate/number-duration.yaml": { envoy: "rejects" },
  "validate/bad-lb-policy.yaml": { envoy: "rejects" },
  "validate/port-out-of-range.yaml": { envoy: "rejects" },
  "validate/static-dns-name.yaml": { envoy: "rejects" },
  "validate/logical-dns-two-hosts.yaml": { envoy: "rejects" },
  "validate/hosts-and-load-assignment.yaml": { envoy: "rejects" },
  "validate/duplicate-domain.yaml": { envoy: "rejects" },
  "validate/no-domains.yaml": { envoy: "rejects" },
  "validate/bad-regex.yaml": { envoy: "rejects" },
  "validate/rewrites-both.yaml": { envoy: "rejects" },
  "validate/weights-zero.yaml": { envoy: "rejects" },
  "validate/route-no-action.yaml": { envoy: "rejects" },
  "validate/direct-response-bad-status.yaml": { envoy: "rejects" },
  "validate/duplicate-listener-address.yaml": { envoy: "rejects" },
  "validate/listener-no-filter-chains.yaml": { envoy: "rejects" },
  "validate/two-filter-chains.yaml": { envoy: "rejects" },
  "validate/yaml-syntax.yaml": { envoy: "rejects" },

  // The dialect: a file without a v3 type URL is v2, which Envoy 1.40 cannot load.
  "validate/clusters-only-hosts.yaml": { envoy: "rejects", differs: "A file without a v3 type URL is v2" },
  "seeds/proxy-envoy.yaml": { envoy: "rejects", differs: "v2 files are Envoy 1.7's" },
  "seeds/service-envoy.yaml": { envoy: "rejects", differs: "v2 files are Envoy 1.7's" },
};

const fixtures = fromRoot("proxy/test/fixtures");
/** Where a corpus file is: the seed's files are in seeds/ at the root, the rest under proxy/test/fixtures/. */
const pathOf = (file: string) => (file.startsWith("seeds/") ? fromRoot(file) : `${fixtures}/${file}`);
const files = Object.keys(CORPUS);
const ours = new Map<string, Result>();

/** Runs `task` over `items`, `width` at a time (the corpus is ~90 process starts). */
async function eachLimited<T>(items: T[], width: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++] as T);
  };
  await Promise.all(Array.from({ length: width }, worker));
}

function verdictOf(code: number | null): Verdict {
  return code === 0 ? "accepts" : "rejects";
}

describe("the validate corpus", () => {
  it("has at least 40 v3 configs, every file of fixtures/validate in the table", () => {
    const inDir = readdirSync(`${fixtures}/validate`).map((f) => `validate/${f}`);
    expect(inDir.sort()).toEqual(files.filter((f) => f.startsWith("validate/")).sort());
    expect(inDir.length).toBeGreaterThanOrEqual(40);
  });

  it("names only differences that docs/ENVOY-DIFFERENCES.md lists (## Dialects, ## Configuration)", () => {
    const doc = readFileSync(fromRoot("docs/ENVOY-DIFFERENCES.md"), "utf8");
    const sections = doc
      .split(/^## /m)
      .filter((s) => s.startsWith("Dialects") || s.startsWith("Configuration"));
    const titles = sections.flatMap((s) => [...s.matchAll(/^### (.+)$/gm)].map((m) => m[1]));
    for (const c of Object.values(CORPUS)) if (c.differs !== undefined) expect(titles).toContain(c.differs);
  });
});

describe("echomesh-proxy --mode validate: Envoy 1.40's verdict unless a difference is listed", () => {
  beforeAll(async () => {
    await eachLimited(files, 2, async (file) => {
      ours.set(file, await runToEnd(PROXY_MAIN, ["--mode", "validate", "-c", pathOf(file)]));
    });
  }, 120_000);

  for (const [file, c] of Object.entries(CORPUS)) {
    it(file, () => {
      const r = ours.get(file) as Result;
      const want: Verdict = c.differs === undefined ? c.envoy : c.envoy === "accepts" ? "rejects" : "accepts";
      expect(verdictOf(r.code), r.stderr).toBe(want);
      if (want === "accepts") expect(r.stdout).toContain("OK");
      if (want === "rejects") expect(r.stderr).toContain("invalid config");
      if (want === "accepts" && c.ours === undefined) expect(r.stderr, "no warning expected").toBe("");
      for (const s of c.ours ?? []) expect(r.stderr).toContain(s);
    });
  }
});

const envoy = findEnvoy();
process.stdout.write(
  envoy.found
    ? `validate corpus: Envoy ${envoy.version} from ${envoy.from} (${envoy.path})\n`
    : `validate corpus: Envoy half skipped: ${envoy.reason}\n`,
);

/** `envoy --mode validate -c <file>`: its exit code and output. */
function envoyValidate(path: string, file: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      path,
      ["--mode", "validate", "--use-dynamic-base-id", "-l", "warning", "-c", pathOf(file)],
      { cwd: tmpdir(), timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
        resolve({ code, output: stdout + stderr });
      },
    );
  });
}

describe("envoy --mode validate reaches the recorded verdicts", () => {
  const verdicts = new Map<string, { code: number; output: string }>();
  beforeAll(async () => {
    if (!envoy.found) return;
    await eachLimited(files, 2, async (file) => {
      verdicts.set(file, await envoyValidate(envoy.path, file));
    });
  }, 120_000);

  for (const [file, c] of Object.entries(CORPUS)) {
    it(file, (ctx) => {
      if (!envoy.found) return ctx.skip(envoy.reason);
      const r = verdicts.get(file) as { code: number; output: string };
      expect(verdictOf(r.code), r.output).toBe(c.envoy);
    });
  }
});
