/** WebSocket client helpers over the `ws` library; every socket is closed or terminated by its user. */
import WebSocket from "ws";
import { WAITS } from "./timeouts.js";
import type { Endpoint } from "./types.js";

export interface OpenSocket {
  ws: WebSocket;
  /** `x-echo-instance` of the handshake response: which echo the tunnel reached. */
  instance: string;
  /** Resolves with [code, reason] when the socket closes. */
  closed: Promise<[number, string]>;
}

/** How much of a refused handshake's body goes into the error. */
const HANDSHAKE_BODY_BYTES = 300;

export function openSocket(ep: Endpoint, path = "/ws", timeoutMs = WAITS.wsHandshake): Promise<OpenSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${ep.host}:${ep.port}${path}`, {
      handshakeTimeout: timeoutMs,
      maxPayload: 64 * 1024 * 1024,
      perMessageDeflate: false,
    });
    let instance = "";
    const closed = new Promise<[number, string]>((res) => {
      ws.on("close", (code, reason) => res([code, reason.toString()]));
    });
    ws.on("upgrade", (res) => {
      const v = res.headers["x-echo-instance"];
      instance = Array.isArray(v) ? v.join(",") : (v ?? "");
    });
    ws.on("unexpected-response", (_req, res) => {
      // The answer's first bytes say who refused and why (e.g. a proxy's 502 page).
      const body: Buffer[] = [];
      let size = 0;
      const fail = () => {
        clearTimeout(timer);
        ws.terminate();
        const text = Buffer.concat(body).subarray(0, HANDSHAKE_BODY_BYTES).toString("utf8").trim();
        reject(
          new Error(
            `WebSocket handshake to ${path} answered ${res.statusCode} instead of 101${text ? `: ${JSON.stringify(text)}` : ""}`,
          ),
        );
      };
      const timer = setTimeout(fail, WAITS.wsClose);
      res.on("data", (chunk: Buffer) => {
        if (size < HANDSHAKE_BODY_BYTES) body.push(chunk);
        size += chunk.length;
      });
      res.once("end", fail);
      res.once("error", fail);
    });
    ws.on("error", reject);
    ws.on("open", () => {
      ws.off("error", reject);
      // Later errors end in `close`, which `closed` reports.
      ws.on("error", () => undefined);
      resolve({ ws, instance, closed });
    });
  });
}

export interface Message {
  data: Buffer;
  binary: boolean;
}

/** Collect the next `n` messages (rejects if the socket closes first or after `timeoutMs`). */
export function nextMessages(ws: WebSocket, n: number, timeoutMs = WAITS.wsMessages): Promise<Message[]> {
  return new Promise((resolve, reject) => {
    const got: Message[] = [];
    const done = (err?: Error) => {
      clearTimeout(timer);
      ws.off("message", onMessage);
      ws.off("close", onClose);
      if (err) reject(err);
      else resolve(got);
    };
    const onMessage = (data: WebSocket.RawData, binary: boolean) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      got.push({ data: buf, binary });
      if (got.length === n) done();
    };
    const onClose = (code: number) =>
      done(new Error(`socket closed (${code}) after ${got.length}/${n} messages`));
    const timer = setTimeout(
      () => done(new Error(`only ${got.length}/${n} messages within ${timeoutMs} ms`)),
      timeoutMs,
    );
    ws.on("message", onMessage);
    ws.on("close", onClose);
  });
}

/** Close politely and wait; terminate if the peer does not answer the close within `ms`. */
export async function closeSocket(
  s: OpenSocket,
  code = 1000,
  reason = "",
  ms = WAITS.wsClose,
): Promise<[number, string]> {
  if (s.ws.readyState === WebSocket.OPEN) s.ws.close(code, reason);
  const timer = setTimeout(() => s.ws.terminate(), ms);
  try {
    return await s.closed;
  } finally {
    clearTimeout(timer);
  }
}
