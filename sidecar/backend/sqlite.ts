/**
 * `SqliteBackend`: streams in one SQLite file (`bun:sqlite`, built into the
 * ampd binary), ampd's durable default. Every write goes through a group
 * commit (`_sqlite_commit.ts`): an add is answered after its transaction is
 * committed with the chosen sync mode, and adds that arrive together share
 * that transaction. The layout is documented in `docs/storage.md`, so any
 * SQLite client can read a store.
 *
 * ampd is the store's only writer: it holds an exclusive lock on the file
 * while it runs (`_sqlite_lock.ts`) and keeps stream positions and the opId
 * window in memory, loaded from the file at start.
 *
 * @module
 */
import type { Database, Statement } from "bun:sqlite";
import { resolve as resolvePath } from "node:path";
import {
  checkHeaders,
  checkMaxLen,
  checkMs,
  checkRead,
  checkRetention,
  checkStream,
  checkTrim,
  parseEntryId,
} from "../../sdk/backend/args.ts";
import { RetentionSweeper } from "../../sdk/backend/retention.ts";
import { AmpbusError } from "../../sdk/errors.ts";
import {
  BackendStorageError,
  BackendUnavailableError,
  DEFAULT_CLAIM_TIMEOUT_MS,
  DEFAULT_DEDUPE_WINDOW_MS,
} from "../../sdk/backend/types.ts";
import type {
  AddOptions,
  AddResult,
  BackendInfo,
  BackendState,
  NewEntry,
  ReadCursor,
  ReadOptions,
  Retention,
  StreamBackend,
  StreamBatch,
  StreamInfo,
  TrimOptions,
} from "../../sdk/backend/types.ts";
import { type BackendGroups, DelegatedGroups, type GroupAccess } from "./_delegated_groups.ts";
import { GroupCommit, WalSyncer } from "./_sqlite_commit.ts";
import { SqliteAdds } from "./_sqlite_adds.ts";
import { StreamCache } from "./_sqlite_cache.ts";
import { readOnlyError, storageError } from "./_sqlite_errors.ts";
import { SqliteRetention } from "./_sqlite_retention.ts";
import { ENTRY_COLUMNS, type EntryRow, rowEntry } from "./_sqlite_stream.ts";
import { SqliteGroups } from "./_sqlite_groups.ts";
import { lockStore, type StoreLock } from "./_sqlite_lock.ts";
import { BlockedReads, type WaitCursor } from "./_sqlite_waiters.ts";
import { openStore, type SyncMode } from "./_sqlite_schema.ts";

export { StoreLockedError } from "./_sqlite_lock.ts";
export { StoreRefusedError, SCHEMA_VERSION, type SyncMode } from "./_sqlite_schema.ts";

/** Options of `SqliteBackend.open()`. */
export interface SqliteBackendOptions {
  /** The store's file; created when missing. */
  path: string;
  /** `full` (default): fsync before a write is answered; `normal`: may lose the last moments on power loss, never corrupts. */
  sync?: SyncMode;
  /** How long an opId is remembered per stream. 0 turns deduplication off. Defaults to 10 minutes. */
  dedupeWindowMs?: number;
  /** The default `minIdleMs` of `claim()`, and what `nack()` counts with. Defaults to 30 000. */
  claimTimeoutMs?: number;
  /** Entries older than this (ms, by entry id) are deleted; absent keeps everything. */
  retainMs?: number;
  /** The largest the file may grow to (bytes, `PRAGMA max_page_count`); past it writes fail with `STORAGE_FULL`. Absent: the disk's size. */
  maxBytes?: number;
}

