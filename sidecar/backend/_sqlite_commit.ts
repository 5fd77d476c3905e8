/**
 * Group commit for the SQLite store: every write (add, trim, group delivery,
 * ack...) is a job queued here; the jobs queued while the event loop handled
 * one round of I/O run together in one transaction, and each job's promise
 * settles only after that transaction is committed with the store's sync
 * mode. So "acknowledged" means "on disk", and a thousand adds that arrive
 * together cost one fsync, not a thousand.
 *
 * When a batch fails, it is rolled back whole and the in-memory caches are
 * put back by the undo steps the jobs registered. A fault of the store (disk
 * full, a read-only file, an I/O error) fails every job of the batch; any
 * other error (a job that throws) has each job retried alone in its own
 * transaction, so only the jobs that fail on their own are refused.
 *
 * @module
 */
import type { Database } from "bun:sqlite";
import { closeSync, fdatasync, openSync } from "node:fs";

interface Job {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** What `GroupCommit` calls around its transactions. */
export interface CommitHooks {
  /** Inside the transaction, after the jobs and before COMMIT: write what the jobs left in caches. */
  beforeCommit(): void;
  /** After COMMIT: settle the caches; returns what wakes readers of what was written, to run once it is durable. */
  afterCommit(): (() => void) | undefined;
  /** After COMMIT: a promise of the commit being on disk when the store syncs outside SQLite, else undefined. */
  durable(): Promise<void> | undefined;
  /** After ROLLBACK: undo the cache changes of the jobs that ran. */
  afterRollback(): void;
  /** Turns an SQLite error into the error a job's caller sees. */
  mapError(error: unknown): unknown;
  /** True for an error (from `mapError`) of the store itself, not of one job: the batch is not retried job by job. */
  isStorageFault(error: unknown): boolean;
}

/** Batches writes into shared transactions; see the module doc. */
export class GroupCommit {
  #db: Database;
  #hooks: CommitHooks;
  #jobs: Job[] = [];
  #scheduled = false;

  constructor(db: Database, hooks: CommitHooks) {
    this.#db = db;
    this.#hooks = hooks;
  }

  /** Runs `job` inside the next shared transaction; settles after it commits. */
  run<T>(job: () => T): Promise<T> {
    const { promise, resolve, reject } = Promise.withResolvers<T>();
    this.#jobs.push({ run: job, resolve: resolve as (v: unknown) => void, reject });
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
    return promise;
  }

  /** Runs the queued jobs now (`close()` calls it so nothing accepted is dropped). */
  flush(): void {
    this.#scheduled = false;
    const jobs = this.#jobs;
    if (jobs.length === 0) return;
    this.#jobs = [];
    const results = this.#transaction(jobs);
    if ("done" in results) {
      const { done, wake, synced } = results;
      const answer = () => {
        wake?.();
        for (let i = 0; i < jobs.length; i++) jobs[i]!.resolve(done[i]);
      };
      if (synced === undefined) return answer();
      synced.then(answer, (e) => {
        const error = this.#hooks.mapError(e);
        for (const job of jobs) job.reject(error);
      });
      return;
    }
    if (jobs.length === 1 || this.#hooks.isStorageFault(results.error)) {
      // A full disk or a read-only file fails every job alike; retrying them one by one would
      // only spend what room is left on one transaction each.
      for (const job of jobs) job.reject(results.error);
      return;
    }
    for (const job of jobs) {
      const alone = this.#transaction([job]);
      if (!("done" in alone)) {
        job.reject(alone.error);
        continue;
      }
      alone.wake?.();
      if (alone.synced === undefined) job.resolve(alone.done[0]);
      else alone.synced.then(() => job.resolve(alone.done[0]), (e) => job.reject(this.#hooks.mapError(e)));
    }
  }

  /** One transaction over `jobs`: their results (with what to do once durable), or (after a rollback) the error callers see. */
  #transaction(jobs: Job[]): Committed | { error: unknown } {
    const db = this.#db;
    const results: unknown[] = new Array(jobs.length);
    try {
      db.exec("BEGIN IMMEDIATE");
      for (let i = 0; i < jobs.length; i++) results[i] = jobs[i]!.run();
      this.#hooks.beforeCommit();
      db.exec("COMMIT");
    } catch (e) {
      if (db.inTransaction) {
        try {
          db.exec("ROLLBACK");
        } catch {
          // SQLite may already have rolled back (SQLITE_FULL, SQLITE_IOERR)
        }
      }
      this.#hooks.afterRollback();
      return { error: this.#hooks.mapError(e) };
    }
    const wake = this.#hooks.afterCommit();
    return { done: results, wake, synced: this.#hooks.durable() };
  }
}

interface Committed {
  done: unknown[];
  wake: (() => void) | undefined;
  synced: Promise<void> | undefined;
}

/**
 * `--sync full` without blocking the event loop: SQLite commits with
 * `synchronous = NORMAL` (the write-ahead log is written, not fsynced), and
 * this `fdatasync`s the log on libuv's thread pool before the commit's
 * writes are answered. Meanwhile ampd goes on reading requests and forms the
 * next batch. Requests coalesce: one `fdatasync` started after a commit
 * covers it and every commit before it, so a commit waits for at most the
 * one in progress and then the next.
 */
export class WalSyncer {
  #walPath: string;
  #fd: number | undefined;
  #running: Promise<void> | undefined;
  #next: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | undefined;

  constructor(walPath: string) {
    this.#walPath = walPath;
  }

  /** Resolves once an `fdatasync` started after this call has completed. */
  sync(): Promise<void> {
    if (this.#running === undefined) return this.#start();
    this.#next ??= Promise.withResolvers<void>();
    return this.#next.promise;
  }

  /** Waits for the syncs in progress (close() calls it before closing the file). */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running.catch(() => {});
  }

  /** Closes the log's descriptor. */
  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #start(): Promise<void> {
    this.#fd ??= openSync(this.#walPath, "r+");
    const fd = this.#fd;
    const running = new Promise<void>((resolve, reject) => fdatasync(fd, (e) => (e ? reject(e) : resolve())));
    this.#running = running;
    const settle = () => {
      this.#running = undefined;
      const next = this.#next;
      this.#next = undefined;
      if (next !== undefined) this.#start().then(next.resolve, next.reject);
    };
    running.then(settle, settle);
    return running;
  }
}
