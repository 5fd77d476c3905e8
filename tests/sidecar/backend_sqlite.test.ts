/**
 * SqliteBackend: the shared contract on a fresh store file, plus what only a
 * durable store promises (everything survives a reopen; refused files are
 * left alone; one process per file).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SCHEMA_VERSION, SqliteBackend, StoreLockedError, StoreRefusedError } from "../../sidecar/backend/sqlite.ts";
import { backendContract, idLess, makeEntry, numberOf } from "./backend_contract.ts";
import { groupsContract } from "./backend_groups_contract.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dir = mkdtempSync(join(tmpdir(), "ampbus-sqlite-"));
let n = 0;
const fresh = (o: { dedupeWindowMs?: number; claimTimeoutMs?: number }) => SqliteBackend.open({ path: join(dir, `store-${n++}.db`), ...o });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

backendContract("SqliteBackend", fresh);
groupsContract("SqliteBackend", fresh);

const entry = (n: number) => makeEntry(n);

describe("SqliteBackend specifics", () => {
  test("streams, ids, groups, pending and the opId window survive a reopen", async () => {
    const path = join(dir, "reopen.db");
    const a = await SqliteBackend.open({ path, claimTimeoutMs: 50 });
    const first = entry(1);
    const ids: string[] = [];
    ids.push((await a.add("s", first)).entryId);
    for (let i = 2; i <= 5; i++) ids.push((await a.add("s", entry(i))).entryId);
    await a.createGroup({ stream: "s", group: "g" }, { from: "0" });
    const got = await a.readGroup({ stream: "s", group: "g", consumer: "c1" }, { count: 3 });
    await a.ack({ stream: "s", group: "g" }, [got[0]!.entryId]);
    await a.close();

    const b = await SqliteBackend.open({ path, claimTimeoutMs: 50 });
    const [batch] = await b.read([{ stream: "s", after: "0" }]);
    expect(batch!.entries.map((e) => e.entryId)).toEqual(ids);
    expect(batch!.entries.map(numberOf)).toEqual([1, 2, 3, 4, 5]);
    const again = await b.add("s", first);
    expect(again).toEqual({ entryId: ids[0]!, duplicate: true });
    const next = await b.add("s", entry(6));
    expect(idLess(ids[4]!, next.entryId)).toBe(true);
    const pending = await b.pending({ stream: "s", group: "g" });
    expect(pending.map((p) => p.entryId)).toEqual([ids[1]!, ids[2]!]);
    await sleep(60);
    const claimed = await b.claim({ stream: "s", group: "g", consumer: "c2" });
    expect(claimed.map((e) => [e.entryId, e.deliveries])).toEqual([[ids[1]!, 2], [ids[2]!, 2]]);
    const fresh = await b.readGroup({ stream: "s", group: "g", consumer: "c2" });
    expect(fresh.map((e) => e.entryId)).toEqual([ids[3]!, ids[4]!, next.entryId]);
    await b.close();
  });

  test("--retain: entries older than the retention go (at start and on its timer); newer ones and the stream stay", async () => {
    const path = join(dir, "retain.db");
    const a = await SqliteBackend.open({ path });
    for (let i = 0; i < 3; i++) await a.add("s", entry(i));
    await a.close();
    await sleep(400);
    const b = await SqliteBackend.open({ path, retainMs: 300 });
    const kept = await b.add("s", entry(9));
    await sleep(50); // the start-up pass runs in the first commit
    const [batch] = await b.read([{ stream: "s", after: "0" }]);
    expect(batch!.entries.map((e) => e.entryId)).toEqual([kept.entryId]);
    expect((await b.info("s")).length).toBe(1);
    await sleep(1400); // the timer runs every max(1 s, retain / 10)
    expect(await b.info("s")).toMatchObject({ length: 0, firstEntryId: null });
    expect(await b.streams()).toEqual(["s"]);
    const next = await b.add("s", entry(10));
    expect(idLess(kept.entryId, next.entryId)).toBe(true);
    await b.close();
  });

  test("a second open of the same file is refused while the first holds it", async () => {
    const path = join(dir, "locked.db");
    const a = await SqliteBackend.open({ path });
    const err = await SqliteBackend.open({ path }).then(() => null, (e: Error) => e);
    expect(err).toBeInstanceOf(StoreLockedError);
    expect(err!.message).toContain(path);
    await a.add("s", entry(1));
    await a.close();
    const b = await SqliteBackend.open({ path });
    expect((await b.info("s")).length).toBe(1);
    await b.close();
  });

  test("a file that is not an ampd store, or is newer, is refused and left unchanged", async () => {
    const garbage = join(dir, "garbage.db");
    writeFileSync(garbage, crypto.getRandomValues(new Uint8Array(4096)));
    const foreign = join(dir, "foreign.db");
    const f = new Database(foreign);
    f.exec("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine')");
    f.close();
    const newer = join(dir, "newer.db");
    await (await SqliteBackend.open({ path: newer })).close();
    const n = new Database(newer);
    n.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    n.close();
    for (const [path, want] of [[garbage, /not an ampd store/], [foreign, /not an ampd store \(an SQLite database with tables and no ampd mark\)/], [newer, new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer`)]] as const) {
      const before = readFileSync(path);
      const err = await SqliteBackend.open({ path }).then(() => null, (e: Error) => e);
      expect(err).toBeInstanceOf(StoreRefusedError);
      expect(err!.message).toMatch(want);
      expect(err!.message).toContain(path);
      expect(Buffer.compare(readFileSync(path), before)).toBe(0);
    }
  });

  test("a store marks itself: application_id, schema version, and the documented tables", async () => {
    const path = join(dir, "layout.db");
    const b = await SqliteBackend.open({ path });
    await b.add("tasks", entry(7), {});
    await b.close();
    const db = new Database(path, { readonly: true });
    expect(db.query("PRAGMA application_id").get()).toEqual({ application_id: 0x616d7062 });
    expect(db.query("PRAGMA user_version").get()).toEqual({ user_version: SCHEMA_VERSION });
    expect(db.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "delete" });
    const row = db.query("SELECT s.name, e.sender, e.receiver, e.type, length(e.msg) AS bytes FROM entries e JOIN streams s ON s.id = e.stream_id").get();
    expect(row).toEqual({ name: "tasks", sender: "alice", receiver: "bob", type: "task", bytes: 8 });
    db.close();
  });

  test("the size limit reached: adds fail with STORAGE_FULL naming the file, earlier adds stay, reads go on", async () => {
    const path = join(dir, "full.db");
    // A full file system is tested with real processes (tests/faults/sqlite_storage.test.ts);
    // here the same SQLITE_FULL comes from the store's size limit (PRAGMA max_page_count).
    const b = await SqliteBackend.open({ path, maxBytes: 1024 * 1024 });
    await b.add("s", entry(0));
    const big = { headers: makeEntry(1).headers, msg: new Uint8Array(64 * 1024) };
    let err: { code?: string; message: string } | null = null;
    const ok: string[] = [];
    for (let i = 0; i < 2000 && err === null; i++) {
      await b.add("s", { ...big, headers: { ...big.headers, opId: `op-${i}` } }).then((r) => ok.push(r.entryId), (e) => (err = e));
    }
    expect(err).not.toBeNull();
    expect(err!.code).toBe("STORAGE_FULL");
    expect(err!.message).toContain(path);
    expect(b.backendInfo().state).toBe("degraded");
    expect((await b.info("s")).length).toBe(ok.length + 1);
    const [batch] = await b.read([{ stream: "s", after: "0" }], { count: 10_000 });
    expect(batch!.entries.length).toBe(ok.length + 1);
    await b.close();
  });
});
