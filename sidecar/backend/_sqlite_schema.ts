/**
 * The SQLite store's layout (docs/storage.md) and how a file is opened: the
 * checks that refuse a file that is not an ampd store or is from a newer
 * ampd, and the migrations that bring an older store up to date. A refused
 * file is never written to.
 *
 * @module
 */
import { Database } from "bun:sqlite";
import { existsSync, openSync, readSync, closeSync, statSync } from "node:fs";

/** `PRAGMA application_id` of an ampd store: "ampb" in ASCII. */
export const APPLICATION_ID = 0x616d7062;

/** The schema version this ampd writes (`PRAGMA user_version`). */
export const SCHEMA_VERSION = 1;

/**
 * Migrations by the version they start from: `MIGRATIONS[v]` turns a store of
 * version `v` into version `v + 1`. All of the steps a start needs run in one
 * transaction, so a store is either migrated wholly or left as it was.
 * Version 0 is the empty file.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE streams (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    last_ms    INTEGER NOT NULL,
    last_seq   INTEGER NOT NULL,
    length     INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE entries (
    stream_id  INTEGER NOT NULL,
    ms         INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    id         TEXT    NOT NULL,
    op_id      TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    sender     TEXT    NOT NULL,
    receiver   TEXT    NOT NULL,
    tier       TEXT,
    expires_at INTEGER,
    msg        BLOB    NOT NULL,
    PRIMARY KEY (stream_id, ms, seq)
  ) WITHOUT ROWID;
  CREATE TABLE dedupe (
    stream_id  INTEGER NOT NULL,
    op_id      TEXT    NOT NULL,
    entry_ms   INTEGER NOT NULL,
    entry_seq  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE TABLE groups (
    id         INTEGER PRIMARY KEY,
    stream_id  INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    last_ms    INTEGER NOT NULL,
    last_seq   INTEGER NOT NULL,
    UNIQUE (stream_id, name)
  );
  CREATE TABLE consumers (
    group_id   INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    seen_at    INTEGER NOT NULL,
    PRIMARY KEY (group_id, name)
  ) WITHOUT ROWID;
  CREATE TABLE pending (
    group_id     INTEGER NOT NULL,
    ms           INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    consumer     TEXT    NOT NULL,
    delivered_at INTEGER NOT NULL,
    deliveries   INTEGER NOT NULL,
    PRIMARY KEY (group_id, ms, seq)
  ) WITHOUT ROWID;
  `,
];

/** How SQLite syncs a commit: `full` fsyncs before the reply, `normal` at checkpoints only. */
export type SyncMode = "full" | "normal";

/** A file ampd will not open as its store: not an ampd store, a newer schema, unreadable. */
export class StoreRefusedError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreRefusedError";
  }
}

const SQLITE_MAGIC = "SQLite format 3\0";

/** What `openStore()` opened. */
export interface OpenedStore {
  db: Database;
  /** The file could not be opened for writing: reads only. */
  readOnly: boolean;
  /** The schema version found before migrating (0 for a new store). */
  foundVersion: number;
}

function fileHeader(path: string): string | undefined {
  if (!existsSync(path) || statSync(path).size === 0) return undefined;
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(16);
    const n = readSync(fd, buf, 0, 16, 0);
    return buf.subarray(0, n).toString("latin1");
  } finally {
    closeSync(fd);
  }
}

/** Reads the store's mark and version without writing; throws `StoreRefusedError` for a foreign or newer file. */
function inspect(path: string): number {
  const header = fileHeader(path);
  if (header === undefined) return 0;
  if (header !== SQLITE_MAGIC) throw new StoreRefusedError(`${path} is not an ampd store (not an SQLite database); ampd leaves it alone: pass another --data`);
  let db: Database;
  try {
    db = new Database(path, { readonly: true });
  } catch (e) {
    throw new StoreRefusedError(`${path}: cannot open: ${(e as Error).message}`, { cause: e });
  }
  try {
    const appId = (db.query("PRAGMA application_id").get() as { application_id: number }).application_id;
    const version = (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
    if (appId !== APPLICATION_ID) {
      const tables = (db.query("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name LIMIT 5").all() as { name: string }[]).map((r) => r.name);
      if (appId !== 0 || tables.length > 0) {
        const what = appId !== 0 ? `application_id 0x${appId.toString(16)}` : `tables ${tables.join(", ")}`;
        throw new StoreRefusedError(`${path} is not an ampd store (an SQLite database with ${what}); ampd leaves it alone: pass another --data`);
      }
      return 0;
    }
    if (version > SCHEMA_VERSION) {
      throw new StoreRefusedError(
        `${path} is an ampd store of schema version ${version}, newer than this ampd knows (${SCHEMA_VERSION}); run the newer ampd that wrote it, or upgrade`,
      );
    }
    return version;
  } catch (e) {
    if (e instanceof StoreRefusedError) throw e;
    throw new StoreRefusedError(`${path} is not an ampd store (${(e as Error).message}); ampd leaves it alone: pass another --data`, { cause: e });
  } finally {
    db.close();
  }
}

function isReadOnlyError(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? "";
  return code.startsWith("SQLITE_READONLY") || code === "SQLITE_CANTOPEN" || code === "EROFS" || code === "EACCES";
}

/**
 * Opens (creating or migrating) the store at `path`. Throws
 * `StoreRefusedError` when the file is not an ampd store or is newer; a file
 * that cannot be written is opened for reads only (`readOnly`).
 */
export function openStore(path: string, options: { sync: SyncMode; exclusive: boolean; maxBytes?: number }): OpenedStore {
  const foundVersion = inspect(path);
  let db: Database;
  try {
    db = new Database(path, { create: true, readwrite: true, strict: true });
    db.exec("PRAGMA busy_timeout = 0");
    if (options.exclusive) db.exec("PRAGMA locking_mode = EXCLUSIVE");
    db.exec("PRAGMA journal_mode = WAL");
  } catch (e) {
    if (!isReadOnlyError(e)) throw new StoreRefusedError(`${path}: cannot open: ${(e as Error).message}`, { cause: e });
    if (foundVersion < SCHEMA_VERSION) {
      throw new StoreRefusedError(`${path} is read-only and ${foundVersion === 0 ? "not yet a store" : `of schema version ${foundVersion}, which needs a migration`}`);
    }
    return { db: new Database(path, { readonly: true, strict: true }), readOnly: true, foundVersion };
  }
  db.exec(`PRAGMA synchronous = ${options.sync === "full" ? "FULL" : "NORMAL"}`);
  if (foundVersion < SCHEMA_VERSION) {
    db.transaction(() => {
      for (let v = foundVersion; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
      db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    }).immediate();
  }
  if (options.maxBytes !== undefined) {
    const pageSize = (db.query("PRAGMA page_size").get() as { page_size: number }).page_size;
    db.exec(`PRAGMA max_page_count = ${Math.max(1, Math.floor(options.maxBytes / pageSize))}`);
  }
  return { db, readOnly: false, foundVersion };
}
