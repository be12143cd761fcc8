/**
 * The echo's request controls under hostile values (issue 9): a value the response cannot carry is a
 * 400 naming the control, never a hung request with the error only logged. Loopback, bounded.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { h2 } from "../../../test-support/h2.js";
import { request } from "../../../test-support/http.js";
import { resolveConfig } from "../../config.js";
import type { EchoServer } from "../../server.js";
import { start } from "../helpers.js";

let echo: EchoServer;
beforeAll(async () => {
  echo = await start();
});
afterAll(() => echo.close());

/** Status and body over HTTP/1.1 and over h2c; a hang fails after 2 s. */
async function both(path: string): Promise<{ h1: [number, string]; h2: [number, string] }> {
  const one = await request(echo.port, path, { timeoutMs: 2000 });
  const two = await h2(echo.port, path, { timeoutMs: 2000 });
  return { h1: [one.status, one.text], h2: [two.status, two.text] };
}

describe("the echo's controls with values a response cannot carry (issue 9)", () => {
  it("echo_header with CR, LF or NUL in its value: 400 naming echo_header, HTTP/1.1 and HTTP/2, on / and POST /echo", async () => {
    for (const value of ["a%0d%0aX-Injected:%201", "a%0db", "a%0ab", "a%00b"]) {
      const r = await both(`/?echo_header=X-A:${value}`);
      for (const [status, text] of [r.h1, r.h2]) {
        expect(status).toBe(400);
        expect(text).toMatch(/^invalid echo_header value for X-A: /);
      }
    }
    const post = await request(echo.port, "/echo?echo_header=X-A:a%0db", {
      method: "POST",
      body: "x",
      timeoutMs: 2000,
    });
    expect(post.status).toBe(400);
  });

  it("echo_header values node cannot send: above U+00FF (both protocols), a connection header or a repeated single-value header over HTTP/2: 400", async () => {
    const euro = await both("/?echo_header=X-A:%E2%82%AC");
    expect([euro.h1[0], euro.h2[0]]).toEqual([400, 400]);
    const connection = await both("/?echo_header=Proxy-Connection:x");
    expect(connection.h1[0]).toBe(200);
    expect(connection.h2).toEqual([
      400,
      "echo_header cannot set Proxy-Connection over HTTP/2 (a connection header, RFC 9113 8.2.2)\n",
    ]);
    const repeated = await both("/?echo_header=Content-Type:a&echo_header=Content-Type:b");
    expect(repeated.h1[0]).toBe(200);
    expect(repeated.h2).toEqual([
      400,
      "echo_header cannot repeat Content-Type over HTTP/2 (it takes one value)\n",
    ]);
    // Repeats node:http2 sends as they are still work.
    expect((await both("/?echo_header=Set-Cookie:a&echo_header=Set-Cookie:b")).h2[0]).toBe(200);
  });

  it("a --max-delay or --drain-timeout beyond Node's timer limit (24.8 days) is refused, not a delay that fires at once", () => {
    expect(() => resolveConfig({ maxDelayMs: 30 * 24 * 3600 * 1000 })).toThrow(
      /maxDelayMs must be at most 24.8 days/,
    );
    expect(() => resolveConfig({ drainTimeoutMs: 2 ** 31 })).toThrow(
      /drainTimeoutMs must be at most 24.8 days/,
    );
  });
});
