/**
 * A working directory that looks like the repository root to a README's
 * commands: every top-level entry of the checkout is symlinked into a fresh
 * temporary directory, except `package.json` and `deno.json`, which are
 * copied (so that a lock file or `./ampd.sock` lands in the temporary
 * directory, never in the checkout). Commands then run as written, on the
 * default socket `./ampd.sock`, without meeting a sidecar someone started in
 * the checkout itself.
 *
 * @example
 * ```ts
 * const dir = new WorkDir();
 * dir.write("coder.ts", source);
 * const r = await dir.run("npx bun coder.ts");
 * dir.dispose();
 * ```
 *
 * @module
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../_helpers/ampd.ts";

const COPIED = new Set(["package.json", "deno.json"]);
const LEFT_OUT = new Set([".git", "deno.lock", "ampd.sock"]);

/** The outcome of a command. */
export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** The environment of README commands: nothing of the caller's ampd, Redis or Python set-up leaks in. */
function commandEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  for (const k of ["REDIS_URL", "AMPD_TOKEN", "AMPD_SOCKET", "PYTHONPATH", "FORCE_COLOR"]) delete env[k];
  env.NO_COLOR = "1";
  env.PYTHONDONTWRITEBYTECODE = "1"; // no __pycache__ in the checkout, reached through the symlinks
  return env;
}

/** Sends `signal` to the process group led by `child` (ignoring one already gone). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // the group has exited
  }
}

/** A temporary stand-in for the repository root. */
export class WorkDir {
  readonly path: string;
  #daemons: { child: ChildProcess; exited: Promise<void> }[] = [];

  constructor() {
    this.path = mkdtempSync(join(tmpdir(), "ampbus-readme-"));
    for (const name of readdirSync(ROOT)) {
      if (LEFT_OUT.has(name) || name.endsWith(".sock")) continue;
      if (COPIED.has(name)) copyFileSync(join(ROOT, name), join(this.path, name));
      else symlinkSync(join(ROOT, name), join(this.path, name));
    }
  }

  /** Writes a snippet file; only top-level names, so that nothing reaches into the checkout through a symlink. */
  write(name: string, text: string): void {
    if (name.includes("/") || name.startsWith(".")) throw new Error(`${name}: snippet files have plain top-level names`);
    const path = join(this.path, name);
    if (existsSync(path)) throw new Error(`${name} exists already in the repository root`);
    writeFileSync(path, text);
  }

  /**
   * Runs a shell script (`sh -e`) here; resolves once `sh` exits, after
   * killing what it left in the background. Killed after `timeoutMs`.
   */
  async run(script: string, timeoutMs: number): Promise<CommandResult> {
    const child = spawn("sh", ["-e", "-c", script], { cwd: this.path, env: commandEnv(), detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, "SIGKILL");
    }, timeoutMs);
    const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    clearTimeout(timer);
    killGroup(child, "SIGTERM"); // background jobs of the script (`reviewer.py &`)
    await closed;
    return { code, stdout, stderr, timedOut };
  }

  /**
   * Starts a long-running command (`npx ampd`) and resolves once its stdout
   * matches `ready`; it runs until `dispose()`.
   */
  async start(command: string, ready: RegExp, timeoutMs: number): Promise<void> {
    const child = spawn("sh", ["-c", command], { cwd: this.path, env: commandEnv(), detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    this.#daemons.push({ child, exited });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`\`${command}\` printed no ${ready} within ${timeoutMs} ms:\n${stdout}\n${stderr}`)), timeoutMs);
      child.stdout!.on("data", (d: Buffer) => {
        stdout += d.toString();
        if (ready.test(stdout)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`\`${command}\` exited before it was ready:\n${stdout}\n${stderr}`));
      });
    });
  }

  /** Stops the daemons (SIGTERM, then SIGKILL after 5 s) and removes the directory (the symlinks, not their targets). */
  async dispose(): Promise<void> {
    try {
      for (const { child, exited } of this.#daemons) {
        killGroup(child, "SIGTERM");
        const timer = setTimeout(() => killGroup(child, "SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
    } finally {
      this.#daemons = [];
      rmSync(this.path, { recursive: true, force: true });
    }
  }
}
