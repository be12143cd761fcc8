/**
 * The connection manager's request header mutation, case by case as Envoy 1.40 did it to the same
 * request (measured with a raw TCP upstream; `host` and the router's x-envoy-expected-rq-timeout-ms
 * left out, `UUID` for a generated request id, `LOCAL` for Envoy's local address).
 */
import { describe, expect, it } from "vitest";
import {
  internalAddressPolicy,
  isRfc1918OrLoopback,
  localAddress,
  mutateRequestHeaders,
  type RequestHeaderConfig,
} from "../../http/request_headers.js";

const v3 = internalAddressPolicy("v3");
const edge: RequestHeaderConfig = {
  useRemoteAddress: true,
  xffNumTrustedHops: 0,
  generateRequestId: true,
  isInternal: v3,
  localAddress: "LOCAL",
};
const notEdge: RequestHeaderConfig = { ...edge, useRemoteAddress: false };

/** Every x-envoy-* header a client might send, in the order the measurement sent them. */
const ALL_ENVOY = [
  ["x-envoy-retriable-status-codes", "500"],
  ["x-envoy-retriable-header-names", "x-a"],
  ["x-envoy-retry-on", "5xx"],
  ["x-envoy-retry-grpc-on", "cancelled"],
  ["x-envoy-max-retries", "3"],
  ["x-envoy-upstream-alt-stat-name", "alt"],
  ["x-envoy-upstream-rq-timeout-ms", "5000"],
  ["x-envoy-upstream-rq-per-try-timeout-ms", "4000"],
  ["x-envoy-upstream-rq-timeout-alt-response", "204"],
  ["x-envoy-expected-rq-timeout-ms", "77"],
  ["x-envoy-force-trace", "1"],
  ["x-envoy-ip-tags", "t"],
  ["x-envoy-original-url", "http://u"],
  ["x-envoy-hedge-on-per-try-timeout", "true"],
  ["x-envoy-decorator-operation", "op"],
  ["x-envoy-downstream-service-cluster", "dc"],
  ["x-envoy-downstream-service-node", "dn"],
  ["x-envoy-original-path", "/orig"],
  ["x-envoy-internal", "true"],
  ["x-envoy-external-address", "9.9.9.9"],
  ["x-envoy-attempt-count", "5"],
  ["x-envoy-is-timeout-retry", "true"],
  ["x-envoy-upstream-stream-duration-ms", "5"],
  ["x-envoy-peer-metadata", "p"],
  ["x-envoy-foo", "bar"],
  ["x-envoy-original-host", "oh"],
].flat();

interface Case {
  name: string;
  cfg: RequestHeaderConfig;
  peer: string;
  headers: string[];
  expected: string[];
  internal: boolean;
}

