/**
 * Process measurements for the bus benchmark, read from Linux's /proc: the
 * resident set size of a process (now and peak) and its CPU time, so a run
 * can tell which process (client, ampd, redis-server) was the busy one.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

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
export function withTimeout<T>(p: Promise<T>, what: string, ms: number): Promise<T> {
  let t: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => (t = setTimeout(() => reject(new Error(`${what}: no end within ${ms} ms`)), ms))),
  ]);
}
