import { describe, expect, it } from "vitest";
import { h2 } from "../../../test-support/h2.js";
import { request } from "../../../test-support/http.js";
import { useProxyFixture } from "./helpers.js";

const fx = useProxyFixture();

describe("smoke", () => {
  it("forwards h1 and h2c on one port", async () => {
    const proxy = await fx.start();
    const a = await request(proxy.port, "/x?y=1");
    expect(a.status).toBe(200);
    expect(JSON.parse(a.text).url).toBe("/x?y=1");
    const b = await h2(proxy.port, "/h2");
    expect(b.status).toBe(200);
    expect(JSON.parse(b.text).url).toBe("/h2");
    const c = await request(proxy.port, "/p", { method: "POST", body: "hello" });
    expect(JSON.parse(c.text).body).toBe("hello");
    const d = await h2(proxy.port, "/p", { method: "POST", body: "hello2" });
    expect(JSON.parse(d.text).body).toBe("hello2");
  });
});
