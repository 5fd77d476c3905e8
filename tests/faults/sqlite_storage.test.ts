/**
 * The SQLite store's file under real faults, each with real ampd processes:
 *
 * - a second ampd on the same `--data` exits 1 naming the lock; the first keeps serving;
 * - a full file system (a 2 MiB tmpfs): adds fail with `STORAGE_FULL` naming the file,
 *   nothing acknowledged is lost, reads and ping go on, and adds work again once space
 *   is freed (the failed add, retried, is stored once);
 * - a read-only store (a stopped store's tmpfs remounted read-only): ampd serves reads,
 *   adds fail with `STORAGE_READ_ONLY`;
 * - a file system that turns read-only under a running ampd (ext4 on a loop device,
 *   errors=remount-ro, after a file-system error): adds fail naming the file, reads go
 *   on, and what was acknowledged before is on the disk;
 * - a file of random bytes, a damaged SQLite file and another program's SQLite database:
 *   refused with `not an ampd store`, left byte for byte as they were;
 * - a store of a newer schema version: refused naming the version, left as it was;
 * - a restart (SIGTERM, SIGKILL, SIGKILL with `--sync normal`) keeps the whole history,
 *   in order, under the entry ids the adds were answered with, and the opId window.
 *
 * The file-system faults need root (mount); without it they are skipped with the
 * reason printed, except under CI, where they fail.
 */
import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "../../sdk/client/connect.ts";
import type { AmpClient } from "../../sdk/client/client.ts";
import type { Delivery } from "../../sdk/client/types.ts";
import type { AISPMessage } from "../../sdk/envelope/envelope.ts";
import { BusError } from "../../sdk/errors.ts";
import type { Ampd } from "../_helpers/ampd.ts";
import { numbered, printFigures, Processes } from "./_fault.ts";
import {
  failIfMissing,
  loopSkipReason,
  mountExt4,
  mountOptions,
  mountSkipReason,
  mountTmpfs,
  mustSh,
  orderProblem,
  readAll,
  runSqlite,
  sh,
  sha256File,
  startSqlite,
  testRequiring,
  tryStartSqlite,
} from "./_sqlite.ts";

const procs = new Processes();
afterEach(() => procs.disposeAll());

const STREAM = "faults.sqlite-storage";

/** A client without reconnection (errors surface as they are), closed by `disposeAll()`. */
async function client(socket: string, name: string, options: { requestTimeout?: number } = {}): Promise<AmpClient> {
  const bus = await connect({ socket, name, reconnect: false, requestTimeout: options.requestTimeout });
  procs.track({ dispose: () => bus.close().catch(() => {}) });
  return bus;
}

/** Starts ampd on `data`, stopped (SIGKILL) by `disposeAll()` if still running. */
async function serve(data: string, options: { socket?: string; args?: string[] } = {}): Promise<Ampd> {
  return procs.track(await startSqlite(data, options));
}

/** Adds messages `from..from+n-1` of `run`, `concurrency` at a time; opId -> entry id of each reply. */
async function addMany(bus: AmpClient, run: string, options: { n: number; from?: number; concurrency?: number; pad?: number }): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const end = (options.from ?? 0) + options.n;
  let next = options.from ?? 0;
  const worker = async () => {
    while (next < end) {
      const msg = numbered(run, next++, { pad: options.pad });
      const r = await bus.streamAdd(STREAM, msg);
      if (r.duplicate) throw new Error(`${msg.opId}: answered duplicate on its first add`);
      out.set(msg.opId, r.entryId);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 1 }, worker));
  return out;
}

/** The error of an add that must fail. */
async function addError(bus: AmpClient, msg: AISPMessage): Promise<BusError> {
  try {
    const r = await bus.streamAdd(STREAM, msg);
    throw new Error(`add of ${msg.opId} was expected to fail but was stored as ${r.entryId}`);
  } catch (e) {
    if (!(e instanceof BusError)) throw e;
    return e;
  }
}

/** The history is exactly `acked` (opId -> entry id), in entry-id order; returns a problem or undefined. */
function historyProblem(history: Delivery[], acked: Map<string, string>): string | undefined {
  const order = orderProblem(history.map((d) => d.entryId));
  if (order !== undefined) return order;
  if (history.length !== acked.size) return `history has ${history.length} entries, ${acked.size} were acknowledged`;
  for (const d of history) {
    const want = acked.get(d.message.opId);
    if (want === undefined) return `history holds ${d.message.opId} (${d.entryId}), never acknowledged`;
    if (want !== d.entryId) return `${d.message.opId} is at ${d.entryId}, its add was answered ${want}`;
  }
  return undefined;
}

