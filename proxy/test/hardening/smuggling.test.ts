/**
 * Request smuggling through the whole proxy: each attack of ./smuggling_attacks.ts is sent on one
 * downstream connection to a proxy in front of a raw upstream that records every byte it receives.
 * Whatever the proxy decides, nothing ambiguous may reach the upstream:
 * - every upstream connection's bytes parse strictly (RFC 9112, no leniency) into whole requests,
 *   each framed one way only (one Content-Length, or `Transfer-Encoding: chunked` alone, or none);
 * - every request the upstream receives answers exactly one response the client receives, in order
 *   (the upstream names the path it saw in `x-path`): no request the client did not see answered;
 * - the client sees the statuses, and the upstream the paths, the attack expects: a refusal
 *   forwards nothing, a smuggled `/smuggled` arrives only as a request the proxy itself read.
 */
import net from "node:net";
import { describe, expect, it } from "vitest";
import { ignoreErrorHandledOnClose } from "../../../lib/errors.js";
import { poll, sleep } from "../../../lib/wait.js";
import { CATCH_ALL, useProxies } from "../http/helpers.js";
import { type Attack, attacks } from "./smuggling_attacks.js";

const proxies = useProxies();

/** A request as the strict upstream parser read it. */
interface UpstreamRequest {
  path: string;
  head: string;
  body: Buffer;
}

interface UpstreamConnection {
  bytes: Buffer;
  requests: UpstreamRequest[];
  /** What made the bytes unparsable or ambiguous (none: ""). */
  violation: string;
  /** Bytes parsed into whole requests. */
  consumed: number;
  closed: boolean;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its job
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * Parses one request strictly from `buf` at `at`: null when incomplete; a string when malformed or
 * ambiguous; else the request and where the next one starts.
 */
function strictRequest(buf: Buffer, at: number): { request: UpstreamRequest; next: number } | string | null {
  const end = buf.indexOf("\r\n\r\n", at);
  if (end < 0) return null;
  const head = buf.toString("latin1", at, end);
  const lines = head.split("\r\n");
  const requestLine = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP\/1\.1$/.exec(lines[0] ?? "");
  if (requestLine === null) return `bad request line ${JSON.stringify(lines[0])}`;
  const lengths: string[] = [];
  const codings: string[] = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (colon <= 0 || !TOKEN.test(name) || CONTROL.test(value) || value.includes("\r"))
      return `bad header line ${JSON.stringify(line)}`;
    const lower = name.toLowerCase();
    if (lower === "content-length") lengths.push(value);
    if (lower === "transfer-encoding") codings.push(value);
  }
  if (lengths.length > 0 && codings.length > 0) return "both content-length and transfer-encoding";
  if (lengths.length > 1) return "more than one content-length";
  if (codings.length > 1 || (codings.length === 1 && codings[0] !== "chunked"))
    return `transfer-encoding ${JSON.stringify(codings)}`;
  let next = end + 4;
  let body: Buffer = Buffer.alloc(0);
  if (lengths.length === 1) {
    if (!/^\d+$/.test(lengths[0] as string)) return `content-length ${JSON.stringify(lengths[0])}`;
    const n = Number(lengths[0]);
    if (buf.length < next + n) return null;
    body = buf.subarray(next, next + n);
    next += n;
  } else if (codings.length === 1) {
    const parts: Buffer[] = [];
    for (;;) {
      const eol = buf.indexOf("\r\n", next);
      if (eol < 0) return null;
      const size = buf.toString("latin1", next, eol);
      if (!/^[0-9a-f]+$/i.test(size)) return `chunk size ${JSON.stringify(size)}`;
      const n = Number.parseInt(size, 16);
      next = eol + 2;
      if (n === 0) break;
      if (buf.length < next + n + 2) return null;
      parts.push(buf.subarray(next, next + n));
      if (buf.toString("latin1", next + n, next + n + 2) !== "\r\n") return "chunk without its CRLF";
      next += n + 2;
    }
    // Trailer lines, then the blank line.
    for (;;) {
      const eol = buf.indexOf("\r\n", next);
      if (eol < 0) return null;
      const line = buf.toString("latin1", next, eol);
      next = eol + 2;
      if (line === "") break;
      if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:/.test(line)) return `bad trailer ${JSON.stringify(line)}`;
    }
    body = Buffer.concat(parts);
  }
  return { request: { path: requestLine[2] as string, head, body }, next };
}

/**
 * A raw upstream that records every byte per connection, parses it strictly as it comes and answers
 * each whole request `200` naming the path it saw (`x-path`). A malformed or ambiguous request is a
 * violation: the connection is recorded and closed.
 */
