import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { poll, waitUntil } from "../../../lib/wait.js";
import {
  type AccessLogEntry,
  AccessLogManager,
  AccessLogWriter,
  compileFormat,
  createAccessLoggers,
  FormatError,
} from "../../access_log/index.js";

function entry(over: Partial<AccessLogEntry> = {}): AccessLogEntry {
  return {
    startTime: Date.UTC(2018, 8, 6, 7, 9, 48, 123),
    method: "GET",
    path: "/hello?x=1",
    authority: "localhost:9000",
    scheme: "http",
    protocol: "HTTP/1.1",
    requestHeaders: ["Host", "localhost:9000", "User-Agent", "curl/8.0", "X-Request-Id", "abc-123"],
    responseHeaders: ["content-type", "text/plain", "x-envoy-upstream-service-time", "3"],
    responseTrailers: null,
    responseCode: 200,
    responseCodeDetails: "via_upstream",
    responseFlags: [],
    bytesReceived: 0,
    bytesSent: 42,
    durationMs: 4.7,
    upstreamHost: "127.0.0.2:8080",
    upstreamCluster: "myservice",
    downstreamRemoteAddress: "127.0.0.1:51234",
    downstreamLocalAddress: "127.0.0.1:9000",
    routeName: null,
    ...over,
  };
}

describe("access log format", () => {
  it("prints Envoy's default format with '-' for unset values", () => {
    expect(compileFormat(null)(entry())).toBe(
      '[2018-09-06T07:09:48.123Z] "GET /hello?x=1 HTTP/1.1" 200 - 0 42 4 3 "-" "curl/8.0" "abc-123" ' +
        '"localhost:9000" "127.0.0.2:8080"\n',
    );
  });

  it("shows flags, a missing response and the original path when rewritten", () => {
    const line = compileFormat(null)(
      entry({
        responseCode: 0,
        responseHeaders: null,
        responseFlags: ["UF", "URX"],
        upstreamHost: null,
        requestHeaders: ["x-envoy-original-path", "/orig", "x-forwarded-for", "10.0.0.1"],
      }),
    );
    expect(line).toBe(
      '[2018-09-06T07:09:48.123Z] "GET /orig HTTP/1.1" 0 UF,URX 0 42 4 - "10.0.0.1" "-" "-" "localhost:9000" "-"\n',
    );
  });

  it("supports custom formats: fallbacks, truncation, pseudo headers, strftime", () => {
    const f = compileFormat(
      "%START_TIME(%Y/%m/%dT%H:%M:%S.%3f %s)% %REQ(X-MISSING?USER-AGENT):4% %REQ(:AUTHORITY)% " +
        "%RESP(CONTENT-TYPE)% %RESP(:STATUS)% %PROTOCOL% %UPSTREAM_CLUSTER% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
    );
    expect(f(entry({ protocol: "HTTP/2" }))).toBe(
      "2018/09/06T07:09:48.123 1536217788 curl localhost:9000 text/plain 200 HTTP/2 myservice 127.0.0.1",
    );
  });

  it("joins repeated request headers and matches names case-insensitively", () => {
    const f = compileFormat("%REQ(x-a)%");
    expect(f(entry({ requestHeaders: ["X-A", "1", "x-a", "2"] }))).toBe("1,2");
  });

  it("rejects unknown commands and stray percent signs", () => {
    expect(() => compileFormat("%NOPE%")).toThrow(FormatError);
    expect(() => compileFormat("100% sure")).toThrow(FormatError);
    expect(() => compileFormat("%REQ%")).toThrow(/needs an argument/);
    expect(() => compileFormat("%DURATION(x)%")).toThrow(/takes no argument/);
  });
});

describe("access log files", () => {
  let dir = "";
  afterEach(async () => {
    if (dir !== "") await rm(dir, { recursive: true, force: true });
    dir = "";
  });

  it("appends formatted lines to a file, buffered, written by close()", async () => {
    dir = await mkdtemp(join(tmpdir(), "echomesh-al-"));
    const path = join(dir, "access.log");
    const manager = new AccessLogManager({ flushIntervalMs: 60_000 });
    const logger = createAccessLoggers([{ path, format: "%RESPONSE_CODE% %REQ(:PATH)%\n" }], manager);
    expect(logger).not.toBeNull();
    logger?.log(entry());
    logger?.log(entry({ responseCode: 503, path: "/b" }));
    await manager.closeAll();
    expect(await readFile(path, "utf8")).toBe("200 /hello?x=1\n503 /b\n");
  });

  it("flushes on its own after the flush interval", async () => {
    dir = await mkdtemp(join(tmpdir(), "echomesh-al-"));
    const path = join(dir, "access.log");
    const writer = new AccessLogWriter(path, { flushIntervalMs: 20 });
    writer.write("one\n");
    expect(
      await poll(
        () => readFile(path, "utf8"),
        (text) => text !== "",
      ),
    ).toBe("one\n");
    await writer.close();
  });

  it("shares one writer per path and treats /dev/null as off", () => {
    const manager = new AccessLogManager();
    expect(createAccessLoggers([{ path: "/dev/null", format: null }], manager)).toBeNull();
    expect(() => createAccessLoggers([{ path: "/dev/null", format: "%BAD%" }], manager)).toThrow(FormatError);
    expect(manager.open("/dev/stderr")).toBe(manager.open("/dev/stderr"));
  });

  it("reports a file it cannot open once and keeps going", async () => {
    const errors: string[] = [];
    const writer = new AccessLogWriter("/nonexistent-dir/x.log", { onError: (p) => errors.push(p) });
    writer.write("x\n");
    writer.flush();
    await waitUntil("the failure is reported", () => errors.length > 0);
    writer.write("y\n");
    expect(errors).toEqual(["/nonexistent-dir/x.log"]);
    expect(writer.dropped).toBeGreaterThan(0);
    await writer.close();
  });
});
