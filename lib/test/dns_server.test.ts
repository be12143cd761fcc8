import { promises as dns } from "node:dns";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DnsServer } from "../dns_server.js";

let server: DnsServer;
let resolver: dns.Resolver;

beforeAll(async () => {
  server = await DnsServer.start();
  resolver = new dns.Resolver({ timeout: 1_000, tries: 1 });
  resolver.setServers([server.address]);
});

afterAll(async () => {
  await server.close();
});

const code = (p: Promise<unknown>) =>
  p.then(
    () => "answered",
    (e: NodeJS.ErrnoException) => e.code,
  );

describe("DnsServer", () => {
  test("answers A and AAAA records with their TTL, names case-insensitively", async () => {
    server.set("echo", ["127.9.0.1", "127.9.0.2"], 7);
    server.add("Echo", "::1");
    expect(await resolver.resolve4("ECHO", { ttl: true })).toEqual([
      { address: "127.9.0.1", ttl: 7 },
      { address: "127.9.0.2", ttl: 7 },
    ]);
    expect(await resolver.resolve6("echo")).toEqual(["::1"]);
  });

  test("records change at runtime: add, remove, the last one removed is NXDOMAIN", async () => {
    server.set("svc", ["127.9.0.1"]);
    server.add("svc", "127.9.0.3");
    expect(await resolver.resolve4("svc")).toEqual(["127.9.0.1", "127.9.0.3"]);
    server.remove("svc", "127.9.0.1");
    expect(await resolver.resolve4("svc")).toEqual(["127.9.0.3"]);
    // A name without an address of the family: NODATA, not NXDOMAIN.
    expect(await code(resolver.resolve6("svc"))).toBe("ENODATA");
    server.remove("svc", "127.9.0.3");
    expect(await code(resolver.resolve4("svc"))).toBe("ENOTFOUND");
    expect(await code(resolver.resolve4("unknown.example"))).toBe("ENOTFOUND");
    expect(await code(resolver.resolveMx("echo"))).toBe("ENODATA");
  });

  test("answers over TCP too (length-prefixed)", async () => {
    server.set("tcp-name", ["127.9.0.9"]);
    const name = Buffer.from([8, ...Buffer.from("tcp-name"), 0]);
    const query = Buffer.concat([
      Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]),
      name,
      Buffer.from([0, 1, 0, 1]),
    ]);
    const framed = Buffer.concat([Buffer.from([0, query.length]), query]);
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const socket = connect(server.port, server.host, () => socket.write(framed));
      let got = Buffer.alloc(0);
      socket.on("data", (chunk) => {
        got = Buffer.concat([got, chunk]);
        if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
          socket.destroy();
          resolve(got.subarray(2));
        }
      });
      socket.on("error", reject);
    });
    expect(reply.readUInt16BE(0)).toBe(0x1234);
    expect(reply.readUInt16BE(6)).toBe(1); // one answer
    expect([...reply.subarray(reply.length - 4)]).toEqual([127, 9, 0, 9]);
  });

  test("rejects a record that is not an IP address", () => {
    expect(() => server.set("bad", ["not-an-ip"])).toThrow(/not an IP address/);
  });
});
