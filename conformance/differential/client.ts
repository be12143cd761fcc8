/**
 * The differential client: sends a case's exchange to one proxy and records the response exactly as
 * it came (status, every 1xx, header names as sent and in order, the decoded body, trailers, whether
 * the proxy closed the connection). HTTP/1.1 goes out as the case's raw bytes, from the case's client
 * address; h2c through node:http2 on a socket bound to that address.
 */
import http2 from "node:http2";
import net, { type Socket } from "node:net";
import { sleep } from "../../lib/wait.js";
import { headerObject, pairs } from "./fields.js";
import { chunkedEnd, decodeChunked, parseHead, values } from "./http1.js";
import {
  CLIENT_ADDRESS,
  type Exchange,
  type Field,
  type H1Exchange,
  type H2Exchange,
  type Response,
} from "./types.js";

export interface ClientResult {
  /** Every final response, in order (more than one for two requests on one connection). */
  responses: Response[];
  /** Why the exchange ended early ("" when every expected response came whole). */
  error: string;
  /** The proxy closed the connection after the responses. */
  closed: boolean;
  /** After a 101: the WebSocket message that came back ("" when none). */
  websocket: string;
}

/** How long an exchange may take before it counts as "no response" (the slowest case waits ~1 s). */
const EXCHANGE_LIMIT_MS = 5000;
/** After the last response, how long to watch for the proxy closing the connection. */
const CLOSE_GRACE_MS = 100;

export function send(port: number, exchange: Exchange): Promise<ClientResult> {
  return exchange.kind === "h1" ? sendH1(port, exchange) : sendH2(port, exchange);
}

/** A masked WebSocket text frame (client to server); the mask is fixed, it needs no secrecy here. */
export function wsFrame(text: string): Buffer {
  const payload = Buffer.from(text, "utf8");
  if (payload.length > 125) throw new Error("wsFrame: short messages only");
  const mask = [0x11, 0x22, 0x33, 0x44];
  const out = Buffer.alloc(6 + payload.length);
  out[0] = 0x81;
  out[1] = 0x80 | payload.length;
  mask.forEach((m, i) => {
    out[2 + i] = m;
  });
  payload.forEach((b, i) => {
    out[6 + i] = b ^ (mask[i % 4] ?? 0);
  });
  return out;
}

/** The first unmasked frame in `bytes` (server to client): "text:<payload>", "close:<code>", or null. */
export function readFrame(bytes: string): string | null {
  if (bytes.length < 2) return null;
  const opcode = bytes.charCodeAt(0) & 0x0f;
  let length = bytes.charCodeAt(1) & 0x7f;
  let pos = 2;
  if (length === 126) {
    if (bytes.length < 4) return null;
    length = (bytes.charCodeAt(2) << 8) | bytes.charCodeAt(3);
    pos = 4;
  }
  if (bytes.length < pos + length) return null;
  const payload = Buffer.from(bytes.slice(pos, pos + length), "latin1");
  if (opcode === 8) return `close:${payload.length >= 2 ? payload.readUInt16BE(0) : ""}`;
  return `${opcode === 1 ? "text" : `opcode ${opcode}`}:${payload.toString("utf8")}`;
}

interface Parsed {
  response: Response;
  /** Index after the response in the buffer. */
  end: number;
}

/**
 * The next whole response at the start of `text` (1xx responses folded into `interim`), or null when
 * it is not all there. `closed`: the peer has closed, so a body without length ends here.
 */
function parseResponse(text: string, head: boolean, closed: boolean): Parsed | null {
  const interim: number[] = [];
  let pos = 0;
  for (;;) {
    const headEnd = text.indexOf("\r\n\r\n", pos);
    if (headEnd === -1) return null;
    const { line, headers } = parseHead(text.slice(pos, headEnd));
    const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(line)?.[1] ?? 0);
    const bodyStart = headEnd + 4;
    if (status >= 100 && status < 200 && status !== 101) {
      interim.push(status);
      pos = bodyStart;
      continue;
    }
    const base = { status, interim, headers, trailers: [] as Field[] };
    if (head || status === 101 || status === 204 || status === 304) {
      return { response: { ...base, body: "" }, end: bodyStart };
    }
    const rest = text.slice(bodyStart);
    if (values(headers, "transfer-encoding").some((v) => /chunked/i.test(v))) {
      const end = chunkedEnd(rest);
      if (end === -1) return null;
      const { data, trailers } = decodeChunked(rest.slice(0, end));
      return { response: { ...base, body: data, trailers }, end: bodyStart + end };
    }
    const length = values(headers, "content-length")[0];
    if (length !== undefined) {
      const n = Number(length);
      if (rest.length < n) return null;
      return { response: { ...base, body: rest.slice(0, n) }, end: bodyStart + n };
    }
    if (!closed) return null;
    return { response: { ...base, body: rest }, end: text.length };
  }
}

