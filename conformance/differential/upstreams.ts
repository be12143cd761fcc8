/**
 * The upstreams both proxies talk to, shared by Envoy and our proxy so that what differs is the proxy:
 * - the recording upstream, one per side (so that one proxy's active health checks never reach the
 *   other's record): records every request exactly as received (HTTP/1.1 bytes; h2c headers in
 *   arrival order) and answers each with the case's canned answer (bytes, a reset, a close, silence);
 *   `GET /healthz` is an active health check, answered from the case's health statuses instead;
 * - the echo service (in-process `startEcho`) behind a forwarder that records what reaches it;
 * - a closed port (connect refused) and a blackhole (a listener whose accept queue is full, so a
 *   connect hangs until the proxy's connect_timeout).
 * Between cases every upstream connection is cut (but health-check connections, which the proxies keep
 * open between checks), so each case starts with empty connection pools on both proxies and
 * connection counters move the same way for both.
 */
import { type ChildProcess, spawn } from "node:child_process";
import http2 from "node:http2";
import net, { type Server, type Socket } from "node:net";
import { type EchoServer, startEcho } from "../../echo/server.js";
import { sniff } from "../../lib/h2c_sniff.js";
import { freePort } from "../../lib/net.js";
import { stopChild } from "../../lib/process.js";
import { HEALTH_PATH, type PortToken } from "./config.js";
import { headerObject, pairs } from "./fields.js";
import { type Head, RequestSplitter } from "./http1.js";
import type { SideName } from "./proxies.js";
import type { Answer, Case, UpstreamRequest } from "./types.js";

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

/** A health check's answer: the status and nothing else. */
function healthAnswer(status: number): string {
  return `HTTP/1.1 ${status} HC\r\ncontent-length: 0\r\n\r\n`;
}

/** The recording upstream (HTTP/1.1 and h2c prior knowledge on one port). */
class Recorder {
  private answers: Answer[] = [DEFAULT_ANSWER];
  private answered = 0;
  log: UpstreamRequest[] = [];
  private health: number[] = [200];
  private checked = 0;
  /** The first health check of the case. */
  healthcheck: UpstreamRequest | undefined;
  /** Connections that carried a health check: kept open between cases, as the proxies keep them. */
  private readonly checkers = new WeakSet<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
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

  /** Starts a case: forget the log, answer with `answers` (health checks: `health`) from the first request on. */
  begin(answers: Answer[] | undefined, health: number[] | undefined): void {
    this.answers = answers !== undefined && answers.length > 0 ? answers : [DEFAULT_ANSWER];
    this.answered = 0;
    this.health = health !== undefined && health.length > 0 ? health : [200];
    this.checked = 0;
    this.healthcheck = undefined;
    this.log = [];
  }

  /**
   * Ends a case: every connection but the health checkers' is cut; returns what was received. Health
   * checks keep their answer until the next case (the state the case left stays for its reads).
   */
  end(): UpstreamRequest[] {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sessions) s.destroy();
    for (const s of this.sockets) if (!this.checkers.has(s)) s.destroy();
    const log = this.log;
    this.log = [];
    return log;
  }

  /** Before a config's proxies start: health checks pass. */
  idle(): void {
    this.health = [200];
    this.checked = 0;
  }

  /** Stops: every connection is cut. */
  close(): Promise<void> {
    this.end();
    for (const s of this.sockets) s.destroy();
    return close(this.server);
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
          if (head.line.startsWith(`GET ${HEALTH_PATH} `)) {
            this.checkers.add(socket);
            this.healthcheck ??= r;
          } else this.log.push(r);
          return r;
        },
        (r) => {
          if (r.line.startsWith(`GET ${HEALTH_PATH} `)) {
            const status = this.health[Math.min(this.checked, this.health.length - 1)] ?? 200;
            this.checked++;
            socket.write(healthAnswer(status), "latin1");
          } else this.answerH1(socket, this.next());
        },
      );
      socket.on("data", (c: Buffer) => splitter.push(c));
      socket.resume();
    });
  }

  private answerH1(socket: Socket, answer: Answer): void {
    if ("raw" in answer && answer.delayMs !== undefined) {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (!socket.destroyed) this.answerH1(socket, { ...answer, delayMs: undefined });
      }, answer.delayMs);
      this.timers.add(timer);
    } else if ("raw" in answer) {
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
      } else if ("reset" in answer)
        stream.close(
          answer.refusedStream === true
            ? http2.constants.NGHTTP2_REFUSED_STREAM
            : http2.constants.NGHTTP2_INTERNAL_ERROR,
        );
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

type UpstreamPorts = Record<Exclude<PortToken, "@listener" | "@admin">, number>;

/** Every upstream of the differential run, started once and shared by all cases. */
export class Upstreams {
  private constructor(
    private readonly recorders: Record<SideName, Recorder>,
    private readonly tap: EchoTap,
    private readonly echo: EchoServer,
    private readonly hole: { child: ChildProcess; fillers: Socket[] },
    private readonly shared: Omit<UpstreamPorts, "@raw">,
    private readonly rawPorts: Record<SideName, number>,
  ) {}

  /** The upstream ports of one side's config: its own recording upstream, the others shared. */
  ports(side: SideName): UpstreamPorts {
    return { ...this.shared, "@raw": this.rawPorts[side] };
  }

  static async start(): Promise<Upstreams> {
    const recorders = { envoy: new Recorder(), echomesh: new Recorder() };
    const echo = await startEcho({
      port: 0,
      host: "127.0.0.1",
      instance: "echo",
      accessLog: false,
      defaultMetrics: false,
    });
    const tap = new EchoTap(echo.port);
    const hole = await blackhole();
    const shared = {
      "@echo": await listen(tap.server),
      "@refused": await freePort(),
      "@blackhole": hole.port,
    };
    const rawPorts = {
      envoy: await listen(recorders.envoy.server),
      echomesh: await listen(recorders.echomesh.server),
    };
    return new Upstreams(recorders, tap, echo, hole, shared, rawPorts);
  }

  /** Before a config's proxies start: health checks pass until its first case. */
  idle(): void {
    this.recorders.envoy.idle();
    this.recorders.echomesh.idle();
  }

  /** Starts `side`'s run of a case: its recording upstream will answer with the case's answers. */
  begin(side: SideName, c: Pick<Case, "upstream" | "healthCheck">): void {
    this.recorders[side].begin(c.upstream, c.healthCheck);
    this.tap.begin();
  }

  /**
   * Ends `side`'s run of a case: cuts its upstream connections and returns the requests received, in
   * arrival order, and the first health check.
   */
  end(side: SideName): { requests: UpstreamRequest[]; healthcheck: UpstreamRequest | undefined } {
    const recorder = this.recorders[side];
    const healthcheck = recorder.healthcheck;
    return { requests: [...recorder.end(), ...this.tap.end()], healthcheck };
  }

  async stop(): Promise<void> {
    this.tap.end();
    for (const s of this.hole.fillers) s.destroy();
    await Promise.all([
      this.recorders.envoy.close(),
      this.recorders.echomesh.close(),
      close(this.tap.server),
      this.echo.close(),
      stopChild(this.hole.child, 1000),
    ]);
  }
}