/** Files in `dir` (sorted), to see that a refused start created none. */
const filesIn = (dir: string) => readdirSync(dir).sort();

const STARTUP_REFUSAL = /cannot start:/;

describe("sqlite store: the lock", () => {
  test("a second ampd on the same --data exits 1 naming the lock; the first keeps serving", async () => {
    const dir = procs.tempDir("ampd-sqlite-lock-");
    const data = join(dir, "ampd.db");
    const first = await serve(data, { socket: join(dir, "first.sock") });
    const bus = await client(first.socket, "lock-first");
    const before = await addMany(bus, "lk", { n: 10 });

    const second = join(dir, "second.sock");
    const refused = await runSqlite(data, second);
    console.log(`[faults] sqlite-lock: second ampd exit=${refused.code} stderr=${JSON.stringify(refused.stderr.trim())}`);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(STARTUP_REFUSAL);
    expect(refused.stderr).toMatch(/locked/);
    expect(refused.stderr).toContain(data);
    expect(refused.stdout).not.toContain("ampd ready");
    expect(existsSync(second)).toBe(false);

    // The first one is unaffected: it adds, reads and answers ping.
    expect(first.alive).toBe(true);
    const after = await addMany(bus, "lk", { n: 10, from: 10 });
    expect(historyProblem(await readAll(bus, STREAM), new Map([...before, ...after]))).toBeUndefined();
    expect(typeof (await bus.ping())).toBe("number");

    // A stopped ampd releases the lock, and so does a killed one.
    expect(await first.stop()).toBe(0);
    const next = await serve(data, { socket: second });
    const bus2 = await client(next.socket, "lock-next");
    expect(historyProblem(await readAll(bus2, STREAM), new Map([...before, ...after]))).toBeUndefined();
    await next.kill();
    const third = await serve(data, { socket: join(dir, "third.sock") });
    const bus3 = await client(third.socket, "lock-third");
    expect((await readAll(bus3, STREAM)).length).toBe(20);
  }, 60_000);
});

