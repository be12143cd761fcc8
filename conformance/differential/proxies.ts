/**
 * The two proxies of a config group, started from the same document: real Envoy (`findEnvoy()`,
 * `--concurrency 1`, `--use-dynamic-base-id`) and our proxy (the built CLI), each on its own free
 * listener and admin ports, both in front of the shared upstreams.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { request } from "../../lib/http_client.js";
import { freePort } from "../../lib/net.js";
import { fromDist } from "../../lib/paths.js";
import { stopChild } from "../../lib/process.js";
import { sleep } from "../../lib/wait.js";
import { render } from "./config.js";
import type { Doc } from "./types.js";

export type SideName = "envoy" | "echomesh";

/** A running proxy, or why it did not start. */
export type Side =
  | { name: SideName; running: true; listenerPort: number; adminPort: number; stop: () => Promise<void> }
  | { name: SideName; running: false; reason: string };

/** The command line of each side for a config file. */
export function command(name: SideName, envoyPath: string, file: string): string[] {
  return name === "envoy"
    ? [envoyPath, "-c", file, "--concurrency", "1", "--use-dynamic-base-id", "--log-level", "warning"]
    : [
        process.execPath,
        fromDist("proxy/main.js"),
        "-c",
        file,
        "--concurrency",
        "1",
        "--use-dynamic-base-id",
        "--drain-time-s",
        "0",
        "--log-level",
        "warn",
      ];
}

/** What starts one side: its config document, the shared upstreams' ports, where to write the file. */
export interface SideSpec {
  name: SideName;
  doc: Doc;
  upstreamPorts: Record<string, number>;
  envoyPath: string;
  /** The folder for the config file, `group-<group>-<name>.json`. */
  dir: string;
  group: number;
}

/** A start that failed only because a free port was taken meanwhile (other tests run beside us). */
const PORT_TAKEN = /EADDRINUSE|[Aa]ddress already in use/;

/**
 * Starts one side on `doc` (ports rendered: its own listener and admin, the shared upstreams') and
 * waits until its admin says ready. A proxy that exits or stays unready for 20 s is a
 * `running: false` side with its output (the case then compares "did not start"); a port taken
 * between choosing and binding it is retried on new ports (3 tries).
 */
export async function startSide(spec: SideSpec): Promise<Side> {
  let side = await startOnce(spec);
  for (let retry = 0; retry < 2 && !side.running && PORT_TAKEN.test(side.reason); retry++) {
    side = await startOnce(spec);
  }
  return side;
}

async function startOnce({ name, doc, upstreamPorts, envoyPath, dir, group }: SideSpec): Promise<Side> {
  const listenerPort = await freePort();
  const adminPort = await freePort();
  const file = join(dir, `group-${group}-${name}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      render(doc, {
        "@listener": listenerPort,
        "@admin": adminPort,
        "@raw": upstreamPorts["@raw"] ?? 0,
        "@echo": upstreamPorts["@echo"] ?? 0,
        "@refused": upstreamPorts["@refused"] ?? 0,
        "@blackhole": upstreamPorts["@blackhole"] ?? 0,
      }),
      null,
      2,
    ),
  );
  const [cmd = "", ...args] = command(name, envoyPath, file);
  const child: ChildProcess = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (c: Buffer) => {
    output = (output + c.toString()).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let spawnError = "";
  child.on("error", (err) => {
    spawnError = err.message;
  });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (spawnError !== "" || child.exitCode !== null || child.signalCode !== null) {
      return { name, running: false, reason: `exited (${spawnError || child.exitCode}): ${output.trim()}` };
    }
    const ready = await request(adminPort, "/ready", { timeoutMs: 1000 }).then(
      (r) => r.status === 200,
      () => false,
    );
    // Another process on this machine may hold the admin port we chose (a free port is only free
    // when it is picked): the proxy that answers must be the one started with this config file.
    if (ready && !(await servesConfig(adminPort, file))) {
      await stopChild(child, 1000);
      return {
        name,
        running: false,
        reason: `EADDRINUSE: admin port ${adminPort} answered by another process`,
      };
    }
    if (ready) {
      return { name, running: true, listenerPort, adminPort, stop: () => stopChild(child, 2000) };
    }
    await sleep(50);
  }
  await stopChild(child, 1000);
  return { name, running: false, reason: `not ready within 20 s: ${output.trim()}` };
}

/** Does the admin on `port` belong to the proxy started with `file` (`/server_info`'s config_path)? */
async function servesConfig(port: number, file: string): Promise<boolean> {
  return request(port, "/server_info", { timeoutMs: 1000 }).then(
    (r) => r.status === 200 && r.body.toString("utf8").includes(JSON.stringify(file)),
    () => false,
  );
}
