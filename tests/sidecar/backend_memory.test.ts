/**
 * MemoryBackend: the shared contract, plus what only the memory backend
 * promises (ids that survive a clock step back, big trimmed streams).
 */
import { describe, expect, test } from "bun:test";
import { MemoryBackend } from "../../sdk/backend/memory.ts";
import { backendContract, freshStream, idLess, makeEntry } from "./backend_contract.ts";
import { groupsContract } from "./backend_groups_contract.ts";

backendContract("MemoryBackend", (o) => Promise.resolve(new MemoryBackend(o)));
groupsContract("MemoryBackend", (o) => Promise.resolve(new MemoryBackend(o)));

describe("MemoryBackend specifics", () => {
  test("ids keep increasing when the clock steps back or stands still", async () => {
    const b = new MemoryBackend();
    const s = freshStream("clock");
    const realNow = Date.now;
    const start = realNow();
    const clock = [start, start, start - 5000, start - 5000, start + 1, start + 2];
    const ids: string[] = [];
    try {
      for (const t of clock) {
        Date.now = () => t;
        ids.push((await b.add(s, makeEntry(t))).entryId);
      }
    } finally {
      Date.now = realNow;
      await b.close();
    }
    expect(ids).toEqual([`${start}-0`, `${start}-1`, `${start}-2`, `${start}-3`, `${start + 1}-0`, `${start + 2}-0`]);
  });

  test("explicit-id reads stay correct across trimming and compaction", async () => {
    const b = new MemoryBackend();
    const s = freshStream("big");
    const ids: string[] = [];
    for (let i = 0; i < 20_000; i++) ids.push((await b.add(s, makeEntry(i), { maxLen: 5000 })).entryId);
    const info = await b.info(s);
    expect(info.length).toBe(5000);
    expect(info.firstEntryId).toBe(ids[15_000]!);
    for (const k of [14_000, 15_000, 15_001, 17_777, 19_998]) {
      const [batch] = await b.read([{ stream: s, after: ids[k]! }], { count: 3 });
      const want = ids.slice(Math.max(k + 1, 15_000), Math.max(k + 1, 15_000) + 3);
      expect(batch!.entries.map((e) => e.entryId)).toEqual(want);
    }
    expect(idLess(ids[0]!, ids[19_999]!)).toBe(true);
    await b.close();
  });

  test("a dedupe window of 0 turns deduplication off", async () => {
    const b = new MemoryBackend({ dedupeWindowMs: 0 });
    const s = freshStream("nodedupe");
    const e = makeEntry(1);
    const a = await b.add(s, e);
    const c = await b.add(s, e);
    expect(c.duplicate).toBe(false);
    expect(c.entryId).not.toBe(a.entryId);
    expect((await b.info(s)).length).toBe(2);
    await b.close();
  });

  test("messages are stored without a copy", async () => {
    const b = new MemoryBackend();
    const s = freshStream("nocopy");
    const e = makeEntry(1);
    await b.add(s, e);
    const [batch] = await b.read([{ stream: s, after: "0" }]);
    expect(batch!.entries[0]!.msg).toBe(e.msg);
    await b.close();
  });
});
