/**
 * A small authoritative DNS server on loopback (UDP and TCP on one port) whose records a test changes
 * at runtime: the process driver's stand-in for Docker's DNS, so backends join and leave a name.
 *
 * Only what a proxy's resolver asks: one question per query, A and AAAA records (RFC 1035 / 3596).
 * A name with records of another family answers NOERROR with no answer (NODATA, so `auto` falls back
 * to IPv4); a name with no record at all answers NXDOMAIN (as Docker's DNS once the last container
 * with the alias stops); any other query type answers NODATA; other opcodes NOTIMP; a malformed query
 * FORMERR (or nothing, when not even the header is there). Written here rather than taken from an
 * npm DNS library: answering A/AAAA takes ~150 lines and needs no general codec.
 */
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { createServer, isIP, type Server, type Socket } from "node:net";
import { ignoreErrorHandledOnClose } from "./errors.js";

export interface DnsRecord {
  address: string;
  /** Seconds, as the answer carries it. */
  ttl: number;
}

const TYPE_A = 1;
const TYPE_AAAA = 28;
const CLASS_IN = 1;
const RCODE = { noError: 0, formErr: 1, nxDomain: 3, notImp: 4 } as const;

export class DnsServer {
  /** Records per lowercased name, in the order they were added. */
  private readonly records = new Map<string, DnsRecord[]>();
  /** Queries answered so far (both transports). */
  queries = 0;
  /**
   * UDP replies lost (a send or the socket failed: the client's port is gone, ICMP unreachable), as
   * over any network: the client's resolver retries or times out.
   */
  lost = 0;
  private readonly onUdpError = (err: Error | null) => {
    if (err) this.lost++;
  };

  private constructor(
    readonly host: string,
    readonly port: number,
    private readonly udp: UdpSocket,
    private readonly tcp: Server,
    private readonly conns: Set<Socket>,
  ) {}

  /** Listen on `host` (default 127.0.0.1), UDP and TCP on the same free port. */
  static async start(host = "127.0.0.1"): Promise<DnsServer> {
    for (let attempt = 0; ; attempt++) {
      const udp = createSocket(isIP(host) === 6 ? "udp6" : "udp4");
      await new Promise<void>((resolve, reject) => {
        udp.once("error", reject);
        udp.bind(0, host, () => {
          udp.off("error", reject);
          resolve();
        });
      });
      const port = udp.address().port;
      const conns = new Set<Socket>();
      const tcp = createServer();
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once("error", reject);
          tcp.listen(port, host, () => {
            tcp.off("error", reject);
            resolve();
          });
        });
      } catch (err) {
        udp.close();
        // The UDP port's TCP twin is taken: try another port.
        if ((err as NodeJS.ErrnoException).code === "EADDRINUSE" && attempt < 10) continue;
        throw err;
      }
      const server = new DnsServer(host, port, udp, tcp, conns);
      server.serve();
      return server;
    }
  }

  /** `host:port`, as `dns.Resolver#setServers` and c-ares take it (IPv6 in brackets). */
  get address(): string {
    return isIP(this.host) === 6 ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  /** Replace `name`'s records (an empty list removes the name: NXDOMAIN). */
  set(name: string, addresses: readonly string[], ttl = 1): void {
    const key = name.toLowerCase();
    if (addresses.length === 0) this.records.delete(key);
    else
      this.records.set(
        key,
        addresses.map((address) => ({ address: check(address), ttl })),
      );
  }

  /** Add one address to `name` (no-op when it is there already). */
  add(name: string, address: string, ttl = 1): void {
    const key = name.toLowerCase();
    const list = this.records.get(key) ?? [];
    if (!list.some((r) => r.address === address)) list.push({ address: check(address), ttl });
    this.records.set(key, list);
  }

  /** Remove one address from `name`; the name goes when its last address does. */
  remove(name: string, address: string): void {
    const key = name.toLowerCase();
    const list = (this.records.get(key) ?? []).filter((r) => r.address !== address);
    this.set(key, []);
    if (list.length > 0) this.records.set(key, list);
  }

  lookup(name: string): readonly DnsRecord[] {
    return this.records.get(name.toLowerCase()) ?? [];
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.destroy();
    await Promise.all([
      new Promise<void>((resolve) => this.udp.close(() => resolve())),
      new Promise<void>((resolve) => this.tcp.close(() => resolve())),
    ]);
  }

  private serve(): void {
    this.udp.on("error", this.onUdpError);
    this.udp.on("message", (msg, from) => {
      const reply = this.answer(msg);
      if (reply !== null) this.udp.send(reply, from.port, from.address, this.onUdpError);
    });
    // TCP (RFC 7766): each message prefixed by its 2-byte length; several per connection.
    this.tcp.on("connection", (socket) => {
      this.conns.add(socket);
      socket.on("close", () => this.conns.delete(socket));
      socket.on("error", ignoreErrorHandledOnClose);
      let buffered = Buffer.alloc(0);
      socket.on("data", (chunk) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2) {
          const length = buffered.readUInt16BE(0);
          if (buffered.length < 2 + length) break;
          const reply = this.answer(buffered.subarray(2, 2 + length));
          buffered = buffered.subarray(2 + length);
          if (reply === null) {
            socket.destroy();
            return;
          }
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(reply.length);
          socket.write(Buffer.concat([prefix, reply]));
        }
      });
    });
  }

  /** The response to one query message, or null when it is not even a DNS header. */
  private answer(query: Buffer): Buffer | null {
    if (query.length < 12) return null;
    this.queries++;
    const flags = query.readUInt16BE(2);
    if (flags & 0x8000) return null; // a response, not a query
    const opcode = (flags >> 11) & 0xf;
    const question = opcode === 0 && query.readUInt16BE(4) === 1 ? readQuestion(query) : null;
    const header = (rcode: number, answers: number) => {
      const h = Buffer.alloc(12);
      query.copy(h, 0, 0, 2); // id
      // QR, the query's opcode and RD; AA (we own these names); RA; the rcode.
      h.writeUInt16BE(0x8000 | (opcode << 11) | 0x0400 | (flags & 0x0100) | 0x0080 | rcode, 2);
      h.writeUInt16BE(question === null ? 0 : 1, 4);
      h.writeUInt16BE(answers, 6);
      return h;
    };
    if (opcode !== 0) return header(RCODE.notImp, 0);
    if (question === null) return header(RCODE.formErr, 0);
    const all = this.records.get(question.name.toLowerCase());
    const section = query.subarray(12, question.end);
    if (all === undefined) return Buffer.concat([header(RCODE.nxDomain, 0), section]);
    const family = question.type === TYPE_A ? 4 : question.type === TYPE_AAAA ? 6 : 0;
    const matching = question.class === CLASS_IN ? all.filter((r) => isIP(r.address) === family) : [];
    return Buffer.concat([
      header(RCODE.noError, matching.length),
      section,
      ...matching.map((r) => resourceRecord(r, question.type)),
    ]);
  }
}

