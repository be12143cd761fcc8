/**
 * Properties of the request path, on random input (seeded and bounded: the same runs every time):
 * the upstream request head never carries a CR, LF or NUL it was not built with (a header or request
 * smuggled in), Envoy's request header mutation never throws and never lets a client's control
 * headers through, and random request lines sent to a real proxy get an answer or a close, never a
 * hang or a crash.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { requestHead } from "../../../lib/http1/serializer.js";
import { raw, request, statusOf } from "../../../test-support/http.js";
import { mutateRequestHeaders, type RequestHeaderConfig } from "../../http/request_headers.js";
import { CATCH_ALL, useProxies } from "./helpers.js";

const SEED = 20_240_901;
const proxies = useProxies();

/** Characters a hostile client or a bug could put in a name or value, CR, LF and NUL included. */
const nasty = fc.string({
  maxLength: 12,
  unit: fc.oneof(
    fc.constantFrom("\r", "\n", "\0", "\r\n", ":", " ", "\t", "\x7f", "é", "x"),
    fc.string({ minLength: 1, maxLength: 1, unit: "binary" }),
  ),
});
const token = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}$/);
const headerName = fc.oneof(
  token,
  nasty,
  fc.constantFrom(
    "x-forwarded-for",
    "X-Forwarded-For",
    "x-forwarded-proto",
    "x-request-id",
    "x-envoy-internal",
    "X-Envoy-Retry-On",
    "x-envoy-max-retries",
    "x-envoy-upstream-rq-timeout-ms",
    "x-envoy-original-path",
    "x-envoy-external-address",
    "content-length",
  ),
);
const headerList = fc.array(
  fc.tuple(headerName, fc.oneof(nasty, fc.constantFrom("", "10.0.0.1", "1.2.3.4, 5.6.7.8"))),
  {
    maxLength: 8,
  },
);
const ip = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom("127.0.0.1", "::1", "10.0.0.1", ""));

const BREAK = /[\r\n\0]/;

/** What the head says besides its line breaks: exactly one CRLF per line, and nothing else breaking. */
function expectCleanHead(text: string, lines: number): void {
  const parts = text.split("\r\n");
  expect(parts).toHaveLength(lines + 1);
  expect(parts[lines]).toBe("");
  for (const part of parts) expect(BREAK.test(part), JSON.stringify(part)).toBe(false);
}

describe("request path properties", () => {
  it("requestHead: refused (null) exactly when the path, a name or a value holds CR, LF or NUL; else one line per header", () => {
    fc.assert(
      fc.property(token, fc.oneof(nasty, fc.webPath()), headerList, (method, path, pairs) => {
        const headers = pairs.flat();
        const head = requestHead({ method, path, headers });
        const smuggles = BREAK.test(path) || headers.some((h) => BREAK.test(h));
        if (smuggles) {
          expect(head).toBeNull();
          return;
        }
        expect(head).not.toBeNull();
        expectCleanHead(head?.text ?? "", 1 + pairs.length);
        expect(head?.hasContentLength).toBe(pairs.some(([name]) => name === "content-length"));
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it("mutateRequestHeaders never throws, adds no line break, and keeps a client's control headers out unless internal", () => {
    const INTERNAL_ONLY = ["x-envoy-retry-on", "x-envoy-max-retries", "x-envoy-upstream-rq-timeout-ms"];
    fc.assert(
      fc.property(
        headerList,
        ip,
        fc.record({
          useRemoteAddress: fc.boolean(),
          xffNumTrustedHops: fc.nat({ max: 2 }),
          generateRequestId: fc.boolean(),
          trust: fc.constantFrom("none", "rfc1918", "all"),
        }),
        (pairs, peer, c) => {
          const cfg: RequestHeaderConfig = {
            useRemoteAddress: c.useRemoteAddress,
            xffNumTrustedHops: c.xffNumTrustedHops,
            generateRequestId: c.generateRequestId,
            isInternal: (a) => c.trust === "all" || (c.trust === "rfc1918" && a.startsWith("10.")),
            localAddress: "192.0.2.1",
          };
          const before = pairs.flat();
          const headers = [...before];
          const internal = mutateRequestHeaders(headers, c.useRemoteAddress ? peer : "", cfg);
          expect(headers.length % 2).toBe(0);
          const lower = headers.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
          // A value with a line break was the client's (the head refuses it later); none is new.
          const brokenBefore = before.filter((h) => BREAK.test(h)).length;
          expect(headers.filter((h) => BREAK.test(h)).length).toBeLessThanOrEqual(brokenBefore);
          expect(lower.filter((n) => n === "x-envoy-internal")).toHaveLength(internal ? 1 : 0);
          if (!internal) for (const name of INTERNAL_ONLY) expect(lower).not.toContain(name);
          expect(lower).toContain("x-forwarded-proto");
          if (c.generateRequestId) expect(lower).toContain("x-request-id");
        },
      ),
      { seed: SEED, numRuns: 500 },
    );
  });

  it("random request lines to a real proxy: each gets a status line or a close within 2 s, and the proxy still serves", async () => {
    const up = await proxies.upstream();
    const proxy = await proxies.proxy(CATCH_ALL, { backend: up.port });
    const noBreak = (s: string) => s.replace(/[\r\n]/g, "");
    // Weighted towards lines that parse, so both the codec's refusals and forwarding get exercised.
    const line = fc.tuple(
      fc.oneof(
        { arbitrary: fc.constantFrom("GET", "HEAD", "POST", "DELETE", "OPTIONS"), weight: 4 },
        { arbitrary: fc.constantFrom("CONNECT", "PRI", "get", "", "GET\0"), weight: 1 },
        { arbitrary: token, weight: 1 },
        { arbitrary: nasty.map(noBreak), weight: 1 },
      ),
      fc.oneof(
        { arbitrary: fc.webPath().map((p) => `/${p}`), weight: 4 },
        { arbitrary: fc.constantFrom("*", "http://a/b", "//x", "/a b", "", "/%00", "/\x7f"), weight: 1 },
        { arbitrary: nasty.map(noBreak), weight: 1 },
      ),
      fc.oneof(
        { arbitrary: fc.constant("HTTP/1.1"), weight: 4 },
        {
          arbitrary: fc.constantFrom(
            "HTTP/1.0",
            "HTTP/0.9",
            "HTTP/2.0",
            "HTTP/1.10",
            "http/1.1",
            "",
            "HTTP/1.1 x",
          ),
          weight: 1,
        },
      ),
    );
    await fc.assert(
      fc.asyncProperty(line, async ([method, target, version]) => {
        const request = `${[method, target, version].join(" ")}\r\nhost: a\r\n\r\n`;
        const reply = await raw(proxy.port, Buffer.from(request, "latin1"), {
          withinMs: 2_000,
          until: (r) => r.includes("\r\n\r\n"),
        });
        const answered = statusOf(reply.text) >= 100 && statusOf(reply.text) < 600;
        expect(
          answered || (reply.closedByPeer && reply.text === ""),
          `${JSON.stringify(request)} -> ${JSON.stringify(reply.text.slice(0, 80))}`,
        ).toBe(true);
      }),
      { seed: SEED, numRuns: 150 },
    );
    expect((await request(proxy.port, "/after")).status).toBe(200);
  });
});
