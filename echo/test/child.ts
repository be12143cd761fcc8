import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const echoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const repoRoot = path.resolve(echoDir, "..");

/**
 * Transpiles echo/*.ts (no tests) and the shared lib/*.ts it imports to plain JS under node_modules/.cache so a child `node` process
 * can run the CLI without a prior `npm run build`. Returns the path of main.js and a cleanup.
 */
export async function buildEchoCli(): Promise<{ main: string; cleanup: () => Promise<void> }> {
  const out = path.join(
    repoRoot,
    "node_modules",
    ".cache",
    `echomesh-echo-test-${process.pid}-${Date.now()}`,
  );
  await transpileDir(echoDir, path.join(out, "echo"));
  await transpileDir(path.join(repoRoot, "lib"), path.join(out, "lib"));
  await writeFile(path.join(out, "package.json"), '{"type":"module"}\n');
  return {
    main: path.join(out, "echo", "main.js"),
    cleanup: () => rm(out, { recursive: true, force: true }),
  };
}

async function transpileDir(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "test") await transpileDir(src, path.join(to, entry.name));
    } else if (entry.name.endsWith(".ts")) {
      const { outputText } = ts.transpileModule(await readFile(src, "utf8"), {
        compilerOptions: {
          module: ts.ModuleKind.ESNext,
          target: ts.ScriptTarget.ES2022,
          esModuleInterop: true,
        },
      });
      await writeFile(path.join(to, entry.name.replace(/\.ts$/, ".js")), outputText);
    }
  }
}

export interface EchoChild {
  proc: ChildProcess;
  port: number;
  /** Everything written to stdout so far. */
  stdout(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs the CLI with `args` (port 0 on 127.0.0.1 is added) and waits for its "listening" log line. */
export function runEcho(main: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<EchoChild> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [main, ...args, "--port", "0", "--host", "127.0.0.1"], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
      proc.once("exit", (code, signal) => done({ code, signal })),
    );
    proc.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(out);
      if (m) resolve({ proc, port: Number(m[1]), stdout: () => out, exited });
    });
    proc.stderr.on("data", (c: Buffer) => {
      err += c.toString();
    });
    proc.once("exit", (code) => reject(new Error(`echo exited early (${code}): ${err}`)));
  });
}
