import { describe, expect, it } from "vitest";
import { h1, h2, useProxyFixture } from "./helpers.js";

const fx = useProxyFixture();

describe("smoke", () => {
  it("forwards h1 and h2c on one port", async () => {
    const proxy = await fx.start();
    const a = await h1(proxy.port, { path: "/x?y=1" });
    expect(a.status).toBe(200);
    expect(JSON.parse(a.body).url).toBe("/x?y=1");
    const b = await h2(proxy.port, { path: "/h2" });
    expect(b.status).toBe(200);
    expect(JSON.parse(b.body).url).toBe("/h2");
    const c = await h1(proxy.port, { method: "POST", path: "/p", body: "hello" });
    expect(JSON.parse(c.body).body).toBe("hello");
    const d = await h2(proxy.port, { method: "POST", path: "/p", body: "hello2" });
    expect(JSON.parse(d.body).body).toBe("hello2");
  });
});
