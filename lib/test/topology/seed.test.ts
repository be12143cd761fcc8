/**
 * The seed's files are what the model renders: `seedMesh`'s front is `seeds/proxy-envoy.yaml` exactly,
 * and its sidecar is `seeds/service-envoy.yaml` with the one documented fix (its cluster is its own
 * echo over HTTP/1.1, not the sidecars themselves over h2c).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { fromRoot } from "../../paths.js";
import { SEED, seedMesh } from "../../topology/catalog.js";
import { envoyDoc } from "../../topology/envoy.js";

const seed = (name: string) => parse(readFileSync(fromRoot("seeds", name), "utf8"));
const ctx = { workDir: "/tmp", profile: "default" } as const;
const mesh = seedMesh({
  sidecars: SEED.services.map((name) => ({ reachAs: { host: name, port: SEED.listen.port } })),
});

describe("the seed, rendered from the model", () => {
  it("the front is proxy-envoy.yaml as published", () => {
    expect(envoyDoc(mesh.front, ctx)).toEqual(seed("proxy-envoy.yaml"));
  });

  it("the sidecar is service-envoy.yaml but for its cluster: its own echo, over HTTP/1.1", () => {
    const fixed = seed("service-envoy.yaml");
    const cluster = fixed.static_resources.clusters[0];
    delete cluster.http2_protocol_options;
    cluster.hosts = [{ socket_address: { address: "127.0.0.1", port_value: SEED.echoPort } }];
    for (const sidecar of mesh.sidecars) expect(envoyDoc(sidecar, ctx)).toEqual(fixed);
  });

  it("the published sidecar file is a copy of the front's (the loop the fix removes)", () => {
    expect(seed("service-envoy.yaml")).toEqual(seed("proxy-envoy.yaml"));
  });
});
