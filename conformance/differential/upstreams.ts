/**
 * The upstreams both proxies talk to, shared by Envoy and our proxy so that what differs is the proxy:
 * - the recording upstream: records every request exactly as received (HTTP/1.1 bytes; h2c headers in
 *   arrival order) and answers each with the case's canned answer (bytes, a reset, a close, silence);
 * - the echo service (in-process `startEcho`) behind a forwarder that records what reaches it;
 * - a closed port (connect refused) and a blackhole (a listener whose accept queue is full, so a
 *   connect hangs until the proxy's connect_timeout).
 * Between cases every upstream connection is cut, so each case starts with empty connection pools on
 * both proxies and connection counters move the same way for both.
 */
import { type ChildProcess, spawn } from "node:child_process";
import http2 from "node:http2";
import net, { type Server, type Socket } from "node:net";
import { type EchoServer, startEcho } from "../../echo/server.js";
import { sniff } from "../../lib/h2c_sniff.js";
import { freePort } from "../../lib/net.js";
import { stopChild } from "../../lib/process.js";
import type { PortToken } from "./config.js";
import { headerObject, pairs } from "./fields.js";
import { type Head, RequestSplitter } from "./http1.js";
import type { Answer, UpstreamRequest } from "./types.js";

/** The recording upstream's answer when a case gives none. */
export const DEFAULT_ANSWER: Answer = {
  raw: "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok",
};

/** The record of an HTTP/1.1 request to `upstream` as its head arrives (the body, trailers follow). */
export function h1Request(upstream: UpstreamRequest["upstream"], head: Head): UpstreamRequest {
  return {
    upstream,
    protocol: "HTTP/1.1",
    line: head.line,
    headers: head.headers,
    body: "",
    trailers: [],
    complete: false,
  };
}

/** Destroys a socket on its 'error' (the peer reset it): the case's record already holds what came. */
function destroyOnError(this: Socket): void {
  this.destroy();
}

