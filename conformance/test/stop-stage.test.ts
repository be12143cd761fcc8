/**
 * Stopping a topology reads each process's bug counter first: a proxy's `server.envoy_bug_failures`
 * or an echo's `echo_unexpected_errors_total` above 0 fails the group, after the topology stopped.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { seedProxy } from "../../lib/topology/catalog.js";
import { stopStage } from "../harness/runner.js";
import { selectTarget } from "../harness/targets.js";
import type { RunningTopology } from "../harness/types.js";

/** One in-process server standing in for every admin and echo: `/stats` and `/metrics` as given. */
async function fakeNode(stats: string, metrics: string): Promise<http.Server> {
  const server = http.createServer((req, res) => res.end(req.url === "/stats" ? stats : metrics));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return server;
}

let server: http.Server | undefined;
afterEach(async () => {
  await new Promise((r) => server?.close(r));
});

function topology(port: number, onStop: () => void): RunningTopology {
  const ep = { host: "127.0.0.1", port };
  return {
    topology: {
      id: "t",
      description: "",
      entry: "front",
      echos: [{ name: "e1", aliases: [] }],
      proxies: [
        {
          name: "front",
          serviceCluster: "front",
          spec: seedProxy({ hosts: [], protocol: "http1" }),
          aliases: [],
        },
      ],
    },
    target: selectTarget("echomesh"),
    listener: () => ep,
    admin: () => ep,
    echo: () => ep,
    startEcho: async () => {},
    stopEcho: async () => {},
    runningEchos: () => ["e1"],
    writeProxyFile: async () => {},
    stop: async () => onStop(),
  };
}

describe("stopStage", () => {
  it("passes when every count is 0, and stops the topology", async () => {
    server = await fakeNode("server.envoy_bug_failures: 0\n", "echo_unexpected_errors_total 0\n");
    let stopped = false;
    const topo = topology((server.address() as AddressInfo).port, () => {
      stopped = true;
    });
    await stopStage({ topo });
    expect(stopped).toBe(true);
  });

  it("fails naming the proxy and the echo whose counts are above 0, after stopping", async () => {
    server = await fakeNode("server.envoy_bug_failures: 2\n", "echo_unexpected_errors_total 1\n");
    let stopped = false;
    const topo = topology((server.address() as AddressInfo).port, () => {
      stopped = true;
    });
    await expect(stopStage({ topo })).rejects.toThrow(
      "unexpected errors in topology t: proxy front: server.envoy_bug_failures 2, echo e1: echo_unexpected_errors_total 1",
    );
    expect(stopped).toBe(true);
  });
});
