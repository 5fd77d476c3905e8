/**
 * The processes a bus benchmark runs and watches. It starts `redis-server`,
 * `ampd` and the connections to them, each registered for cleanup so that
 * nothing outlives the run, also on failure or Ctrl-C. It reads each
 * process's resident set size and CPU time from Linux's /proc (so a run can
 * tell which process, client, ampd or redis-server, was the busy one) and
 * the machine's load average. It also holds the benchmark's own flags,
 * progress log and time limits.
 *
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, fdatasyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { commandOptions, createClient } from "redis";
import { type AmpClient, connect } from "../mod.ts";
import { Ampd, ROOT } from "../tests/_helpers/ampd.ts";
import { RedisServer, type RedisServerOptions } from "../tests/_helpers/redis_server.ts";

// ---------------------------------------------------------------------------
// Flags and progress

/** The number given as `--name=N` on the command line, else `dflt`. */
export function numberFlag(name: string, dflt: number): number {
  const arg = process.argv.slice(2).find((a) => a.startsWith(`--${name}=`));
  return Number(arg?.slice(name.length + 3) ?? dflt);
}

/** The text given as `--name=TEXT` on the command line, else `undefined`. */
export function stringFlag(name: string): string | undefined {
  return process.argv.slice(2).find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

/** A progress line on stderr (stdout holds only the report). */
export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

// ---------------------------------------------------------------------------
// Process measurements

/** Clock ticks per second (`getconf CLK_TCK`); the unit of utime/stime in /proc/<pid>/stat. */
export const CLK_TCK: number = (() => {
  const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

function statusField(pid: number, name: string): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, "m").exec(status);
  if (!m) throw new Error(`no ${name} in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** Resident set size now, in bytes (VmRSS). */
export function rss(pid: number): number {
  return statusField(pid, "VmRSS");
}

/** Peak resident set size since the process started, in bytes (VmHWM). */
export function peakRss(pid: number): number {
  return statusField(pid, "VmHWM");
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces: fields are counted after its closing ")".
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
}

/** CPU seconds this process has used so far. */
export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** The CPU use of several processes over one interval, as a fraction of one core each. */
export class CpuMeter {
  #pids: Record<string, number>;
  #t0 = 0;
  #c0: Record<string, number> = {};

  /** `pids`: name to pid; the name `client` is this process and needs no pid. */
  constructor(pids: Record<string, number>) {
    this.#pids = pids;
  }

  #read(): Record<string, number> {
    const out: Record<string, number> = { client: selfCpuSeconds() };
    for (const [name, pid] of Object.entries(this.#pids)) out[name] = cpuSeconds(pid);
    return out;
  }

  start(): void {
    this.#t0 = performance.now();
    this.#c0 = this.#read();
  }

  /** Fraction of one core each process used since `start()` (1.0 = one core busy all the time). */
  stop(): Record<string, number> {
    const wall = (performance.now() - this.#t0) / 1000;
    const c1 = this.#read();
    const out: Record<string, number> = {};
    for (const k of Object.keys(c1)) out[k] = (c1[k] - this.#c0[k]) / wall;
    return out;
  }
}

/**
 * Times `run` and meters the CPU of this process and of `pids` over the same
 * interval: `seconds` of wall time, `cpu` as in `CpuMeter.stop()`.
 */
export async function timeWithCpu<T>(
  pids: Record<string, number>,
  run: () => Promise<T>,
): Promise<{ value: T; seconds: number; cpu: Record<string, number> }> {
  const meter = new CpuMeter(pids);
  meter.start();
  const t0 = performance.now();
  const value = await run();
  const seconds = (performance.now() - t0) / 1000;
  return { value, seconds, cpu: meter.stop() };
}

/**
 * What one small durable write costs on the disk holding `dir`: `samples`
 * times a 512-byte write then `fdatasync`, in ms (a fsync-per-commit backend
 * cannot answer one writer faster than this).
 */
export function fsyncCost(dir: string, samples = 200): { p50: number; p99: number } {
  const path = join(dir, "fsync-probe");
  const fd = openSync(path, "w");
  const block = new Uint8Array(512).fill(97);
  const times: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now();
      writeSync(fd, block);
      fdatasyncSync(fd);
      times.push(performance.now() - t0);
    }
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  times.sort((a, b) => a - b);
  return { p50: times[samples >> 1], p99: times[Math.min(samples - 1, Math.floor(samples * 0.99))] };
}

/** The 1-minute load average (runnable processes); on this machine's 2 cores, above 2 means waiting for a core. */
export function loadAverage(): number {
  return loadavg()[0];
}

/** Cores the runtime reports (`navigator.hardwareConcurrency`), 0 when it does not say. */
export function cores(): number {
  // deno-lint-ignore no-explicit-any
  return (globalThis as any).navigator?.hardwareConcurrency ?? 0;
}

/** The last line of a report: how long the run took and how loaded the machine was, so figures can be read against it. */
export function runSummary(startedMs: number, loadAtStart: number): string {
  const total = ((performance.now() - startedMs) / 1000).toFixed(0);
  return `(total ${total} s; load average ${loadAtStart.toFixed(2)} at the start, ${loadAverage().toFixed(2)} at the end, on ${cores()} cores)`;
}

// ---------------------------------------------------------------------------
// Cleanup: everything a benchmark starts is registered here and stopped on the way out.

/** Stop functions of what the running benchmark started, last first. */
export const cleanups: (() => Promise<unknown> | unknown)[] = [];

/** Runs every registered cleanup, newest first, going on past failures. */
export async function cleanupAll(): Promise<void> {
  while (cleanups.length > 0) {
    try {
      await cleanups.pop()!();
    } catch {
      // keep cleaning
    }
  }
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    void cleanupAll().then(() => process.exit(130));
  });
}

/** Rejects when `p` has not settled within `ms`, naming `what`. */
export function withTimeout<T>(p: Promise<T>, { what, ms }: { what: string; ms: number }): Promise<T> {
  let t: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => (t = setTimeout(() => reject(new Error(`${what}: no end within ${ms} ms`)), ms))),
  ]);
}

// ---------------------------------------------------------------------------
// What a benchmark talks to, each registered in `cleanups`

/**
 * Starts a `redis-server` of its own (free port, temp dir; no persistence
 * unless `options` turn on the append-only file).
 */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const redis = await RedisServer.start(options);
  cleanups.push(() => redis.dispose());
  return redis;
}

/** A fresh directory under `os.tmpdir()`, removed on the way out. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** ampd's flags for one backend: in-memory streams, or Redis at `redisUrl`. */
export function ampdArgs(backend: "memory" | "redis", redisUrl: string): string[] {
  return backend === "memory" ? ["--backend", "memory"] : ["--backend", "redis", "--redis", redisUrl];
}

/** ampd's flags for the sqlite backend: its store at `data` (a file, created), fsynced per commit (`full`) or not (`normal`). */
export function sqliteArgs({ data, sync }: { data: string; sync: "full" | "normal" }): string[] {
  return ["--backend", "sqlite", "--data", data, "--sync", sync];
}

/** What a bench needs of a running ampd, compiled (`Ampd`) or run from source under the profiler (`ProfiledAmpd`). */
export interface AmpdProcess {
  readonly socket: string;
  readonly pid: number;
  /** SIGTERM, then waits for the exit code. */
  stop(): Promise<number | null>;
  /** Kills it if it still runs and removes its temp dir. */
  dispose(): Promise<void>;
}

/** Starts the compiled ampd with `args` on a socket in a temp dir, logging warnings only. */
export async function startAmpd(args: readonly string[]): Promise<Ampd> {
  const ampd = await Ampd.start({ args: [...args, "--log-level", "warn"] });
  cleanups.push(() => ampd.dispose());
  return ampd;
}

/**
 * ampd from source (`bun --cpu-prof sidecar/main.ts`), not the compiled
 * binary: on a clean exit (SIGTERM, `stop()`) Bun writes a `.cpuprofile` of
 * the daemon, named `name`, into `profileDir`.
 */
export class ProfiledAmpd implements AmpdProcess {
  readonly socket: string;
  readonly #dir: string;
  readonly #child: ChildProcess;
  readonly #exit: Promise<number | null>;

  private constructor(child: ChildProcess, dir: string) {
    this.#child = child;
    this.#dir = dir;
    this.socket = join(dir, "ampd.sock");
    this.#exit = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  }

  get pid(): number {
    return this.#child.pid!;
  }

  /** Starts it with `args` and waits for its ready line (registered for cleanup). */
  static async start(args: readonly string[], { profileDir, name }: { profileDir: string; name: string }): Promise<ProfiledAmpd> {
    const dir = mkdtempSync(join(tmpdir(), "ampbus-bench-prof-"));
    const socket = join(dir, "ampd.sock");
    const bun = process.versions.bun ? process.execPath : "bun";
    const child = spawn(bun, [
      "--cpu-prof", `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}`,
      "sidecar/main.ts", ...args, "--log-level", "warn", "--socket", socket,
    ], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, REDIS_URL: "", AMPD_TOKEN: "" } });
    const ampd = new ProfiledAmpd(child, dir);
    cleanups.push(() => ampd.dispose());
    let out = "";
    let err = "";
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    await withTimeout(new Promise<void>((resolve, reject) => {
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes(`ampd ready ${socket}`)) resolve();
      });
      child.once("exit", (code) => reject(new Error(`ampd (from source) exited with ${code} before it was ready:\n${err}`)));
    }), { what: "ampd from source: start", ms: 20_000 });
    return ampd;
  }

  async stop(): Promise<number | null> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill("SIGTERM");
    return await this.#exit;
  }

  async dispose(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill("SIGKILL");
    await this.#exit;
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** An SDK client connected to ampd's socket. */
export async function sdkClient(socket: string, name: string): Promise<AmpClient> {
  const c = await connect({ socket, name });
  cleanups.push(() => c.close().catch(() => {}));
  return c;
}

/** A raw node-redis connection: the baseline a user would write without ampd. */
export type Raw = ReturnType<typeof createClient>;

/** A raw node-redis client, connected. */
export async function rawClient(url: string): Promise<Raw> {
  const c = createClient({ url });
  await c.connect();
  cleanups.push(() => c.disconnect().catch(() => {}));
  return c;
}

/** node-redis command options for replies as Buffers (message bytes are binary). */
export const bufs = commandOptions({ returnBuffers: true });

/** Stream entries as XREAD / XREADGROUP return them with `bufs`: [id, [field, value, ...]]. */
export type XEntries = [Buffer, Buffer[]][];

/** The pid (for CPU metering) and version of the redis-server at `url`, from one `INFO server`. */
export async function redisInfo(url: string): Promise<{ pid: number; version: string }> {
  const c = createClient({ url });
  await c.connect();
  const info = await c.sendCommand<string>(["INFO", "server"]);
  await c.disconnect();
  return { pid: Number(/process_id:(\d+)/.exec(info)![1]), version: /redis_version:(\S+)/.exec(info)?.[1] ?? "?" };
}