/** Streams in an SQLite file; see the module doc. */
export class SqliteBackend extends DelegatedGroups implements StreamBackend {
  /** Always `"sqlite"`. */
  readonly kind = "sqlite" as const;
  /** The store's file, absolute. */
  readonly path: string;
  /** The file could not be opened for writing: reads are served, writes refused with `STORAGE_READ_ONLY`. */
  readonly readOnly: boolean;
  #db: Database;
  #lock: StoreLock;
  #commit: GroupCommit;
  /** With `--sync full`: the log's fdatasync, off the event loop. */
  #syncer: WalSyncer | undefined;
  #groups: SqliteGroups;
  #cache: StreamCache;
  #windowMs: number;
  #claimTimeoutMs: number;
  #retainMs: number | undefined;
  #state: BackendState = "ready";
  #lastError: string | undefined;
  #degraded: BackendInfo["degraded"];
  #listeners = new Set<(state: BackendState) => void>();
  #blocked = new BlockedReads((cursors, count) => this.#gather(cursors, count));
  #timers: ReturnType<typeof setInterval>[] = [];
  #adds: SqliteAdds;
  #retention: SqliteRetention;
  #sweeper: RetentionSweeper | undefined;
  #q: {
    readAfter: Statement;
    delStream: Statement;
    streamStats: Statement;
    setRetention: Statement;
  };

  private constructor(db: Database, lock: StoreLock, options: SqliteBackendOptions & { readOnly: boolean }) {
    super();
    this.#db = db;
    this.#lock = lock;
    this.path = options.path;
    this.readOnly = options.readOnly;
    this.#windowMs = checkMs("dedupeWindowMs", options.dedupeWindowMs) ?? DEFAULT_DEDUPE_WINDOW_MS;
    this.#claimTimeoutMs = checkMs("claimTimeoutMs", options.claimTimeoutMs) ?? DEFAULT_CLAIM_TIMEOUT_MS;
    this.#retainMs = checkMs("retainMs", options.retainMs);
    this.#cache = new StreamCache(db);
    const q = (sql: string) => db.prepare(sql);
    this.#q = {
      readAfter: q(`SELECT ${ENTRY_COLUMNS} FROM entries WHERE stream_id = ? AND (ms, seq) > (?, ?) ORDER BY ms, seq LIMIT ?`),
      delStream: q("DELETE FROM streams WHERE id = ?"),
      streamStats: q("SELECT removed_trim, removed_retention, removed_purge, dropped_pending, retention FROM streams WHERE id = ?"),
      setRetention: q("UPDATE streams SET retention = ? WHERE id = ?"),
    };
    this.#commit = new GroupCommit(db, {
      beforeCommit: () => this.#cache.writeDirty(),
      afterCommit: () => this.#afterCommit(),
      durable: () => this.#syncer?.sync(),
      afterRollback: () => this.#cache.rolledBack(),
      mapError: (e) => this.#storageError(e),
      isStorageFault: (e) => e instanceof BackendStorageError,
    });
    this.#groups = new SqliteGroups(db, {
      stream: (name, create) => (create ? this.#cache.forWrite(name) : this.#cache.get(name)),
      write: (job) => this.#write(job),
      waitForAdd: (stream, after, wait) => this.read([{ stream, after }], { count: 1, block: wait.block, signal: wait.signal }),
      claimTimeoutMs: this.#claimTimeoutMs,
      isClosed: () => this.#state === "closed",
    });
    this.#retention = new SqliteRetention(db, {
      groups: this.#groups,
      host: this.#cache,
    });
    this.#adds = new SqliteAdds(db, { windowMs: this.#windowMs, cache: this.#cache, retention: this.#retention });
    if (options.sync !== "normal" && !options.readOnly) this.#syncer = new WalSyncer(`${options.path}-wal`);
    this.#cache.load({ dedupe: this.#windowMs > 0 });
    if (!this.readOnly) this.#startTimers();
    if (this.readOnly) this.#setState("degraded", { code: "STORAGE_READ_ONLY", message: `${this.path} is read-only` });
  }

  /**
   * Opens the store at `options.path`, creating it when missing. Rejects with
   * `StoreLockedError` when another process holds it, and `StoreRefusedError`
   * when the file is not an ampd store or is of a newer schema (the file is
   * left untouched).
   */
  static async open(options: SqliteBackendOptions): Promise<SqliteBackend> {
    const path = resolvePath(options.path);
    let lock: StoreLock;
    let readOnly = false;
    try {
      lock = await lockStore(path, { readOnly: false });
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== "EROFS" && code !== "EACCES") throw e;
      lock = await lockStore(path, { readOnly: true });
      readOnly = true;
    }
    try {
      const opened = openStore(path, { sync: options.sync ?? "full", exclusive: !lock.held, maxBytes: options.maxBytes });
      return new SqliteBackend(opened.db, lock, { ...options, path, readOnly: readOnly || opened.readOnly });
    } catch (e) {
      lock.release();
      throw e;
    }
  }

  /** Appends `entry` unless its `opId` was added to `stream` within the dedupe window; answered once on disk. */
  add(stream: string, entry: NewEntry, options?: AddOptions): Promise<AddResult> {
    try {
      this.#checkWritable();
      checkStream(stream);
      checkHeaders(entry.headers);
      if (options?.maxLen !== undefined) checkMaxLen(options.maxLen);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#commit.run(() => this.#adds.add(stream, { entry, maxLen: options?.maxLen }));
  }

  /** Reads entries after each cursor; with `block`, waits for the first commit that adds to any of them. */
  read(cursors: readonly ReadCursor[], options?: ReadOptions): Promise<StreamBatch[]> {
    let checked;
    try {
      this.#checkOpen();
      checked = checkRead(cursors, options);
    } catch (e) {
      return Promise.reject(e);
    }
    const { count, block } = checked;
    const wc: WaitCursor[] = [];
    for (const c of cursors) {
      const s = this.#cache.get(c.stream);
      if (c.after === "$") {
        if (block === undefined) continue;
        wc.push({ stream: c.stream, ms: s?.lastMs ?? 0, seq: s?.lastSeq ?? 0 });
      } else {
        const { ms, seq } = parseEntryId(c.after);
        wc.push({ stream: c.stream, ms, seq });
      }
    }
    const now = this.#gather(wc, count);
    if (now.length > 0 || block === undefined) return Promise.resolve(now);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.resolve([]);
    return this.#blocked.wait(wc, { count, block, signal });
  }

  /** Deletes the oldest entries past the limits, under the interest policy never one a group still needs (`StreamBackend.trim`). */
  trim(stream: string, options: TrimOptions): Promise<number> {
    return this.#writeChecked(() => {
      checkStream(stream);
      return checkTrim(options);
    }, (t) => {
      const s = this.#cache.get(stream);
      return s === undefined ? 0 : this.#retention.trim(s, t);
    });
  }

  /** Deletes every entry and opId of `stream`; its groups stay (`StreamBackend.purge`). */
  purge(stream: string): Promise<number> {
    return this.#writeChecked(() => checkStream(stream), () => {
      const s = this.#cache.get(stream);
      return s === undefined ? 0 : this.#retention.purge(s);
    });
  }

  /** Deletes `stream` with its groups, opIds, retention and counts (`StreamBackend.deleteStream`). */
  deleteStream(stream: string): Promise<boolean> {
    return this.#writeChecked(() => checkStream(stream), () => {
      const s = this.#cache.get(stream);
      if (s === undefined) return false;
      this.#retention.deleteRows(s.id);
      this.#groups.deleteAll(s.id);
      this.#q.delStream.run(s.id);
      this.#cache.delete(s);
      return true;
    });
  }

  /** Sets or clears the stream's own retention, kept in its row (`StreamBackend.setRetention`). */
  setRetention(stream: string, retention: Retention | undefined): Promise<void> {
    return this.#writeChecked(() => {
      checkStream(stream);
      return retention === undefined ? undefined : checkRetention(retention);
    }, (r) => {
      if (r === undefined && !this.#cache.has(stream)) return;
      const s = this.#cache.forWrite(stream);
      this.#q.setRetention.run(r === undefined ? null : JSON.stringify(r), s.id);
    });
  }

  /** Length and first/last entry id of `stream` (0 and nulls when it does not exist). */
  info(stream: string): Promise<StreamInfo> {
    try {
      this.#checkOpen();
      checkStream(stream);
    } catch (e) {
      return Promise.reject(e);
    }
    const s = this.#cache.get(stream);
    if (s === undefined) return Promise.resolve({ stream, length: 0, firstEntryId: null, lastEntryId: null, removed: { trim: 0, retention: 0, purge: 0 }, droppedPending: 0 });
    const [trim, retention, purge, droppedPending, own] = this.#q.streamStats.values(s.id)[0] as [number, number, number, number, string | null];
    const first = s.length === 0 ? undefined : this.#retention.first(s);
    const info: StreamInfo = {
      stream,
      length: s.length,
      firstEntryId: first === undefined ? null : `${first.ms}-${first.seq}`,
      lastEntryId: s.length === 0 ? null : `${s.lastMs}-${s.lastSeq}`,
      removed: { trim, retention, purge },
      droppedPending,
    };
    if (own !== null) info.retention = JSON.parse(own) as Retention;
    return Promise.resolve(info);
  }

  /** Names of the streams that exist, sorted; at most `limit` (default 10 000). */
  streams(options: { limit?: number } = {}): Promise<string[]> {
    try {
      this.#checkOpen();
    } catch (e) {
      return Promise.reject(e);
    }
    return Promise.resolve([...this.#cache.names()].sort().slice(0, options.limit ?? 10_000));
  }

  /** State and counters; `path` is the store's file. */
  backendInfo(): BackendInfo {
    const info: BackendInfo = { kind: "sqlite", state: this.#state, dedupeHits: this.#adds.dedupeHits, reconnects: 0, path: this.path, removed: { ...this.#retention.removed } };
    if (this.#lastError !== undefined) info.lastError = this.#lastError;
    if (this.#state === "degraded" && this.#degraded !== undefined) info.degraded = this.#degraded;
    return info;
  }

  /** Calls `listener` on state changes (`degraded` while writes fail, `ready` again, `closed`); returns the remover. */
  onStateChange(listener: (state: BackendState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Commits what is queued, resolves blocked reads with no entries, and closes the file (leaving it in rollback-journal mode, one self-contained file). */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    this.#commit.flush();
    await this.#syncer?.idle();
    this.#syncer?.close();
    this.#setState("closed");
    for (const t of this.#timers) clearInterval(t);
    this.#sweeper?.stop();
    this.#blocked.endAll();
    try {
      if (!this.readOnly) this.#db.exec("PRAGMA journal_mode = DELETE");
    } catch {
      // another connection (an outside reader) keeps the WAL open: it stays, and is replayed at the next start
    }
    this.#db.close();
    this.#lock.release();
  }

  // --- writes, inside a GroupCommit transaction ---

  /** Checks that the store can write, then the arguments (`check`, whose result `job` gets), then runs `job` in the next write. */
  #writeChecked<A, T>(check: () => A, job: (checked: A) => T): Promise<T> {
    let checked: A;
    try {
      this.#checkWritable();
      checked = check();
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#write(() => job(checked));
  }

  #write<T>(job: () => T): Promise<T> {
    if (this.#state === "closed") return Promise.reject(closedError());
    if (this.readOnly) return Promise.reject(readOnlyError(this.path));
    return this.#commit.run(job);
  }

  #afterCommit(): (() => void) | undefined {
    this.#cache.committed();
    if (this.#state === "degraded" && !this.readOnly) this.#setState("ready");
    const added = this.#cache.takeAdded();
    if (added === undefined) return undefined;
    return () => {
      if (this.#state !== "closed") this.#blocked.wake(added);
    };
  }

  // --- reads ---

  #gather(cursors: readonly WaitCursor[], count: number): StreamBatch[] {
    const out: StreamBatch[] = [];
    for (const c of cursors) {
      const s = this.#cache.get(c.stream);
      if (s === undefined || s.length === 0) continue;
      if (c.ms > s.lastMs || (c.ms === s.lastMs && c.seq >= s.lastSeq)) continue;
      const rows = this.#q.readAfter.values(s.id, c.ms, c.seq, count) as unknown as EntryRow[];
      if (rows.length > 0) out.push({ stream: c.stream, entries: rows.map(rowEntry) });
    }
    return out;
  }

  // --- start-up, timers, state ---

  #startTimers(): void {
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      (t as { unref?: () => void }).unref?.();
      this.#timers.push(t);
    };
    if (this.#windowMs > 0) {
      every(Math.max(1000, Math.min(this.#windowMs, 60_000)), () => this.#sweep());
      void this.#write(() => this.#adds.deleteExpired(Number.MAX_SAFE_INTEGER, Date.now())).catch(() => {});
    }
    const retain = this.#retainMs;
    if (retain !== undefined) this.#sweeper = new RetentionSweeper(this, { defaults: { policy: "interest", maxAgeMs: retain } });
  }

  #sweep(): void {
    const now = Date.now();
    const upTo = this.#adds.sweep(now);
    if (upTo === undefined) return;
    void this.#write(() => this.#adds.deleteExpired(upTo, now)).catch(() => {});
  }

  /** Runs a group operation: argument errors and storage errors reject; reads-only ones also run on a read-only store. */
  protected async groupCall<T>(call: (groups: BackendGroups) => Promise<T> | T, access: GroupAccess): Promise<T> {
    this.#checkOpen();
    if (access === "write") this.#checkWritable();
    return await call(this.#groups);
  }

  #checkOpen(): void {
    if (this.#state === "closed") throw closedError();
  }

  #checkWritable(): void {
    this.#checkOpen();
    if (this.readOnly) throw readOnlyError(this.path);
  }

  /** The error a caller sees for what SQLite threw; marks the backend degraded for storage faults. */
  #storageError(e: unknown): unknown {
    if (e instanceof AmpbusError) return e;
    const err = storageError(e, this.path);
    if (err === undefined) return e;
    this.#setState("degraded", { code: err.code as BackendInfo["degraded"], message: err.message });
    return err;
  }

  #setState(state: BackendState, why?: { code: BackendInfo["degraded"]; message: string }): void {
    if (why !== undefined) {
      this.#degraded = why.code;
      this.#lastError = why.message;
    }
    if (state === this.#state) return;
    this.#state = state;
    for (const l of this.#listeners) l(state);
  }
}

function closedError(): BackendUnavailableError {
  return new BackendUnavailableError("sqlite backend is closed");
}
