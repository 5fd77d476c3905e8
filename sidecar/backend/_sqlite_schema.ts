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
export const SCHEMA_VERSION = 2;

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
    msg        BLOB    NOT NULL
  );
  CREATE UNIQUE INDEX entries_by_id ON entries (stream_id, ms, seq);
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
  // 1 -> 2: what trim, retention and purge removed per stream, and the stream's own retention (JSON).
  `
  ALTER TABLE streams ADD COLUMN removed_trim INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE streams ADD COLUMN removed_retention INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE streams ADD COLUMN removed_purge INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE streams ADD COLUMN dropped_pending INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE streams ADD COLUMN retention TEXT;
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

/** The first 108 bytes of the file (SQLite's database header and the first page's header), or undefined for a missing or empty file. */
function fileHeader(path: string): Buffer | undefined {
  if (!existsSync(path) || statSync(path).size === 0) return undefined;
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(108);
    const n = readSync(fd, buf, 0, 108, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

function refuseNewer(path: string, version: number): never {
  throw new StoreRefusedError(
    `${path} is an ampd store of schema version ${version}, newer than this ampd knows (${SCHEMA_VERSION}); run the newer ampd that wrote it, or upgrade`,
  );
}

/**
 * Reads the store's mark and version from the file's header bytes, without
 * SQLite opening it (which could leave `-wal`/`-shm` files beside someone
 * else's database): application_id at offset 68, user_version at 60, and
 * the first page's table count (the cells of the `sqlite_schema` leaf at 100).
 * Throws `StoreRefusedError` for a foreign or newer file; returns 0 for an
 * empty one. `openStore()` checks again through SQLite once the file is open.
 */
function inspect(path: string): number {
  const header = fileHeader(path);
  if (header === undefined) return 0;
  if (header.length < 108 || header.subarray(0, 16).toString("latin1") !== SQLITE_MAGIC) {
    throw new StoreRefusedError(`${path} is not an ampd store (not an SQLite database); ampd leaves it alone: pass another --data`);
  }
  const markedId = header.readUInt32BE(68);
  if (markedId === APPLICATION_ID) {
    const version = header.readUInt32BE(60);
    if (version > SCHEMA_VERSION) refuseNewer(path, version);
    return version;
  }
  if (markedId !== 0) {
    throw new StoreRefusedError(`${path} is not an ampd store (an SQLite database with application_id 0x${markedId.toString(16)}); ampd leaves it alone: pass another --data`);
  }
  const emptyLeaf = header[100] === 0x0d && header.readUInt16BE(103) === 0;
  if (!emptyLeaf) refuseForeign(path);
  return 0;
}

function refuseForeign(path: string, tables?: string[]): never {
  const what = tables === undefined ? "tables" : `tables ${tables.join(", ")}`;
  throw new StoreRefusedError(`${path} is not an ampd store (an SQLite database with ${what} and no ampd mark); ampd leaves it alone: pass another --data`);
}

/** A store that cannot be written, opened for reads (a new or older one cannot be: it needs writing first). */
function readOnly(path: string, foundVersion: number): OpenedStore {
  if (foundVersion < SCHEMA_VERSION) {
    throw new StoreRefusedError(`${path} is read-only and ${foundVersion === 0 ? "not yet a store" : `of schema version ${foundVersion}, which needs a migration`}`);
  }
  return { db: new Database(path, { readonly: true, strict: true }), readOnly: true, foundVersion };
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
  let foundVersion = inspect(path);
  let db: Database;
  try {
    db = new Database(path, { create: true, readwrite: true, strict: true });
  } catch (e) {
    if (!isReadOnlyError(e)) throw new StoreRefusedError(`${path}: cannot open: ${(e as Error).message}`, { cause: e });
    return readOnly(path, foundVersion);
  }
  try {
    db.exec("PRAGMA busy_timeout = 0");
    if (options.exclusive) db.exec("PRAGMA locking_mode = EXCLUSIVE");
    // The header may be older than a write-ahead log a killed ampd left: SQLite's answer now is the one that counts.
    const version = (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
    const appId = (db.query("PRAGMA application_id").get() as { application_id: number }).application_id;
    const tables = (db.query("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name LIMIT 5").all() as { name: string }[]).map((r) => r.name);
    if (appId !== APPLICATION_ID && (appId !== 0 || tables.length > 0)) refuseForeign(path, tables);
    if (version > SCHEMA_VERSION) refuseNewer(path, version);
    foundVersion = version;
  } catch (e) {
    db.close();
    if (e instanceof StoreRefusedError) throw e;
    throw new StoreRefusedError(`${path} is not an ampd store (${(e as Error).message}); ampd leaves it alone: pass another --data`, { cause: e });
  }
  try {
    db.exec("PRAGMA journal_mode = WAL");
  } catch (e) {
    db.close();
    if (!isReadOnlyError(e)) throw new StoreRefusedError(`${path}: cannot open: ${(e as Error).message}`, { cause: e });
    return readOnly(path, foundVersion);
  }
  // Both modes commit with NORMAL; with "full", SqliteBackend fdatasyncs the log before answering (WalSyncer).
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec("PRAGMA journal_size_limit = 67108864"); // a checkpointed log is cut back to 64 MiB
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
