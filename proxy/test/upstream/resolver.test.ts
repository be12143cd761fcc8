import { describe, expect, it } from "vitest";
import { systemResolver } from "../../upstream/resolver.js";

describe("system resolver", () => {
  it("returns IP literals without a lookup, whatever the family", async () => {
    expect(await systemResolver("10.1.2.3", "v6_only")).toEqual(["10.1.2.3"]);
    expect(await systemResolver("::1", "v4_only")).toEqual(["::1"]);
  });

  it("resolves localhost through the system resolver", async () => {
    expect(await systemResolver("localhost", "v4_only")).toContain("127.0.0.1");
    const auto = await systemResolver("localhost", "auto");
    expect(auto.length).toBeGreaterThan(0);
    // auto is IPv6 first: IPv4 only when the name has no IPv6 address.
    const v6 = await systemResolver("localhost", "v6_only");
    expect(auto).toEqual(v6.length > 0 ? v6 : await systemResolver("localhost", "v4_only"));
  });
});