describe("sqlite store: a full file system", () => {
  const reason = mountSkipReason();
  testRequiring(reason, "the full-disk test")("adds fail with STORAGE_FULL naming the file; nothing acknowledged is lost; adds work again once space is freed", async () => {
    failIfMissing(reason);
    const mnt = mountTmpfs(procs, { size: "2m", prefix: "ampd-sqlite-full-" });
    console.log("[faults] sqlite-full: mechanism: tmpfs size=2m, a filler file on it");
    const data = join(mnt, "ampd.db");
    const filler = join(mnt, "filler");
    writeFileSync(filler, Buffer.alloc(256 * 1024, 1));
    const ampd = await serve(data, { socket: join(procs.tempDir("ampd-sqlite-full-sock-"), "ampd.sock") });
    const bus = await client(ampd.socket, "full");

    // Add one message at a time until the file system is full.
    const acked = new Map<string, string>();
    let failure: { error: BusError; msg: AISPMessage } | undefined;
    for (let i = 0; i < 10_000 && failure === undefined; i++) {
      const msg = numbered("fu", i, { pad: 1500 });
      try {
        const r = await bus.streamAdd(STREAM, msg);
        expect(r.duplicate).toBe(false);
        acked.set(msg.opId, r.entryId);
      } catch (e) {
        if (!(e instanceof BusError)) throw e;
        failure = { error: e, msg };
      }
    }
    expect(failure).toBeDefined();
    const { error, msg: failed } = failure!;
    console.log(`[faults] sqlite-full: after ${acked.size} adds: ${error.code}: ${error.message}`);
    expect(error.code).toBe("STORAGE_FULL");
    expect(error.message).toContain(data);
    expect(acked.size).toBeGreaterThan(0);

    // Still full: the next add fails the same way; ampd runs, answers ping and info, and serves every acknowledged add.
    const again = await addError(bus, numbered("fu", 20_000, { pad: 1500 }));
    expect(again.code).toBe("STORAGE_FULL");
    expect(ampd.alive).toBe(true);
    expect(typeof (await bus.ping())).toBe("number");
    const info = await bus.info();
    expect(historyProblem(await readAll(bus, STREAM), acked)).toBeUndefined();
    expect((await bus.streamInfo(STREAM)).length).toBe(acked.size);

    const ackedBeforeFull = acked.size;
    // Space freed: the failed add, retried, is stored (once: it had stored nothing), and new adds work.
    rmSync(filler);
    const retried = await bus.streamAdd(STREAM, failed);
    expect(retried.duplicate).toBe(false);
    acked.set(failed.opId, retried.entryId);
    const more = await addMany(bus, "fu", { n: 5, from: 30_000, pad: 1500 });
    for (const [k, v] of more) acked.set(k, v);
    expect(historyProblem(await readAll(bus, STREAM), acked)).toBeUndefined();
    const infoAfter = await bus.info();
    expect((infoAfter.backend as { state?: string }).state).toBe("ready");

    // And all of it is in the file: after a stop and a restart, and by SQLite's own check.
    const stopCode = await ampd.stop();
    const db = new Database(data, { readonly: true });
    const integrity = (db.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check;
    db.close();
    const restarted = await serve(data, { socket: join(procs.tempDir("ampd-sqlite-full-sock-"), "ampd.sock") });
    const bus2 = await client(restarted.socket, "full-after");
    const history = await readAll(bus2, STREAM);
    printFigures("sqlite-full", {
      ackedBeforeFull,
      failedCode: error.code,
      ackedAfterFreed: acked.size - ackedBeforeFull,
      historyAfterRestart: history.length,
      stopExit: String(stopCode),
      integrity,
      backendStateWhileFull: String((info.backend as { state?: string } | undefined)?.state ?? "?"),
      backendStateAfterFreed: String((infoAfter.backend as { state?: string } | undefined)?.state ?? "?"),
    });
    expect(historyProblem(history, acked)).toBeUndefined();
    expect(integrity).toBe("ok");
    expect(stopCode).toBe(0);
  }, 60_000);

  testRequiring(reason, "the concurrent full-disk test")("concurrent adds on a full disk: each is stored and acknowledged, or refused with STORAGE_FULL and not stored", async () => {
    failIfMissing(reason);
    // Adds arriving together share a transaction; when it fails, the jobs are retried alone. This
    // checks the rollback side: a refused add leaves nothing (no entry, no opId, no id gap issue).
    // 8 MiB, 6 of them held by the filler: the store fills its 2 MiB, and freeing the filler
    // leaves room for every refused add to be retried, even each in its own transaction.
    const mnt = mountTmpfs(procs, { size: "8m", prefix: "ampd-sqlite-full2-" });
    const data = join(mnt, "ampd.db");
    const filler = join(mnt, "filler");
    writeFileSync(filler, Buffer.alloc(6 * 1024 * 1024, 1));
    const ampd = await serve(data, { socket: join(procs.tempDir("ampd-sqlite-full2-sock-"), "ampd.sock") });
    // An add answered neither way within 5 s counts as unanswered (a hang, not an outcome).
    const bus = await client(ampd.socket, "full-concurrent", { requestTimeout: 5_000 });

    const acked = new Map<string, string>();
    const refused: { msg: AISPMessage; code: string; message: string }[] = [];
    const unanswered: AISPMessage[] = [];
    let next = 0;
    const worker = async () => {
      while (refused.length < 64 && unanswered.length === 0 && next < 20_000) {
        const msg = numbered("fc", next++, { pad: 1500 });
        try {
          const r = await bus.streamAdd(STREAM, msg);
          if (r.duplicate) throw new Error(`${msg.opId}: answered duplicate on its first add`);
          acked.set(msg.opId, r.entryId);
        } catch (e) {
          if ((e as { code?: string }).code === "TIMEOUT") unanswered.push(msg);
          else if (e instanceof BusError) refused.push({ msg, code: e.code, message: e.message });
          else throw e;
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const codes = [...new Set(refused.map((r) => r.code))];
    const whileFull = await readAll(bus, STREAM);
    const ackedWhileFull = acked.size;
    const storedOps = new Set(whileFull.map((d) => d.message.opId));
    const unansweredStored = unanswered.filter((m) => storedOps.has(m.opId));
    const refusedStored = refused.filter((r) => storedOps.has(r.msg.opId));
    const info = await bus.info();
    console.log(`[faults] sqlite-full-concurrent: while full: acked=${acked.size} refused=${refused.length} (${codes.join(",")}) unanswered=${unanswered.length} (stored: ${unansweredStored.length}, e.g. ${unanswered.slice(0, 3).map((m) => m.opId).join(" ")}) refusedButStored=${refusedStored.length} backend=${JSON.stringify(info.backend)}`);
    expect(unanswered.map((m) => m.opId)).toEqual([]);
    expect(refusedStored.map((r) => r.msg.opId)).toEqual([]);
    expect(refused.length).toBeGreaterThan(0);
    expect(codes).toEqual(["STORAGE_FULL"]);
    for (const r of refused) expect(r.message).toContain(data);
    expect(ampd.alive).toBe(true);
    expect(historyProblem(whileFull, acked)).toBeUndefined();

    // Space freed: every refused add, retried (together, as a publisher's retries arrive), is
    // stored for the first time. How the retries share transactions depends on timing: on a
    // busy machine they arrive in several batches, down to one add each, and a one-add
    // transaction appends ~24 KiB of pages to the write-ahead log (checkpointed at 4 MiB). So
    // the freed 6 MiB is sized for the worst case, ≤ 79 refused × 24 KiB ≈ 1.9 MiB, plus a
    // checkpoint's copy into the database file.
    rmSync(filler);
    let retriedDuplicates = 0;
    await Promise.all(refused.map(async ({ msg }) => {
      const r = await bus.streamAdd(STREAM, msg);
      if (r.duplicate) retriedDuplicates++;
      acked.set(msg.opId, r.entryId);
    }));
    const history = await readAll(bus, STREAM);
    printFigures("sqlite-full-concurrent", {
      attempted: next,
      acked: ackedWhileFull,
      refused: refused.length,
      codes: codes.join(","),
      unanswered: unanswered.length,
      retriedDuplicates,
      history: history.length,
    });
    expect(retriedDuplicates).toBe(0);
    expect(historyProblem(history, acked)).toBeUndefined();
  }, 60_000);
});

describe("sqlite store: read-only", () => {
  const reason = mountSkipReason();
  testRequiring(reason, "the read-only store test")("a stopped store remounted read-only: ampd serves its reads; adds fail with STORAGE_READ_ONLY naming the file", async () => {
    failIfMissing(reason);
    const mnt = mountTmpfs(procs, { size: "8m", prefix: "ampd-sqlite-ro-" });
    const data = join(mnt, "ampd.db");
    const socketDir = procs.tempDir("ampd-sqlite-ro-sock-");
    const writer = await serve(data, { socket: join(socketDir, "writer.sock") });
    const acked = await addMany(await client(writer.socket, "ro-writer"), "ro", { n: 20, concurrency: 4 });
    expect(await writer.stop()).toBe(0);
    const files = filesIn(mnt);
    const sha = sha256File(data);
    mustSh("mount", ["-o", "remount,ro", mnt]);
    console.log(`[faults] sqlite-read-only: mechanism: tmpfs remounted read-only (${mountOptions(mnt)}); files ${files.join(", ")}`);

    const started = await tryStartSqlite(data, { socket: join(socketDir, "reader.sock") });
    if (started.refused !== undefined) {
      throw new Error(`ampd refused a read-only store (exit ${started.refused.code}); expected it to serve reads:\n${started.refused.stderr}`);
    }
    const ampd = procs.track(started.ampd);
    const bus = await client(ampd.socket, "ro-reader");
    expect(historyProblem(await readAll(bus, STREAM), acked)).toBeUndefined();
    expect(typeof (await bus.ping())).toBe("number");
    const error = await addError(bus, numbered("ro", 100));
    console.log(`[faults] sqlite-read-only: add: ${error.code}: ${error.message}; log: ${JSON.stringify(ampd.stderr.trim())}`);
    expect(error.code).toBe("STORAGE_READ_ONLY");
    expect(error.message).toContain(data);
    // A group needs writes too (its cursor and pending entries are stored): refused the same way.
    const groupError = await bus.group(STREAM, "g", { from: "0" }).ensure().then(() => undefined, (e: unknown) => e);
    expect(groupError).toBeInstanceOf(BusError);
    expect((groupError as BusError).code).toBe("STORAGE_READ_ONLY");
    // Reads still work after the refusals, and stopping leaves the file as it was.
    expect((await readAll(bus, STREAM)).length).toBe(acked.size);
    expect(await ampd.stop()).toBe(0);
    expect(sha256File(data)).toBe(sha);
    expect(filesIn(mnt)).toEqual(files);
  }, 60_000);

  const loopReason = loopSkipReason();
  testRequiring(loopReason, "the runtime read-only test")("the file system turns read-only under a running ampd: adds fail naming the file; reads go on; what was acknowledged is on the disk", async () => {
    failIfMissing(loopReason);
    // A tmpfs cannot be remounted read-only while ampd holds the store open for writing (the kernel
    // answers EBUSY), so this uses what makes a disk read-only under a running program in real
    // life: ext4 with errors=remount-ro after a file-system error.
    const fs = mountExt4(procs, { size: "32M", prefix: "ampd-sqlite-rofs-" });
    const data = join(fs.mnt, "ampd.db");
    const socketDir = procs.tempDir("ampd-sqlite-rofs-sock-");
    const ampd = await serve(data, { socket: join(socketDir, "ampd.sock") });
    const bus = await client(ampd.socket, "rofs");
    const acked = await addMany(bus, "rf", { n: 50, concurrency: 4 });

    fs.turnReadOnly();
    const options = mountOptions(fs.mnt);
    console.log(`[faults] sqlite-runtime-read-only: mechanism: ext4 on ${fs.device}, trigger_fs_error; mount options now ${options}`);
    const error = await addError(bus, numbered("rf", 100));
    console.log(`[faults] sqlite-runtime-read-only: add: ${error.code}: ${error.message}`);
    expect(["STORAGE_READ_ONLY", "STORAGE_ERROR"]).toContain(error.code);
    expect(error.message).toContain(data);
    const error2 = await addError(bus, numbered("rf", 101));
    expect(["STORAGE_READ_ONLY", "STORAGE_ERROR"]).toContain(error2.code);
    expect(ampd.alive).toBe(true);
    expect(typeof (await bus.ping())).toBe("number");
    expect(historyProblem(await readAll(bus, STREAM), acked)).toBeUndefined();
    const info = await bus.info();
    const stopCode = await ampd.stop();

    // What was acknowledged had been fsynced before the error: it is on the disk image.
    mustSh("umount", [fs.mnt]);
    const fsck = sh("e2fsck", ["-fy", fs.device]);
    mustSh("mount", ["-o", "errors=remount-ro", fs.device, fs.mnt]);
    const restarted = await serve(data, { socket: join(socketDir, "after.sock") });
    const history = await readAll(await client(restarted.socket, "rofs-after"), STREAM);
    printFigures("sqlite-runtime-read-only", {
      acked: acked.size,
      addCode: error.code,
      secondAddCode: error2.code,
      backendState: String((info.backend as { state?: string } | undefined)?.state ?? "?"),
      stopExit: String(stopCode),
      e2fsckExit: String(fsck.status),
      historyAfterRemount: history.length,
    });
    expect(historyProblem(history, acked)).toBeUndefined();
    expect(typeof stopCode).toBe("number");
  }, 60_000);
});

/** A WAL-mode SQLite database of another program (application_id 1234), closed cleanly: one file, no -wal or -shm. */
function foreignWalDatabase(dir: string): string {
  const path = join(dir, "other.db");
  const db = new Database(path, { create: true });
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA application_id = 1234");
  db.exec("CREATE TABLE t (x)");
  db.close();
  if (filesIn(dir).some((f) => f.startsWith("other.db-"))) throw new Error(`setup: ${filesIn(dir).join(", ")}`);
  return path;
}

describe("sqlite store: files that are not ours", () => {
  /** A start on `data` is refused naming `phrase` and the path; `data` is byte for byte as it was. Returns the log line. */
  async function expectRefused(data: string, phrase: RegExp): Promise<string> {
    const sha = sha256File(data);
    const socket = join(procs.tempDir("ampd-sqlite-refuse-sock-"), "ampd.sock");
    const run = await runSqlite(data, socket);
    const line = run.stderr.trim();
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(STARTUP_REFUSAL);
    expect(run.stderr).toMatch(phrase);
    expect(run.stderr).toContain(data);
    expect(run.stdout).not.toContain("ampd ready");
    expect(existsSync(socket)).toBe(false);
    expect(sha256File(data)).toBe(sha);
    return line;
  }

  /** `expectRefused`, and the refused start created no file beside `data` (no -wal, -shm, -journal). */
  async function expectRefusedUntouched(data: string, phrase: RegExp): Promise<string> {
    const dir = join(data, "..");
    const files = filesIn(dir);
    const line = await expectRefused(data, phrase);
    expect(filesIn(dir)).toEqual(files);
    return line;
  }

  test("a file of random bytes, and a damaged SQLite file, are refused and left unchanged", async () => {
    const dir = procs.tempDir("ampd-sqlite-garbage-");
    const garbage = join(dir, "garbage.db");
    writeFileSync(garbage, randomBytes(64 * 1024));
    const a = await expectRefusedUntouched(garbage, /not an ampd store/);
    // The SQLite header, then noise: a damaged database, not a store ampd may rewrite.
    const damaged = join(dir, "damaged.db");
    writeFileSync(damaged, Buffer.concat([Buffer.from("SQLite format 3\0", "latin1"), randomBytes(64 * 1024 - 16)]));
    const b = await expectRefusedUntouched(damaged, /not an ampd store/);
    console.log(`[faults] sqlite-garbage: random: ${a}`);
    console.log(`[faults] sqlite-garbage: damaged: ${b}`);
  }, 30_000);

  test("another program's SQLite database is refused and left unchanged", async () => {
    const dir = procs.tempDir("ampd-sqlite-foreign-");
    const data = join(dir, "notes.db");
    const db = new Database(data, { create: true });
    db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
    db.query("INSERT INTO notes (body) VALUES (?)").run("remember the milk");
    db.close();
    const line = await expectRefusedUntouched(data, /not an ampd store/);
    console.log(`[faults] sqlite-foreign: ${line}`);
    // One in WAL mode with an application_id of its own: refused, its file unchanged.
    const wal = foreignWalDatabase(dir);
    console.log(`[faults] sqlite-foreign: WAL mode: ${await expectRefused(wal, /not an ampd store/)}; files after: ${filesIn(dir).join(", ")}`);
  }, 30_000);

  // A refused start reads the header's bytes; SQLite never opens someone else's database.
  test("a refused start leaves no -wal/-shm beside another program's WAL-mode database", async () => {
    const dir = procs.tempDir("ampd-sqlite-foreign-wal-");
    await expectRefusedUntouched(foreignWalDatabase(dir), /not an ampd store/);
  }, 30_000);

  test("a store of a newer schema version is refused naming the version, and left unchanged", async () => {
    const dir = procs.tempDir("ampd-sqlite-newer-");
    const data = join(dir, "ampd.db");
    const ampd = await serve(data, { socket: join(dir, "ampd.sock") });
    await addMany(await client(ampd.socket, "newer"), "nv", { n: 3 });
    expect(await ampd.stop()).toBe(0);
    const db = new Database(data);
    db.exec("PRAGMA user_version = 99");
    db.close();
    const line = await expectRefusedUntouched(data, /newer/);
    expect(line).toMatch(/\b99\b/);
    console.log(`[faults] sqlite-newer: ${line}`);
  }, 30_000);
});

describe("sqlite store: a restart keeps the history", () => {
  const cases: [how: "SIGTERM" | "SIGKILL", sync: "full" | "normal"][] = [["SIGTERM", "full"], ["SIGKILL", "full"], ["SIGKILL", "normal"]];
  test.each(cases)("after %s (--sync %s): all 500 in order, under their entry ids; the opId window too", async (how, sync) => {
    const dir = procs.tempDir("ampd-sqlite-restart-");
    const data = join(dir, "ampd.db");
    const socket = join(dir, "ampd.sock");
    const args = ["--sync", sync];
    const first = await serve(data, { socket, args });
    const bus = await client(socket, "restart-writer");
    const acked = await addMany(bus, "rs", { n: 500, concurrency: 16 });
    const before = await readAll(bus, STREAM);
    expect(historyProblem(before, acked)).toBeUndefined();
    let exit: number | null = null;
    if (how === "SIGTERM") exit = await first.stop();
    else await first.kill();

    const second = await serve(data, { socket, args });
    const bus2 = await client(socket, "restart-reader");
    const after = await readAll(bus2, STREAM);
    printFigures(`sqlite-restart-${how.toLowerCase()}-${sync}`, { acked: acked.size, read: after.length, exit: String(exit) });
    if (how === "SIGTERM") expect(exit).toBe(0);
    expect(historyProblem(after, acked)).toBeUndefined();
    expect(after.map((d) => d.entryId)).toEqual(before.map((d) => d.entryId));
    expect((await bus2.streamInfo(STREAM)).length).toBe(500);

    // A retry of an add from before the restart is still recognised; a new add goes after the old ones.
    const retry = await bus2.streamAdd(STREAM, numbered("rs", 0));
    expect(retry).toEqual({ stream: STREAM, entryId: acked.get("rs-0")!, duplicate: true });
    const fresh = await bus2.streamAdd(STREAM, numbered("rs", 500));
    expect(fresh.duplicate).toBe(false);
    expect(orderProblem([after[after.length - 1]!.entryId, fresh.entryId])).toBeUndefined();
    expect(second.alive).toBe(true);
  }, 30_000);
});
