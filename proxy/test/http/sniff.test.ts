import { describe, expect, it } from "vitest";
import { decide, H2_PREFACE } from "../../listener/sniff.js";

describe("preface sniffing", () => {
  it("decides HTTP/1.1 at the first byte that differs from the preface", () => {
    expect(decide(Buffer.from("G"))).toBe("http1");
    expect(decide(Buffer.from("PRX"))).toBe("http1");
    expect(decide(Buffer.from("PRI * HTTP/1.1\r\n"))).toBe("http1");
  });

  it("waits on a partial preface and decides h2c on the whole one", () => {
    expect(decide(Buffer.from("PRI * HTTP/2.0\r\n"))).toBeNull();
    expect(decide(H2_PREFACE)).toBe("http2");
    expect(decide(Buffer.concat([H2_PREFACE, Buffer.from([0, 0, 0, 4])]))).toBe("http2");
  });
});