interface Question {
  name: string;
  type: number;
  class: number;
  /** Offset just past the question. */
  end: number;
}

/** The one question after the header: labels (no compression in a query), type, class. */
function readQuestion(msg: Buffer): Question | null {
  const labels: string[] = [];
  let at = 12;
  while (at < msg.length) {
    const length = msg.readUInt8(at);
    if (length === 0) break;
    if (length > 63 || at + 1 + length > msg.length) return null;
    labels.push(msg.toString("latin1", at + 1, at + 1 + length));
    at += 1 + length;
  }
  if (at + 5 > msg.length) return null;
  return {
    name: labels.join("."),
    type: msg.readUInt16BE(at + 1),
    class: msg.readUInt16BE(at + 3),
    end: at + 5,
  };
}

/** One answer: the name as a pointer to the question (offset 12), then type, class, TTL, address. */
function resourceRecord(r: DnsRecord, type: number): Buffer {
  const data = type === TYPE_A ? Buffer.from(r.address.split(".").map(Number)) : ipv6Bytes(r.address);
  const rr = Buffer.alloc(12 + data.length);
  rr.writeUInt16BE(0xc00c, 0);
  rr.writeUInt16BE(type, 2);
  rr.writeUInt16BE(CLASS_IN, 4);
  rr.writeUInt32BE(r.ttl, 6);
  rr.writeUInt16BE(data.length, 10);
  data.copy(rr, 12);
  return rr;
}

function ipv6Bytes(address: string): Buffer {
  const [head = "", tail = ""] = address.split("::");
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const h = groups(head);
  const t = groups(tail);
  const all = address.includes("::") ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
  const out = Buffer.alloc(16);
  for (const [i, g] of all.entries()) out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  return out;
}

function check(address: string): string {
  if (isIP(address) === 0) throw new Error(`DNS record ${JSON.stringify(address)} is not an IP address`);
  return address;
}
