/** Small clients for the e2e tests: a GET that reports truncation, and raw-socket exchanges. */
import http from "node:http";
import net from "node:net";

export interface Fetched {
  status: number;
  bytes: number;
  /** The response ended normally (false: the connection was reset or closed mid-body). */
  complete: boolean;
  /** Headers declared `content-length`, if any. */
  contentLength: number | null;
  body: Buffer;
}

export function fetch(port: number, path: string, headers: Record<string, string> = {}): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path, headers, agent: false, timeout: 20_000 }, (res) => {
      const chunks: Buffer[] = [];
      let ended = false;
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        ended = true;
      });
      res.on("error", () => {});
      res.on("close", () => {
        const body = Buffer.concat(chunks);
        const cl = res.headers["content-length"];
        resolve({
          status: res.statusCode ?? 0,
          bytes: body.length,
          complete: ended && (cl === undefined || Number(cl) === body.length),
          contentLength: cl === undefined ? null : Number(cl),
          body,
        });
      });
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

/** Connects, writes `data`, collects what comes back until the peer closes or `ms` pass. */
export function rawExchange(
  port: number,
  data: Buffer | string,
  opts: { ms?: number; until?: (received: string) => boolean; end?: boolean } = {},
): Promise<{ received: string; closedByPeer: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    let received = "";
    let closedByPeer = false;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ received, closedByPeer });
    };
    const timer = setTimeout(finish, opts.ms ?? 3000);
    socket.on("connect", () => {
      socket.write(data);
      if (opts.end) socket.end();
    });
    socket.on("data", (c: Buffer) => {
      received += c.toString("latin1");
      if (opts.until?.(received)) finish();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      closedByPeer = !done;
      finish();
    });
  });
}

/** One GET on a fresh socket, torn down the moment `content-length` body bytes are in (curl's way). */
export function getAndHangUp(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    let buf = Buffer.alloc(0);
    socket.on("connect", () => socket.write(`GET ${path} HTTP/1.1\r\nhost: e2e\r\n\r\n`));
    socket.on("data", (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const headEnd = buf.indexOf("\r\n\r\n");
      if (headEnd === -1) return;
      const head = buf.subarray(0, headEnd).toString("latin1");
      const cl = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (cl === null) {
        socket.destroy();
        reject(new Error(`no content-length in ${head}`));
        return;
      }
      if (buf.length - headEnd - 4 >= Number(cl[1])) {
        socket.destroy();
        resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1]));
      }
    });
    socket.on("error", reject);
  });
}
