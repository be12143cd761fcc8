import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadConfigFile, ProxyConfigError } from "../../config/load.js";

const dir = fileURLToPath(new URL("../fixtures/broken/", import.meta.url));
const HCM = "static_resources.listeners[0].filter_chains[0].filters[0].config";
const HCM3 = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config";

/** Every file in fixtures/broken/ and what its error must say (each string must appear in one error). */
const CORPUS: Record<string, string[]> = {
  "typo-lb-policy.yaml": [
    'static_resources.clusters[0].lb_policy: unknown value "round_robbin" (did you mean "round_robin"?)',
  ],
  "typo-field.yaml": [
    'static_resources.clusters[0].conect_timeout: unknown field (did you mean "connect_timeout"?)',
  ],
  "unknown-cluster.yaml": [
    `${HCM}.route_config.virtual_hosts[0].routes[0].route.cluster: unknown cluster "myservce" (did you mean "myservice"?)`,
  ],
  "duplicate-cluster.yaml": ['static_resources.clusters[1].name: duplicate cluster name "myservice"'],
  "duplicate-domain.yaml": [`${HCM}.route_config.virtual_hosts[1].domains[1]: duplicate domain "*"`],
  "static-dns-name.yaml": [
    'static_resources.clusters[0].hosts[0].socket_address.address: "service1" is not an IP address',
    'static_resources.clusters[0].hosts[1].socket_address.address: "service2" is not an IP address',
  ],
  "no-hcm.yaml": [
    'static_resources.listeners[0].filter_chains[0].filters[0].name: unsupported network filter "envoy.tcp_proxy"',
  ],
  "tls-context.yaml": [
    'static_resources.clusters[0].tls_context.common_tls_context.tls_certificates[0].certificate_chain.filename: cannot read "/nonexistent/client.pem": ENOENT',
    'static_resources.clusters[0].tls_context.common_tls_context.tls_certificates[0].private_key.filename: cannot read "/nonexistent/client.key": ENOENT',
  ],
  "other-http-filter.yaml": [`${HCM}.http_filters[0].name: unsupported HTTP filter "envoy.cors"`],
  "bad-duration.yaml": [
    'static_resources.clusters[0].connect_timeout: invalid duration "250ms" (durations are seconds with an "s" suffix: "0.25s")',
  ],
  "duration-number.yaml": [
    `${HCM}.route_config.virtual_hosts[0].routes[0].route.timeout: invalid duration 15`,
  ],
  "bad-port.yaml": [
    "static_resources.listeners[0].address.socket_address.port_value: 70000 is out of range [0, 65535]",
  ],
  "unsupported-lb.yaml": [
    'static_resources.clusters[0].lb_policy: unsupported value "ring_hash" (echomesh-proxy supports round_robin',
  ],
  "bad-codec.yaml": [`${HCM}.codec_type: unknown value "atuo" (did you mean "auto"?)`],
  "config-and-typed-config.yaml": [
    `${HCM}.http_filters[0].typed_config: only one of config, typed_config may be set`,
  ],
  "missing-route-config.yaml": [
    `${HCM}: one of route_config, rds, scoped_routes is required`,
    `${HCM}.router_config: unknown field (did you mean "route_config"?)`,
  ],
  "no-router.yaml": [`${HCM}.http_filters: must end with the router filter`],
  "logical-dns-two-hosts.yaml": [
    "static_resources.clusters[0].hosts: a logical_dns cluster needs exactly one host, got 2",
  ],
  "yaml-syntax.yaml": ["YAML syntax error", "line 34"],
  "duplicate-key.yaml": ["YAML syntax error: Map keys must be unique"],
  "static-resources-list.yaml": ["static_resources: expected a mapping, got a list"],
  "many-errors.yaml": [
    `${HCM}.codec_type: unknown value "atuo"`,
    "static_resources.clusters[0].lb_policy: unknown value",
    'static_resources.clusters[0].connect_timeout: invalid duration "250ms"',
    'admin.address.socket_address.address: "localhost" is not an IP address',
  ],
  "v3-bad-type-url.yaml": [`${HCM3}.http_filters[0].typed_config.@type: unsupported HTTP filter type`],
  "v3-bad-regex.yaml": [
    `${HCM3}.route_config.virtual_hosts[0].routes[0].match.safe_regex.regex: invalid regex "/ws/([a-z"`,
  ],
  "v3-protocol-options-typo.yaml": [
    'static_resources.clusters[0].typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].explicit_http_confg: unknown field (did you mean "explicit_http_config"?)',
  ],
  "v3-hcm-unsupported-field.yaml": [`${HCM3}.strip_any_host_port: unsupported field`],
  "v3-static-with-name.yaml": [
    'static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address: "service1" is not an IP address',
  ],
};

async function errorsOf(file: string): Promise<string[]> {
  try {
    await loadConfigFile(dir + file);
  } catch (err) {
    expect(err).toBeInstanceOf(ProxyConfigError);
    return (err as ProxyConfigError).errors;
  }
  throw new Error(`${file} loaded but must be rejected`);
}

describe("broken configs are rejected with messages that name the path", () => {
  it("the table covers every file in fixtures/broken", () => {
    expect(readdirSync(dir).sort()).toEqual(Object.keys(CORPUS).sort());
  });

  for (const [file, expected] of Object.entries(CORPUS)) {
    it(file, async () => {
      const errors = await errorsOf(file);
      for (const e of errors) expect(e.startsWith(dir + file)).toBe(true);
      for (const want of expected) {
        expect(
          errors.some((e) => e.includes(want)),
          `no error contains ${JSON.stringify(want)} in\n${errors.join("\n")}`,
        ).toBe(true);
      }
    });
  }

  it("collects every error, each with its line", async () => {
    const errors = await errorsOf("many-errors.yaml");
    expect(errors).toHaveLength(4);
    expect(errors.every((e) => / \(line \d+\)$/.test(e))).toBe(true);
  });

  it("the ProxyConfigError message lists all errors", async () => {
    const err = (await loadConfigFile(`${dir}many-errors.yaml`).catch((e: unknown) => e)) as ProxyConfigError;
    expect(err.message).toMatch(/^invalid config \(4 errors\):\n {2}/);
    for (const e of err.errors) expect(err.message).toContain(e);
  });

  it("a missing file is a ProxyConfigError naming the file", async () => {
    const errors = await errorsOf("does-not-exist.yaml");
    expect(errors[0]).toContain("does-not-exist.yaml: cannot read config file");
  });
});