async function strictUpstream(): Promise<{
  port: number;
  connections: UpstreamConnection[];
  order: string[];
}> {
  const connections: UpstreamConnection[] = [];
  const order: string[] = [];
  const server = net.createServer((socket) => {
    const cx: UpstreamConnection = {
      bytes: Buffer.alloc(0),
      requests: [],
      violation: "",
      consumed: 0,
      closed: false,
    };
    connections.push(cx);
    let at = 0;
    socket.on("error", ignoreErrorHandledOnClose);
    socket.on("close", () => {
      cx.closed = true;
    });
    socket.on("data", (d: Buffer) => {
      cx.bytes = Buffer.concat([cx.bytes, d]);
      for (;;) {
        if (cx.violation !== "" || at >= cx.bytes.length) return;
        const parsed = strictRequest(cx.bytes, at);
        if (parsed === null) return;
        if (typeof parsed === "string") {
          cx.violation = parsed;
          socket.destroy();
          return;
        }
        at = parsed.next;
        cx.consumed = at;
        cx.requests.push(parsed.request);
        order.push(parsed.request.path);
        socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-path: ${parsed.request.path}\r\n\r\nok`);
      }
    });
  });
  const { port } = await proxies.serve(server);
  return { port, connections, order };
}

/** Connects and writes `bytes`; what comes back accumulates in `text` until the test destroys the socket. */
async function send(
  port: number,
  bytes: string,
): Promise<{ socket: net.Socket; text: string; closed: boolean }> {
  const socket = net.connect(port, "127.0.0.1");
  const c = { socket, text: "", closed: false };
  socket.on("data", (d: Buffer) => {
    c.text += d.toString("latin1");
  });
  socket.on("error", ignoreErrorHandledOnClose);
  socket.on("close", () => {
    c.closed = true;
  });
  proxies.defer(() => socket.destroy());
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.write(Buffer.from(bytes, "latin1"));
  return c;
}

/** A response the client received: its status and, from the upstream, the path it answered. */
interface ClientResponse {
  status: number;
  path: string | null;
}

/** Splits what the client received into whole responses (content-length or chunked bodies). */
function responses(text: string): ClientResponse[] {
  const out: ClientResponse[] = [];
  let at = 0;
  while (at < text.length) {
    const end = text.indexOf("\r\n\r\n", at);
    if (end < 0) break;
    const head = text.slice(at, end);
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
    const path = /\r\nx-path: ([^\r]*)/i.exec(head)?.[1] ?? null;
    let next = end + 4;
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (length !== null) next += Number(length[1]);
    else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      const last = text.indexOf("\r\n0\r\n\r\n", next - 2);
      if (last < 0) break;
      next = last + 7;
    }
    if (next > text.length) break;
    out.push({ status, path });
    at = next;
  }
  return out;
}

describe("request smuggling through the proxy: nothing ambiguous reaches the upstream", () => {
  const list = attacks();

  it("the corpus covers every family", () => {
    const families = new Set(list.map((a) => a.family));
    expect([...families].sort()).toEqual(
      ["CL", "CL.TE", "HTTP/1.0", "TE.CL", "TE.TE", "chunk", "line", "pipeline", "upgrade"].sort(),
    );
    expect(new Set(list.map((a) => a.id)).size).toBe(list.length);
  });

  it("the strict upstream parser itself flags what would be ambiguous (so the checks below can fail)", () => {
    const parse = (text: string) => strictRequest(Buffer.from(text, "latin1"), 0);
    expect(parse("POST / HTTP/1.1\r\ncontent-length: 1\r\ntransfer-encoding: chunked\r\n\r\n")).toBe(
      "both content-length and transfer-encoding",
    );
    expect(parse("POST / HTTP/1.1\r\ncontent-length: 1\r\ncontent-length: 1\r\n\r\nx")).toBe(
      "more than one content-length",
    );
    expect(parse("POST / HTTP/1.1\r\ntransfer-encoding: gzip, chunked\r\n\r\n")).toMatch(
      /^transfer-encoding/,
    );
    expect(parse("POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n4;x\r\nabcd\r\n0\r\n\r\n")).toMatch(
      /^chunk size/,
    );
    expect(parse("GET / HTTP/1.1\r\nx: a\nb\r\n\r\n")).toMatch(/^bad header line/);
    expect(parse("GET / HTTP/1.0\r\n\r\n")).toMatch(/^bad request line/);
    expect(parse("POST /p HTTP/1.1\r\ncontent-length: 2\r\n\r\nabGET")).toMatchObject({ next: 41 });
  });

  it.each(list.map((a): [string, Attack] => [a.id, a]))("%s", async (_id, attack) => {
    const up = await strictUpstream();
    const proxy = await proxies.proxy(CATCH_ALL, { backend: up.port }, { hcmExtra: attack.hcmExtra ?? "" });
    const client = await send(proxy.port, attack.bytes);
    // The expected answers (or the close), then time for whatever else the proxy would send upstream.
    // (If they never come, the assertions below show what did.)
    await poll(
      () => client.closed || responses(client.text).length >= attack.expect.statuses.length,
      (done) => done,
      { withinMs: 3000, intervalMs: 10 },
    );
    await sleep(100);
    client.socket.destroy();
    const got = responses(client.text);
    const context = JSON.stringify({
      client: client.text.slice(0, 600),
      upstream: up.connections.map((c) => c.bytes.toString("latin1").slice(0, 600)),
    });

    for (const cx of up.connections) {
      expect(cx.violation, `ambiguous or malformed bytes upstream: ${context}`).toBe("");
      // A request left half-sent must have been given up with its connection (never completed later).
      if (!cx.closed)
        expect(cx.consumed, `a partial request waits upstream: ${context}`).toBe(cx.bytes.length);
    }
    // Every upstream request answered one client response, in order; none the client did not get.
    expect(
      got.filter((r) => r.path !== null).map((r) => r.path),
      `upstream requests vs the responses relayed: ${context}`,
    ).toEqual(up.order);
    expect({ statuses: got.map((r) => r.status), upstream: up.order }, context).toEqual(attack.expect);
    expect(proxy.stat("server.envoy_bug_failures")).toBe(0);
  });
});
