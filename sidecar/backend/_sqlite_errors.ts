/**
 * What a caller of `SqliteBackend` sees when SQLite fails a write: a
 * `BackendStorageError` whose code says what is wrong with the store
 * (`STORAGE_FULL`, `STORAGE_READ_ONLY`, `STORAGE_ERROR`) and whose message
 * names the file, SQLite's own words and that nothing of the write was
 * stored.
 *
 * @module
 */
import { accessSync, constants } from "node:fs";
import { BackendStorageError } from "../../sdk/backend/types.ts";

/** The error of a write refused because the store at `path` cannot be written. */
export function readOnlyError(path: string): BackendStorageError {
  return new BackendStorageError("STORAGE_READ_ONLY", `${path} is read-only: nothing can be stored; reads go on`);
}

/**
 * The storage error for what SQLite threw on a write to the store at
 * `path`, or undefined when `e` is not SQLite's (it then reaches the caller
 * as it is).
 *
 * @example
 * ```ts
 * const err = storageError(e, "/var/lib/ampd/store.db"); // SQLITE_FULL: code STORAGE_FULL
 * ```
 */
export function storageError(e: unknown, path: string): BackendStorageError | undefined {
  const code = String((e as { code?: string }).code ?? "");
  const detail = (e as Error).message ?? String(e);
  if (code === "SQLITE_FULL") {
    return new BackendStorageError("STORAGE_FULL", `${path}: the disk or file system is full (${detail}); nothing of this write was stored`, { cause: e });
  }
  if (code.startsWith("SQLITE_READONLY") || (code.startsWith("SQLITE_IOERR") && isReadOnlyFs(path))) {
    return new BackendStorageError("STORAGE_READ_ONLY", `${path} is read-only (${detail}); nothing of this write was stored`, { cause: e });
  }
  if (code.startsWith("SQLITE_")) {
    return new BackendStorageError("STORAGE_ERROR", `${path}: ${detail} (${code}); nothing of this write was stored`, { cause: e });
  }
  return undefined;
}

/** True when the file system holding `path` refuses writes (EROFS), as after a remount read-only. */
function isReadOnlyFs(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return false;
  } catch (e) {
    return (e as { code?: string }).code === "EROFS";
  }
}
