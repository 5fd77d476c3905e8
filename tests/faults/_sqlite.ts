/**
 * Shared pieces of the SQLite-backend fault suites: starting ampd on a store
 * file, running a start that must be refused, reading a stream's whole
 * history, checking entry-id order, hashing a file, and the file systems the
 * storage faults need: a small tmpfs (a full disk, a read-only remount of a
 * stopped store) and an ext4 image on a loop device (a file system that turns
 * read-only under a running ampd).
 *
 * Mounting needs root (or CAP_SYS_ADMIN). `mountSkipReason()` /
 * `loopSkipReason()` say why a suite cannot mount here; the suites skip with
 * the reason printed, except under CI (`CI` set), where they fail.
 *
 * @example
 * ```ts
 * const procs = new Processes();
 * afterEach(() => procs.disposeAll());
 * const dir = procs.tempDir("ampd-sqlite-");
 * const ampd = procs.track(await startSqlite(join(dir, "ampd.db")));
 * ```
 *
 * @module
 */
import { test } from "bun:test";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { AmpClient } from "../../sdk/client/client.ts";
import type { Delivery } from "../../sdk/client/types.ts";
import { Ampd, runAmpd, type AmpdRun } from "../_helpers/ampd.ts";
import type { Processes } from "./_fault.ts";

/** The flags every SQLite test passes: the backend, its file, quiet logs. */
export function sqliteArgs(data: string, args: string[] = []): string[] {
  return ["--backend", "sqlite", "--data", data, "--log-level", "warn", ...args];
}

/** Starts the compiled ampd on the SQLite store `data` (waits for `ampd ready`). */
export function startSqlite(data: string, options: { socket?: string; args?: string[]; readyTimeoutMs?: number } = {}): Promise<Ampd> {
  return Ampd.start({ socket: options.socket, args: sqliteArgs(data, options.args), readyTimeoutMs: options.readyTimeoutMs });
}

/** Runs an ampd that is expected to refuse to start (to completion; killed after 10 s). */
export function runSqlite(data: string, socket: string, args: string[] = []): Promise<AmpdRun> {
  return runAmpd([...sqliteArgs(data, args), "--socket", socket]);
}

/** A start that is either serving (`ampd`) or was refused (`refused`: exit code and stderr). */
export type StartOutcome = { ampd: Ampd; refused?: undefined } | { ampd?: undefined; refused: { code: number | null; stderr: string } };

/** Starts ampd on `data`, reporting a refused start instead of throwing. */
export async function tryStartSqlite(data: string, options: { socket?: string; args?: string[] } = {}): Promise<StartOutcome> {
  try {
    return { ampd: await startSqlite(data, options) };
  } catch (e) {
    const m = /^ampd exited with (\S+) before it was ready:\n([\s\S]*)$/.exec((e as Error).message);
    if (m === null) throw e;
    return { refused: { code: m[1] === "null" ? null : Number(m[1]), stderr: m[2]! } };
  }
}

/** sha256 of a file's bytes, hex. */
export function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** Every delivery of `stream` from its start, read in batches of `count` (a fresh offset: starts at "0"). */
export async function readAll(bus: AmpClient, stream: string, count = 1000): Promise<Delivery[]> {
  const out: Delivery[] = [];
  let from = "0";
  for (;;) {
    const batch = await bus.streamRead({ [stream]: from }, { count });
    if (batch.length === 0) return out;
    out.push(...batch);
    from = batch[batch.length - 1]!.entryId;
  }
}

/** An entry id `ms-seq` as a pair of bigints. */
function parseId(id: string): [bigint, bigint] {
  const m = /^(\d+)-(\d+)$/.exec(id);
  if (m === null) throw new Error(`not an entry id: ${JSON.stringify(id)}`);
  return [BigInt(m[1]!), BigInt(m[2]!)];
}

/** Negative, zero or positive as entry id `a` sorts before, with or after `b`. */
export function compareIds(a: string, b: string): number {
  const [am, as] = parseId(a);
  const [bm, bs] = parseId(b);
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1;
}

/** The first place where `ids` is not strictly increasing, as a message; undefined when it is. */
export function orderProblem(ids: string[]): string | undefined {
  for (let i = 1; i < ids.length; i++) {
    if (compareIds(ids[i - 1]!, ids[i]!) >= 0) return `entry ids not strictly increasing at ${i}: ${ids[i - 1]} then ${ids[i]}`;
  }
  return undefined;
}

/** Runs a command; returns its exit status and output (never throws). */
export function sh(cmd: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return { status: r.status, out: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? r.error.message : ""}`.trim() };
}

/** Runs a command that must succeed. */
export function mustSh(cmd: string, args: string[]): string {
  const r = sh(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.out}`);
  return r.out;
}

