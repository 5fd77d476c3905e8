/**
 * Starts the compiled `ampd` (`dist/ampd`) for tests, on a socket in a fresh
 * temporary directory. The binary is built once per test run (`bun build
 * --compile`, as `npm run build:sidecar` does) when it is missing or older
 * than any source under `sidecar/` or `sdk/`.
 *
 * @example
 * ```ts
 * const ampd = await Ampd.start({ args: ["--backend", "memory"] });
 * const bus = await connect({ socket: ampd.socket });
 * expect(await ampd.stop()).toBe(0); // SIGTERM, waits for the exit code
 * ```
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT: string = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The compiled daemon. */
export const AMPD_BIN: string = join(ROOT, "dist", "ampd");
/**
 * `AMPD_TEST_BIN=path` runs the suites against another build (say, one of an
 * older commit, to see a new test fail there); nothing is built then.
 */
const OTHER_BIN: string | undefined = process.env.AMPD_TEST_BIN || undefined;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (e.name.endsWith(".ts") || e.name.endsWith(".html")) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function isStale(): boolean {
  if (!existsSync(AMPD_BIN)) return true;
  const built = statSync(AMPD_BIN).mtimeMs;
  const sources = Math.max(
    newestMtime(join(ROOT, "sidecar")),
    newestMtime(join(ROOT, "sdk")),
    statSync(join(ROOT, "package.json")).mtimeMs,
  );
  return sources > built;
}

let built: Promise<string> | undefined;

/**
 * Builds `dist/ampd` when missing or stale; once per process. The binary is
 * written beside the target and renamed over it, so a concurrent run never
 * sees a half-written file.
 */
export function buildAmpd(): Promise<string> {
  built ??= (async () => {
    if (OTHER_BIN !== undefined) return resolve(OTHER_BIN);
    if (!isStale()) return AMPD_BIN;
    const tmp = `${AMPD_BIN}.build-${process.pid}`;
    const bun = process.versions.bun ? process.execPath : "bun";
    const r = spawnSync(bun, ["build", "--compile", "--minify", "sidecar/main.ts", "--outfile", tmp], {
      cwd: ROOT,
      encoding: "utf8",
    });
    if (r.status !== 0) {
      rmSync(tmp, { force: true });
      throw new Error(`building ampd failed (exit ${r.status}): ${r.stderr || r.error?.message}`);
    }
    renameSync(tmp, AMPD_BIN);
    return AMPD_BIN;
  })();
  return built;
}

/** The outcome of running ampd to completion. */
export interface AmpdRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `ampd <args>` to completion (for `--help`, bad flags...); kills it after `timeoutMs` (default 10 000). */
export async function runAmpd(args: string[], options: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {}): Promise<AmpdRun> {
  const bin = await buildAmpd();
  // In a temporary directory unless told otherwise, so a default ./ampd.db never lands in the checkout.
  const cwd = options.cwd ?? mkdtempSync(join(tmpdir(), "ampd-run-"));
  const child = spawn(bin, args, {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, REDIS_URL: "", AMPD_TOKEN: "", ...options.env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 10_000);
  const code = await new Promise<number | null>((resolve) => child.once("close", (c) => resolve(c)));
  clearTimeout(timer);
  if (options.cwd === undefined) rmSync(cwd, { recursive: true, force: true });
  return { code, stdout, stderr };
}

/** Options of `Ampd.start()`. */
export interface AmpdOptions {
  /** Extra flags, such as `["--backend", "memory"]`. `--socket` is added unless given here. */
  args?: string[];
  /** Socket path. Defaults to `ampd.sock` in a fresh temporary directory, which is also ampd's working directory (so the default `./ampd.db` goes there). */
  socket?: string;
  /** Environment additions. `REDIS_URL` and `AMPD_TOKEN` are cleared unless set here. */
  env?: Record<string, string>;
  /** How long to wait for the ready line, in ms. Defaults to 10 000. */
  readyTimeoutMs?: number;
}

/** A running `ampd` child process. */
export class Ampd {
  readonly socket: string;
  /** The temporary directory holding the socket (removed by `dispose()`). */
  readonly dir: string;
  readonly #child: ChildProcess;
  #stdout = "";
  #stderr = "";
  readonly #exit: Promise<number | null>;
  #exitCode: number | null | undefined;

  private constructor(child: ChildProcess, socket: string, dir: string) {
    this.#child = child;
    this.socket = socket;
    this.dir = dir;
    child.stdout!.on("data", (d: Buffer) => (this.#stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (this.#stderr += d.toString()));
    this.#exit = new Promise((resolve) =>
      child.once("exit", (code) => {
        this.#exitCode = code;
        resolve(code);
      })
    );
  }

  /** Starts ampd and waits for `ampd ready <socket>` on stdout. */
  static async start(options: AmpdOptions = {}): Promise<Ampd> {
    const bin = await buildAmpd();
    const dir = mkdtempSync(join(tmpdir(), "ampd-test-"));
    const socket = options.socket ?? join(dir, "ampd.sock");
    const args = [...(options.args ?? [])];
    if (!args.includes("--socket")) args.push("--socket", socket);
    const child = spawn(bin, args, {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, REDIS_URL: "", AMPD_TOKEN: "", ...options.env },
    });
    const ampd = new Ampd(child, socket, dir);
    await ampd.#waitReady(options.readyTimeoutMs ?? 10_000);
    return ampd;
  }

  async #waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.#stdout.includes(`ampd ready ${this.socket}`)) return;
      if (this.#exitCode !== undefined) {
        throw new Error(`ampd exited with ${this.#exitCode} before it was ready:\n${this.#stderr}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    this.#child.kill("SIGKILL");
    throw new Error(`ampd was not ready within ${timeoutMs} ms:\n${this.#stderr}`);
  }

  /** The process id. */
  get pid(): number {
    return this.#child.pid!;
  }

  /** Everything ampd wrote to stderr so far (its log). */
  get stderr(): string {
    return this.#stderr;
  }

  /** Everything ampd wrote to stdout so far. */
  get stdout(): string {
    return this.#stdout;
  }

  /** True until the process has exited. */
  get alive(): boolean {
    return this.#exitCode === undefined;
  }

  /** Resolves with the exit code (null when killed by a signal) once ampd exits. */
  exited(): Promise<number | null> {
    return this.#exit;
  }

  /** SIGTERM, then waits for the exit; resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.alive) this.#child.kill("SIGTERM");
    return await this.#exit;
  }

  /** SIGKILL, as in a crash: the socket file stays behind. */
  async kill(): Promise<void> {
    if (this.alive) this.#child.kill("SIGKILL");
    await this.#exit;
  }

  /** Resident set size in bytes, from /proc/<pid>/status (VmRSS). */
  rss(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, "utf8");
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    if (!m) throw new Error(`no VmRSS in /proc/${this.pid}/status`);
    return Number(m[1]) * 1024;
  }

  /** Kills ampd if it still runs and removes its temporary directory. */
  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
