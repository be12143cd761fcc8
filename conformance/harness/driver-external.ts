/**
 * The external driver (`--target-url`): the proxy under test is already running, configured by its
 * user to route `/` (and `/ws`) round robin to the backend addresses given. The suite starts one echo
 * per backend address (the `front` topology's service1, service2, ...), waits until the proxy
 * answers as one of them, and runs the tests of the `front` topology; a test that needs a topology
 * the suite configures itself is skipped, saying so.
 */
import { fromDist } from "../../lib/paths.js";
import { waitUntil } from "../../lib/wait.js";
import { CONSISTENTLY, request } from "./client.js";
import { Proc, ready } from "./driver-processes.js";
import { topology as topologyById } from "./topologies.js";
import { type Driver, type Endpoint, type RunningTopology, SkipError, type Target } from "./types.js";

/** The topology whose tests run against a proxy the suite did not configure. */
export const EXTERNAL_TOPOLOGY = "front";

const echoMain = fromDist("echo/main.js");

/** `host:port` -> Endpoint, or an error naming the text. */
export function parseHostPort(text: string, what: string): Endpoint {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) throw new Error(`${what}: expected HOST:PORT, got "${text}"`);
  return { host: (m[1] as string).replace(/^\[|\]$/g, ""), port };
}

export function externalDriver(url: URL, backends: Endpoint[], log: (line: string) => void): Driver {
  const listener: Endpoint = { host: url.hostname, port: Number(url.port || 80) };
  const running = new Set<Proc>();
  return {
    name: "processes",
    reason: `a running proxy at ${url.origin} (--target-url), echo backends at ${backends.map((b) => `${b.host}:${b.port}`).join(", ")}`,
    capabilities: { dynamicDns: false },
    async start(topology, target: Target): Promise<RunningTopology> {
      if (topology.id !== EXTERNAL_TOPOLOGY)
        throw new SkipError(
          `needs a topology the suite configures (${topology.id}); --target-url runs the tests of \`${EXTERNAL_TOPOLOGY}\``,
        );
      const front = topologyById(EXTERNAL_TOPOLOGY);
      const names = front.echos.map((e, i) => e.name ?? `backend${i + 1}`);
      if (backends.length !== names.length)
        throw new Error(
          `the ${EXTERNAL_TOPOLOGY} topology has ${names.length} backends; --backends gave ${backends.length}`,
        );
      const echos = new Map<string, Proc>();
      const endpointOf = (name: string) => {
        const at = backends[names.indexOf(name)];
        if (at === undefined) throw new Error(`no backend ${name}`);
        return at;
      };
      const startEcho = async (name: string) => {
        const at = endpointOf(name);
        const env = front.echos.find((e) => e.name === name)?.env ?? {};
        const proc = new Proc(
          `echo ${name}`,
          [process.execPath, echoMain, "--host", at.host, "--port", String(at.port)],
          {
            INSTANCE: name,
            ...env,
          },
        );
        running.add(proc);
        echos.set(name, proc);
        await ready(proc, at, "/", () => true);
      };
      const stopAll = async () => {
        await Promise.all([...echos.values()].map((p) => p.stop()));
        for (const p of echos.values()) running.delete(p);
        echos.clear();
      };
      try {
        await Promise.all(names.map(startEcho));
        log(
          `[conformance] echo backends: ${names.map((n) => `${n} at ${endpointOf(n).host}:${endpointOf(n).port}`).join(", ")}; waiting for ${url.origin} to answer as one of them`,
        );
        await waitUntil(
          `${url.origin} answers as an echo backend (x-echo-instance)`,
          async () => {
            const r = await request(listener, "/", { timeoutMs: 5_000 });
            return r.headers["x-echo-instance"] !== undefined;
          },
          CONSISTENTLY,
        );
      } catch (err) {
        await stopAll();
        throw err;
      }
      return {
        topology,
        target,
        listener: () => listener,
        admin: () => {
          throw new SkipError("no admin for a proxy the suite did not start");
        },
        echo: endpointOf,
        startEcho,
        async stopEcho(name) {
          await echos.get(name)?.stop();
          echos.delete(name);
        },
        runningEchos: () => [...echos.keys()],
        async writeProxyFile() {
          throw new SkipError("the suite does not configure a proxy it did not start");
        },
        stop: stopAll,
      };
    },
    async close() {
      await Promise.all([...running].map((p) => p.stop()));
    },
  };
}

/** The target of `--target-url`: what the user says it supports (`--features`). */
export function externalTarget(url: URL, features: Target["features"]): Target {
  return {
    name: "url",
    description: `the proxy at ${url.origin} (--target-url), not started or configured by the suite`,
    dialect: "external",
    features,
    image: null,
    configPath: "",
    containerCommand: () => [],
    processCommand: null,
    async unavailable() {
      return null;
    },
  };
}