function probe(what: string, attempt: (dir: string) => string | undefined): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), "ampd-probe-"));
  try {
    const why = attempt(dir);
    return why === undefined ? undefined : `${what}: ${why}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let mountReason: { why: string | undefined } | undefined;
let loopReason: { why: string | undefined } | undefined;

/** Why a tmpfs cannot be mounted here (undefined: it can). Probed once, by mounting one. */
export function mountSkipReason(): string | undefined {
  mountReason ??= {
    why: probe("cannot mount a tmpfs (needs root or CAP_SYS_ADMIN)", (dir) => {
      const r = sh("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir]);
      if (r.status !== 0) return r.out || `mount exited ${r.status}`;
      sh("umount", ["-l", dir]);
      return undefined;
    }),
  };
  return mountReason.why;
}

/** Why an ext4 image cannot be mounted on a loop device here (undefined: it can). Probed once. */
export function loopSkipReason(): string | undefined {
  loopReason ??= {
    why: mountSkipReason() ?? probe("cannot mount an ext4 image on a loop device", (dir) => {
      const img = join(dir, "probe.img");
      const mnt = join(dir, "mnt");
      mkdirSync(mnt);
      const mk = sh("truncate", ["-s", "4M", img]);
      if (mk.status !== 0) return mk.out;
      const fs = sh("mkfs.ext4", ["-q", "-F", img]);
      if (fs.status !== 0) return `mkfs.ext4: ${fs.out}`;
      const lo = sh("losetup", ["-f", "--show", img]);
      if (lo.status !== 0) return `losetup: ${lo.out}`;
      const dev = lo.out.split("\n").pop()!.trim();
      try {
        const m = sh("mount", ["-o", "errors=remount-ro", dev, mnt]);
        if (m.status !== 0) return `mount: ${m.out}`;
        sh("umount", ["-l", mnt]);
        return undefined;
      } finally {
        sh("losetup", ["-d", dev]);
      }
    }),
  };
  return loopReason.why;
}

/**
 * `test` when `reason` is undefined, or when CI is set (the test then fails on `failIfMissing`);
 * else `test.skip`, with the reason printed.
 */
export function testRequiring(reason: string | undefined, label: string): typeof test {
  if (reason === undefined || process.env.CI) return test;
  console.log(`[faults] skipping ${label}: ${reason}`);
  return test.skip;
}

/** Throws when `reason` is set (the CI case of `testRequiring`: a missing capability is a failure). */
export function failIfMissing(reason: string | undefined): void {
  if (reason !== undefined) throw new Error(`${reason}; CI is set, so this is a failure, not a skip`);
}

/** A tmpfs of `size` mounted on a new directory `mnt` inside a temp dir; unmounted (`umount -l`) by `procs.disposeAll()`. */
export function mountTmpfs(procs: Processes, options: { size: string; prefix: string }): string {
  const dir = procs.tempDir(options.prefix);
  const mnt = join(dir, "mnt");
  mkdirSync(mnt);
  mustSh("mount", ["-t", "tmpfs", "-o", `size=${options.size},mode=0755`, "tmpfs", mnt]);
  procs.track({ dispose: () => void sh("umount", ["-l", mnt]) });
  console.log(`[faults] mounted tmpfs size=${options.size} on ${mnt}`);
  return mnt;
}

/** An ext4 file system on a loop device, mounted `errors=remount-ro` on `mnt`; `device` is its loop device. */
export interface Ext4Mount {
  mnt: string;
  device: string;
  /**
   * Makes the file system read-only under whatever has files open on it, as the kernel does
   * after a disk error (`/sys/fs/ext4/<dev>/trigger_fs_error` with `errors=remount-ro`):
   * later writes fail with EROFS; reads go on.
   */
  turnReadOnly(): void;
}

/** Mounts a fresh ext4 image of `size` (truncate syntax) on a loop device; undone by `procs.disposeAll()`. */
export function mountExt4(procs: Processes, options: { size: string; prefix: string }): Ext4Mount {
  const dir = procs.tempDir(options.prefix);
  const img = join(dir, "fs.img");
  const mnt = join(dir, "mnt");
  mkdirSync(mnt);
  writeFileSync(img, "");
  mustSh("truncate", ["-s", options.size, img]);
  mustSh("mkfs.ext4", ["-q", "-F", img]);
  const device = mustSh("losetup", ["-f", "--show", img]).split("\n").pop()!.trim();
  procs.track({ dispose: () => void sh("losetup", ["-d", device]) });
  mustSh("mount", ["-o", "errors=remount-ro", device, mnt]);
  procs.track({ dispose: () => void sh("umount", ["-l", mnt]) });
  console.log(`[faults] mounted ext4 (errors=remount-ro) on ${device} at ${mnt}`);
  return {
    mnt,
    device,
    turnReadOnly() {
      writeFileSync(`/sys/fs/ext4/${basename(device)}/trigger_fs_error`, "ampbus fault test: turn read-only\n");
    },
  };
}

/** The mount options of `mnt` from /proc/mounts ("" when not mounted). */
export function mountOptions(mnt: string): string {
  for (const line of readFileSync("/proc/mounts", "utf8").split("\n")) {
    const f = line.split(" ");
    if (f[1] === mnt) return f[3] ?? "";
  }
  return "";
}