/** A TCP reset, unless the case already ended and cut the connection. */
function resetIfOpen(socket: Socket): void {
  if (!socket.destroyed) socket.resetAndDestroy();
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** The recording upstream (HTTP/1.1 and h2c prior knowledge on one port). */
class Recorder {
  private answers: Answer[] = [DEFAULT_ANSWER];
  private answered = 0;
  log: UpstreamRequest[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly h2 = http2.createServer();
  readonly server: Server = net.createServer((socket) => this.accept(socket));

  constructor() {
    this.h2.on("session", (session) => {
      this.sessions.add(session);
      session.on("error", destroyOnErrorSession);
      session.on("close", () => this.sessions.delete(session));
    });
    this.h2.on("stream", ((stream: http2.ServerHttp2Stream, _h: unknown, _f: unknown, raw: string[]) =>
      this.stream(stream, raw)) as (stream: http2.ServerHttp2Stream) => void);
  }

  /** Starts a case: forget the log, answer with `answers` from the first request on. */
  begin(answers: Answer[] | undefined): void {
    this.answers = answers !== undefined && answers.length > 0 ? answers : [DEFAULT_ANSWER];
    this.answered = 0;
    this.log = [];
  }

  /** Ends a case: every connection is cut; returns what was received. */
  end(): UpstreamRequest[] {
    for (const s of this.sessions) s.destroy();
    for (const s of this.sockets) s.destroy();
    return this.log;
  }

  private next(): Answer {
    const answer = this.answers[Math.min(this.answered, this.answers.length - 1)] ?? DEFAULT_ANSWER;
    this.answered++;
    return answer;
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("error", destroyOnError);
    socket.on("close", () => this.sockets.delete(socket));
    sniff(socket, 0, (protocol, peeked) => {
      socket.unshift(peeked);
      if (protocol === "http2") {
        this.h2.emit("connection", socket);
        return;
      }
      const splitter = new RequestSplitter<UpstreamRequest>(
        (head) => {
          const r = h1Request("raw", head);
          this.log.push(r);
          return r;
        },
        () => this.answerH1(socket, this.next()),
      );
      socket.on("data", (c: Buffer) => splitter.push(c));
      socket.resume();
    });
  }

  private answerH1(socket: Socket, answer: Answer): void {
    if ("raw" in answer) {
      socket.write(answer.raw, "latin1");
      if (answer.after === "close") socket.end();
      else if (answer.after === "reset") setTimeout(() => resetIfOpen(socket), 50);
    } else if ("reset" in answer) socket.resetAndDestroy();
    else if ("close" in answer) socket.end();
    else if ("h2" in answer) socket.end("HTTP/1.1 500 Case Error\r\ncontent-length: 0\r\n\r\n");
  }

  private stream(stream: http2.ServerHttp2Stream, rawHeaders: string[]): void {
    const fields = pairs(rawHeaders);
    const get = (n: string) => fields.find(([k]) => k === n)?.[1] ?? "";
    const record: UpstreamRequest = {
      upstream: "raw",
      protocol: "HTTP/2",
      line: `${get(":method")} ${get(":path")}`,
      headers: fields,
      body: "",
      trailers: [],
      complete: false,
    };
    this.log.push(record);
    stream.on("error", destroyOnErrorStream);
    stream.on("data", (c: Buffer) => {
      record.body += c.toString("latin1");
    });
    stream.on("trailers", ((_t: unknown, _f: unknown, raw: string[]) => {
      record.trailers = pairs(raw);
    }) as () => void);
    stream.on("end", () => {
      record.complete = true;
      const answer = this.next();
      if ("h2" in answer) {
        const { status, headers = [], body = "", trailers } = answer.h2;
        stream.respond(
          { ":status": status, ...headerObject(headers) },
          { waitForTrailers: trailers !== undefined },
        );
        if (trailers !== undefined)
          stream.on("wantTrailers", () => stream.sendTrailers(headerObject(trailers)));
        stream.end(body);
      } else if ("reset" in answer) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      else if ("close" in answer) stream.session?.destroy();
      else if ("raw" in answer) {
        stream.respond({ ":status": 500 });
        stream.end("case error: an HTTP/1.1 answer to an h2 request");
      }
    });
  }
}

/** An h2 session's 'error' (the proxy went away): its 'close' follows; the record holds what came. */
function destroyOnErrorSession(this: http2.ServerHttp2Session): void {
  this.destroy();
}

function destroyOnErrorStream(this: http2.ServerHttp2Stream): void {
  this.destroy();
}

/** A TCP forwarder to the echo service that records the HTTP/1.1 requests passing through. */
class EchoTap {
  log: UpstreamRequest[] = [];
  private readonly sockets = new Set<Socket>();
  readonly server: Server;

  constructor(echoPort: number) {
    this.server = net.createServer((client) => {
      const echo = net.connect(echoPort, "127.0.0.1");
      for (const s of [client, echo]) {
        this.sockets.add(s);
        s.on("error", destroyOnError);
        s.on("close", () => {
          this.sockets.delete(s);
          client.destroy();
          echo.destroy();
        });
      }
      let splitter: RequestSplitter<UpstreamRequest> | null = null;
      let first = true;
      client.on("data", (c: Buffer) => {
        // h2c to the echo is forwarded but not recorded (HPACK state makes its bytes opaque).
        if (first && c.subarray(0, 3).toString("latin1") !== "PRI") {
          splitter = new RequestSplitter<UpstreamRequest>(
            (head) => {
              const r = h1Request("echo", head);
              this.log.push(r);
              return r;
            },
            () => undefined,
          );
        }
        first = false;
        splitter?.push(c);
      });
      client.pipe(echo);
      echo.pipe(client);
    });
  }

  begin(): void {
    this.log = [];
  }

  end(): UpstreamRequest[] {
    for (const s of this.sockets) s.destroy();
    return this.log;
  }
}

/** A listener that never accepts (its process blocks) and whose accept queue we fill: SYNs are dropped. */
async function blackhole(): Promise<{ port: number; child: ChildProcess; fillers: Socket[] }> {
  const script =
    "const s=require('net').createServer();" +
    "s.listen({port:0,host:'127.0.0.1',backlog:1},()=>{process.stdout.write(s.address().port+'\\n');" +
    "Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0)})";
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`the blackhole listener exited (${code})`)));
    child.stdout?.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  // backlog 1 holds two completed connections; the third and every later SYN is dropped.
  const fillers: Socket[] = [];
  for (let i = 0; i < 3; i++) {
    const s = net.connect(port, "127.0.0.1");
    s.on("error", destroyOnError);
    fillers.push(s);
  }
  await new Promise((r) => setTimeout(r, 200));
  return { port, child, fillers };
}

/** Every upstream of the differential run, started once and shared by all cases. */
export class Upstreams {
  private constructor(
    private readonly recorder: Recorder,
    private readonly tap: EchoTap,
    private readonly echo: EchoServer,
    private readonly hole: { child: ChildProcess; fillers: Socket[] },
    readonly ports: Record<Exclude<PortToken, "@listener" | "@admin">, number>,
  ) {}

  static async start(): Promise<Upstreams> {
    const recorder = new Recorder();
    const echo = await startEcho({
      port: 0,
      host: "127.0.0.1",
      instance: "echo",
      accessLog: false,
      defaultMetrics: false,
    });
    const tap = new EchoTap(echo.port);
    const hole = await blackhole();
    const ports = {
      "@raw": await listen(recorder.server),
      "@echo": await listen(tap.server),
      "@refused": await freePort(),
      "@blackhole": hole.port,
    };
    return new Upstreams(recorder, tap, echo, hole, ports);
  }

  /** Starts a case: the recording upstream will answer with `answers`. */
  begin(answers: Answer[] | undefined): void {
    this.recorder.begin(answers);
    this.tap.begin();
  }

  /** Ends a case: cuts every upstream connection and returns the requests received, in arrival order. */
  end(): UpstreamRequest[] {
    return [...this.recorder.end(), ...this.tap.end()];
  }

  async stop(): Promise<void> {
    this.end();
    for (const s of this.hole.fillers) s.destroy();
    await Promise.all([
      close(this.recorder.server),
      close(this.tap.server),
      this.echo.close(),
      stopChild(this.hole.child, 1000),
    ]);
  }
}
