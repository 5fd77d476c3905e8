/**
 * The store's process lock: an exclusive `flock(2)` on the database file,
 * held for as long as the backend is open. A second ampd on the same file
 * gets `EWOULDBLOCK` at start and refuses to run; the kernel drops the lock
 * when the process dies, however it dies, so a SIGKILLed ampd leaves no stale
 * lock behind. SQLite's own locks are `fcntl` byte-range locks, independent
 * of `flock`, so outside SQLite clients can still read the store while ampd
 * runs.
 *
 * `flock` is reached through `bun:ffi` (libc). Where that is not possible,
 * the caller falls back to SQLite's exclusive locking mode (which also keeps
 * a second ampd out, but keeps outside readers out too).
 *
 * @module
 */
import { closeSync, openSync } from "node:fs";

const LOCK_EX = 2;
const LOCK_NB = 4;

type Flock = (fd: number, op: number) => number;

let flockFn: Flock | null | undefined;

async function loadFlock(): Promise<Flock | null> {
  if (flockFn !== undefined) return flockFn;
  try {
    const { dlopen, FFIType } = await import("bun:ffi");
    const lib = process.platform === "darwin" ? "libc.dylib" : "libc.so.6";
    const libc = dlopen(lib, { flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } });
    flockFn = (fd, op) => libc.symbols.flock(fd, op) as number;
  } catch {
    flockFn = null;
  }
  return flockFn;
}

/** The store file is locked by another process. */
export class StoreLockedError extends Error {
  constructor(path: string) {
    super(`${path} is locked by another process (another ampd serving this store?); stop it or pass another --data`);
    this.name = "StoreLockedError";
  }
}

/** A held lock; `release()` drops it (closing the descriptor). */
export interface StoreLock {
  /** false when `flock` was not available: the caller must lock another way. */
  readonly held: boolean;
  release(): void;
}

/**
 * Takes the lock on `path` (created empty when missing, unless `readOnly`).
 * Throws `StoreLockedError` when another process holds it.
 */
export async function lockStore(path: string, options: { readOnly: boolean }): Promise<StoreLock> {
  const flock = await loadFlock();
  if (flock === null) return { held: false, release() {} };
  const fd = openSync(path, options.readOnly ? "r" : "a");
  if (flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    closeSync(fd);
    throw new StoreLockedError(path);
  }
  let open = true;
  return {
    held: true,
    release() {
      if (!open) return;
      open = false;
      closeSync(fd); // closing the last descriptor of the open file releases the flock
    },
  };
}