function sendH1(port: number, ex: H1Exchange): Promise<ClientResult> {
  const parts = typeof ex.send === "string" ? [ex.send] : ex.send;
  const expected = ex.responses ?? 1;
  return new Promise((resolve) => {
    const socket: Socket = net.connect({
      port,
      host: "127.0.0.1",
      localAddress: CLIENT_ADDRESS[ex.from ?? "internal"],
    });
    let text = "";
    let consumed = 0;
    const responses: Response[] = [];
    let wsSent = false;
    let websocket = "";
    let peerClosed = false;
    let finished = false;
    let graceTimer: NodeJS.Timeout | undefined;

    const finish = (error: string): void => {
      if (finished) return;
      finished = true;
      clearTimeout(limit);
      clearTimeout(graceTimer);
      socket.destroy();
      resolve({ responses, error, closed: peerClosed, websocket });
    };
    const limit = setTimeout(
      () => finish(`no complete response within ${EXCHANGE_LIMIT_MS} ms (got ${responses.length})`),
      EXCHANGE_LIMIT_MS,
    );
    const done = (): void => {
      if (graceTimer === undefined) graceTimer = setTimeout(() => finish(""), CLOSE_GRACE_MS);
    };
    const progress = (): void => {
      while (responses.length < expected) {
        const parsed = parseResponse(text.slice(consumed), ex.head === true, peerClosed);
        if (parsed === null) break;
        responses.push(parsed.response);
        consumed += parsed.end;
      }
      if (responses.length < expected) {
        if (peerClosed) finish(`connection closed after ${responses.length} of ${expected} responses`);
        return;
      }
      const last = responses[responses.length - 1];
      if (ex.websocket !== undefined && last?.status === 101) {
        if (!wsSent) {
          wsSent = true;
          socket.write(wsFrame(ex.websocket));
        }
        const frame = readFrame(text.slice(consumed));
        if (frame !== null) {
          websocket = frame;
          done();
        } else if (peerClosed) finish("tunnel closed before the WebSocket reply");
        return;
      }
      done();
    };

    socket.setNoDelay(true);
    socket.on("connect", async () => {
      for (const [i, part] of parts.entries()) {
        if (i > 0) await sleep(ex.pauseMs ?? 150);
        if (finished || socket.destroyed) return;
        socket.write(part, "latin1");
      }
    });
    socket.on("data", (c: Buffer) => {
      text += c.toString("latin1");
      progress();
    });
    socket.on("end", () => {
      peerClosed = true;
      progress();
    });
    socket.on("error", (err: NodeJS.ErrnoException) => {
      peerClosed = true;
      if (responses.length < expected) finish(`connection error ${err.code ?? err.message}`);
    });
    socket.on("close", () => {
      peerClosed = true;
      progress();
      if (!finished) finish("");
    });
  });
}

function sendH2(port: number, ex: H2Exchange): Promise<ClientResult> {
  return new Promise((resolve) => {
    const session = http2.connect(`http://127.0.0.1:${port}`, {
      createConnection: () =>
        net.connect({ port, host: "127.0.0.1", localAddress: CLIENT_ADDRESS[ex.from ?? "internal"] }),
    });
    const response: Response = { status: 0, interim: [], headers: [], body: "", trailers: [] };
    let closed = false;
    let finished = false;
    const finish = (error: string): void => {
      if (finished) return;
      finished = true;
      clearTimeout(limit);
      setTimeout(() => {
        session.destroy();
        resolve({ responses: response.status === 0 ? [] : [response], error, closed, websocket: "" });
      }, CLOSE_GRACE_MS);
    };
    const limit = setTimeout(
      () => finish(`no complete response within ${EXCHANGE_LIMIT_MS} ms`),
      EXCHANGE_LIMIT_MS,
    );
    session.on("goaway", () => {
      closed = true;
    });
    session.on("close", () => {
      closed = true;
    });
    session.on("error", (err: NodeJS.ErrnoException) => finish(`session error ${err.code ?? err.message}`));
    const sendsMore = ex.body !== undefined || ex.trailers !== undefined;
    const stream = session.request(headerObject(ex.headers), {
      endStream: !sendsMore,
      waitForTrailers: ex.trailers !== undefined,
    });
    stream.on("response", ((_h: unknown, _f: unknown, raw: string[]) => {
      const fields = pairs(raw);
      const status = Number(fields.find(([n]) => n === ":status")?.[1] ?? 0);
      if (status >= 100 && status < 200) {
        response.interim.push(status);
        return;
      }
      response.status = status;
      response.headers = fields.filter(([n]) => n !== ":status");
    }) as () => void);
    stream.on("headers", (h: http2.IncomingHttpHeaders) => {
      response.interim.push(Number(h[":status"]));
    });
    stream.on("trailers", ((_t: unknown, _f: unknown, raw: string[]) => {
      response.trailers = pairs(raw);
    }) as () => void);
    stream.on("wantTrailers", () => stream.sendTrailers(headerObject(ex.trailers ?? [])));
    stream.on("data", (c: Buffer) => {
      response.body += c.toString("latin1");
    });
    let ended = false;
    stream.on("end", () => {
      ended = true;
    });
    stream.on("error", (err: NodeJS.ErrnoException) => finish(`stream error ${err.code ?? err.message}`));
    stream.on("close", () => finish(ended ? "" : `stream reset (RST_STREAM ${stream.rstCode})`));
    if (sendsMore) stream.end(ex.body ?? "");
  });
}