const CASES: Case[] = [
  {
    name: "edge client at 127.0.0.1: XFF gets the local address; external; a request id is added",
    cfg: edge,
    peer: "127.0.0.1",
    headers: ["user-agent", "T"],
    expected: [
      "user-agent",
      "T",
      "x-forwarded-for",
      "LOCAL",
      "x-forwarded-proto",
      "http",
      "x-envoy-external-address",
      "127.0.0.1",
      "x-request-id",
      "UUID",
    ],
    internal: false,
  },
  {
    name: "edge client at 127.0.6.5: XFF appended with a comma, proto and empty id replaced in place",
    cfg: edge,
    peer: "127.0.6.5",
    headers: ["x-forwarded-proto", "https", "x-forwarded-for", "1.2.3.4", "x-request-id", ""],
    expected: [
      "x-forwarded-proto",
      "http",
      "x-forwarded-for",
      "1.2.3.4,127.0.6.5",
      "x-request-id",
      "UUID",
      "x-envoy-external-address",
      "127.0.6.5",
    ],
    internal: false,
  },
  {
    name: "edge: a client's request id is replaced in its place",
    cfg: edge,
    peer: "127.0.6.5",
    headers: ["x-request-id", "keep"],
    expected: [
      "x-request-id",
      "UUID",
      "x-forwarded-for",
      "127.0.6.5",
      "x-forwarded-proto",
      "http",
      "x-envoy-external-address",
      "127.0.6.5",
    ],
    internal: false,
  },
  {
    name: "edge: Envoy's internal-only and edge-only x-envoy-* headers go; external address in place",
    cfg: edge,
    peer: "127.0.0.1",
    headers: ALL_ENVOY,
    expected: [
      "x-envoy-external-address",
      "127.0.0.1",
      "x-envoy-attempt-count",
      "5",
      "x-envoy-is-timeout-retry",
      "true",
      "x-envoy-peer-metadata",
      "p",
      "x-envoy-foo",
      "bar",
      "x-forwarded-for",
      "LOCAL",
      "x-forwarded-proto",
      "http",
      "x-request-id",
      "UUID",
    ],
    internal: false,
  },
  {
    name: "not edge, not internal: only the internal-only ones go",
    cfg: notEdge,
    peer: "",
    headers: ALL_ENVOY,
    expected: [
      "x-envoy-decorator-operation",
      "op",
      "x-envoy-downstream-service-cluster",
      "dc",
      "x-envoy-downstream-service-node",
      "dn",
      "x-envoy-original-path",
      "/orig",
      "x-envoy-external-address",
      "9.9.9.9",
      "x-envoy-attempt-count",
      "5",
      "x-envoy-is-timeout-retry",
      "true",
      "x-envoy-peer-metadata",
      "p",
      "x-envoy-foo",
      "bar",
      "x-envoy-original-host",
      "oh",
      "x-forwarded-proto",
      "http",
      "x-request-id",
      "UUID",
    ],
    internal: false,
  },
  {
    name: "v3, no use_remote_address: a lone RFC 1918 XFF address is not internal either",
    cfg: notEdge,
    peer: "",
    headers: ["x-forwarded-for", "10.0.0.1", "x-envoy-retry-on", "5xx", "x-request-id", "abc"],
    expected: ["x-forwarded-for", "10.0.0.1", "x-request-id", "abc", "x-forwarded-proto", "http"],
    internal: false,
  },
  {
    name: "v2 (Envoy 1.7): a client at 127.0.0.1 is internal and keeps its control headers",
    cfg: { ...edge, isInternal: internalAddressPolicy("v2") },
    peer: "127.0.0.1",
    headers: ["x-envoy-retry-on", "5xx", "x-envoy-internal", "spoofed", "x-request-id", "mine"],
    expected: [
      "x-envoy-retry-on",
      "5xx",
      "x-request-id",
      "mine",
      "x-forwarded-for",
      "LOCAL",
      "x-forwarded-proto",
      "http",
      "x-envoy-internal",
      "true",
    ],
    internal: true,
  },
  {
    name: "v2: a client at 127.0.6.5 is not internal (only 127.0.0.1 is)",
    cfg: { ...edge, isInternal: internalAddressPolicy("v2") },
    peer: "127.0.6.5",
    headers: ["x-envoy-retry-on", "5xx", "x-request-id", "mine"],
    expected: [
      "x-request-id",
      "UUID",
      "x-forwarded-for",
      "127.0.6.5",
      "x-forwarded-proto",
      "http",
      "x-envoy-external-address",
      "127.0.6.5",
    ],
    internal: false,
  },
];

describe("request header mutation (Envoy 1.40's, measured)", () => {
  for (const c of CASES) {
    it(c.name, () => {
      const headers = [...c.headers];
      const internal = mutateRequestHeaders(headers, c.peer, c.cfg);
      const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
      expect(headers.map((h) => (uuid.test(h) ? "UUID" : h))).toEqual(c.expected);
      expect(internal).toBe(c.internal);
    });
  }

  it("v2 internal addresses are Envoy 1.7's: RFC 1918, exactly 127.0.0.1, fd00::/8, ::1", () => {
    const table: Array<[string, boolean]> = [
      ["10.1.2.3", true],
      ["172.16.0.1", true],
      ["172.31.255.255", true],
      ["172.32.0.1", false],
      ["192.168.1.1", true],
      ["127.0.0.1", true],
      ["127.0.6.5", false],
      ["8.8.8.8", false],
      ["::1", true],
      ["fd12:3456::1", true],
      ["fc00::1", false],
      ["fd::1", false],
    ];
    for (const [ip, internal] of table) expect([ip, isRfc1918OrLoopback(ip)]).toEqual([ip, internal]);
    expect(internalAddressPolicy("v3")("10.1.2.3")).toBe(false);
  });

  it("internal_address_config's ranges replace the dialect's default", () => {
    const listed = internalAddressPolicy("v3", [
      { prefix: "127.0.0.0", length: 8 },
      { prefix: "fd00::", length: 8 },
    ]);
    expect(["127.0.6.5", "10.0.0.1", "fd12::1", "::1", ""].map(listed)).toEqual([
      true,
      false,
      true,
      false,
      false,
    ]);
    // Listed ranges win in v2 too: RFC 1918 is then no longer internal.
    expect(internalAddressPolicy("v2", [{ prefix: "127.0.0.0", length: 8 }])("10.0.0.1")).toBe(false);
  });

  it("the local address is the machine's first non-loopback IPv4 address", () => {
    expect(localAddress()).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  });
});
