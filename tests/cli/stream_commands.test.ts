/**
 * The stream, group and dead-letter commands against a real ampd on each
 * backend (memory, SQLite, Redis): their output, and their exit codes: 0 ok,
 * 1 failure or not found (naming what), 2 bad usage, 3 timed out.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Ampd } from "../_helpers/ampd.ts";
import { connect } from "../../sdk/client/connect.ts";
import type { AmpClient } from "../../sdk/client/client.ts";
import { createMessage } from "../../sdk/envelope/builder.ts";
import { backends, run } from "./_run.ts";

type Port = { request(op: string, a: Record<string, unknown>): Promise<Record<string, unknown>> };

for (const be of backends()) {
  const suite = be.skip ? describe.skip : describe;
  suite(`stream and group commands on ${be.name}`, () => {
    let ampd: Ampd;
    let bus: AmpClient;
    const sock = () => ({ socket: ampd.socket });
    const pub = async (stream: string, n: number) => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) ids.push((await bus.streamAdd(stream, createMessage({ type: "task", sender: "planner", receiver: "coder", payload: { i } }))).entryId);
      return ids;
    };

    beforeAll(async () => {
      ampd = await be.start(["--max-deliveries", "2"]);
      bus = await connect({ socket: ampd.socket, name: "cli-test", reconnect: false });
    }, 30_000);
    afterAll(async () => {
      await bus?.close();
      await ampd?.dispose();
      await be.close();
    });

    test("stream ls, info and trim; a missing stream is exit 1 naming it", async () => {
      const ids = await pub("jobs.a", 5);
      const ls = await run(["stream", "ls"], sock());
      expect(ls.code).toBe(0);
      expect(ls.lines[0]).toMatch(/^STREAM\s+LENGTH\s+LAST ENTRY$/);
      expect(ls.lines.some((l) => /^jobs\.a\s+5\s+/.test(l))).toBe(true);
      const info = JSON.parse((await run(["stream", "info", "jobs.a", "--json"], sock())).lines[0]!);
      expect(info).toMatchObject({ stream: "jobs.a", length: 5, firstEntryId: ids[0], lastEntryId: ids[4], removed: { trim: 0, retention: 0, purge: 0 }, retention: null, groups: [] });
      expect(info.defaultRetention).toEqual({ policy: "interest", maxAgeMs: 7 * 86_400_000 });
      const trim = await run(["stream", "trim", "jobs.a", "--max-len", "2"], sock());
      expect(trim.code).toBe(0);
      expect(trim.stdout).toBe("jobs.a: removed 3 entries\n");
      for (const args of [["stream", "info", "nope.x"], ["stream", "rm", "nope.x"], ["stream", "purge", "nope.x"], ["stream", "trim", "nope.x", "--max-len", "1"], ["stats", "--stream", "nope.x", "--interval", "0"]]) {
        const r = await run(args, sock());
        expect(r.code).toBe(1);
        expect(r.stderr).toContain('no stream "nope.x"');
      }
    }, 60_000);

    test("stats shows lag and what trim removed, per stream", async () => {
      await bus.port.groupCreate({ stream: "jobs.b", group: "w" }, "0");
      await pub("jobs.b", 4);
      await bus.port.groupRead({ stream: "jobs.b", group: "w", consumer: "c1" }, { count: 1 });
      const s = JSON.parse((await run(["stats", "--json", "--interval", "0", "--stream", "jobs.b"], sock())).lines[0]!);
      expect(s.streams[0]).toMatchObject({ stream: "jobs.b", length: 4, groups: 1, pending: 1, lag: 3, removed: { trim: 0, retention: 0, purge: 0 } });
      const g = JSON.parse((await run(["groups", "jobs.b", "--json"], sock())).lines[0]!);
      expect(g.groups[0]).toMatchObject({ name: "w", pending: 1, lag: 3 });
      const pretty = await run(["groups", "jobs.b"], sock());
      expect(pretty.lines[0]).toMatch(/^GROUP\s+CONSUMER\s+PENDING\s+LAG\s+IDLE MS\s+LAST DELIVERED$/);
      // Columns line up: every row's PENDING value ends where the header does.
      const end = pretty.lines[0]!.indexOf("PENDING") + "PENDING".length;
      for (const l of pretty.lines.slice(1)) expect(l.slice(0, end)).toMatch(/\d$/);
      const table = await run(["stats", "--interval", "0", "--stream", "jobs.b"], sock());
      expect(table.stdout).toMatch(/jobs\.b\s+4\s+1\s+1\s+3\s+0\s+0\s+0\s+0\s+\d+-\d+/);
    }, 60_000);

    test("retention keeps pending and undelivered work; --policy limits removes it and counts it", async () => {
      await bus.port.groupCreate({ stream: "jobs.c", group: "w" }, "0");
      const ids = await pub("jobs.c", 4);
      await bus.port.groupRead({ stream: "jobs.c", group: "w", consumer: "c1" }, { count: 2 });
      const kept = await run(["stream", "trim", "jobs.c", "--max-len", "0"], sock());
      expect(kept.stdout).toBe("jobs.c: removed 0 entries\n"); // 2 pending, 2 not yet delivered
      const pending = JSON.parse((await run(["pending", "jobs.c", "w", "--json"], sock())).lines[0]!);
      expect(pending.pending.map((p: { entryId: string }) => p.entryId)).toEqual(ids.slice(0, 2));
      const limits = await run(["stream", "trim", "jobs.c", "--max-len", "3", "--policy", "limits"], sock());
      expect(limits.stdout).toBe("jobs.c: removed 1 entries\n");
      let info = JSON.parse((await run(["stream", "info", "jobs.c", "--json"], sock())).lines[0]!);
      expect(info).toMatchObject({ length: 3, firstEntryId: ids[1], removed: { trim: 1, retention: 0, purge: 0 }, droppedPending: 1 });
      // The stream's own retention: ampd's retention sweep (every 10 s at the default --retain) applies it.
      const set = await run(["stream", "retention", "jobs.c", "--max-len", "1", "--policy", "limits"], sock());
      expect(set.code).toBe(0);
      expect(set.stdout).toBe("jobs.c: retention max 1 entries (limits)\n");
      for (let i = 0; i < 150 && info.length !== 1; i++) {
        await new Promise((r) => setTimeout(r, 100));
        info = JSON.parse((await run(["stream", "info", "jobs.c", "--json"], sock())).lines[0]!);
      }
      expect(info).toMatchObject({ length: 1, removed: { trim: 1, retention: 2, purge: 0 }, droppedPending: 2, retention: { policy: "limits", maxLen: 1 } });
      const stats = JSON.parse((await run(["stats", "--json", "--interval", "0", "--stream", "jobs.c"], sock())).lines[0]!);
      expect(stats.streams[0].removed).toEqual({ trim: 1, retention: 2, purge: 0 });
      expect((await run(["stream", "retention", "jobs.c", "--clear"], sock())).code).toBe(0);
      expect(JSON.parse((await run(["stream", "info", "jobs.c", "--json"], sock())).lines[0]!).retention).toBeNull();
    }, 60_000);

    test("purge and rm refuse while a group has work, unless --force", async () => {
      await bus.port.groupCreate({ stream: "jobs.d", group: "w" }, "0");
      await pub("jobs.d", 2);
      const refused = await run(["stream", "purge", "jobs.d"], sock());
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("w (0 pending, 2 not yet delivered)");
      const purged = await run(["stream", "purge", "jobs.d", "--force"], sock());
      expect(purged.stdout).toBe("jobs.d: purged 2 entries\n");
      const rm = await run(["stream", "rm", "jobs.d", "--json"], sock());
      expect(rm.code).toBe(0);
      expect(JSON.parse(rm.lines[0]!)).toEqual({ stream: "jobs.d", deleted: true });
      expect((await run(["stream", "ls", "--prefix", "jobs.d"], sock())).stdout).toBe('no streams starting with "jobs.d"\n');
    }, 60_000);

    test("ack and claim by hand; a missing group or an id not pending is exit 1", async () => {
      await bus.port.groupCreate({ stream: "jobs.e", group: "w" }, "0");
      const ids = await pub("jobs.e", 3);
      await bus.port.groupRead({ stream: "jobs.e", group: "w", consumer: "stuck" }, { count: 3 });
      const claimed = await run(["claim", "jobs.e", "w", "--consumer", "rescuer", "--min-idle", "0", "--count", "2", "--json"], sock());
      expect(claimed.code).toBe(0);
      expect(claimed.lines.map((l) => JSON.parse(l).entryId)).toEqual(ids.slice(0, 2));
      expect(JSON.parse(claimed.lines[0]!)).toMatchObject({ deliveries: 2, type: "task", sender: "planner" });
      const acked = await run(["ack", "jobs.e", "w", ids[2]!], sock());
      expect(acked.code).toBe(0);
      expect(acked.stdout).toBe(`${ids[2]} acked\n`);
      const again = await run(["ack", "jobs.e", "w", ids[2]!, ids[0]!], sock());
      expect(again.code).toBe(1);
      expect(again.stdout).toBe(`${ids[2]} not pending\n${ids[0]} acked\n`);
      expect(again.stderr).toContain(`not pending in group "w" of "jobs.e": ${ids[2]}`);
      for (const args of [["pending", "jobs.e", "nogroup"], ["ack", "jobs.e", "nogroup", ids[0]!], ["claim", "jobs.e", "nogroup", "--consumer", "x"]]) {
        const r = await run(args, sock());
        expect(r.code).toBe(1);
        expect(r.stderr).toContain('no consumer group "nogroup" on stream "jobs.e" (its groups are w)');
      }
      const noConsumer = await run(["pending", "jobs.e", "w", "--consumer", "ghost"], sock());
      expect(noConsumer.code).toBe(1);
      expect(noConsumer.stderr).toContain('no consumer "ghost"');
      expect((await run(["ack", "jobs.e", "w", "not-an-id"], sock())).code).toBe(2);
      expect((await run(["claim", "jobs.e", "w"], sock())).code).toBe(2);
    }, 60_000);

    test("dlq purge deletes the dead letters; a stream without any is exit 1", async () => {
      await bus.port.groupCreate({ stream: "jobs.f", group: "w" }, "0");
      await pub("jobs.f", 1);
      await bus.port.groupRead({ stream: "jobs.f", group: "w", consumer: "c1" }, { count: 1 });
      // --max-deliveries 2: the second claim moves it to jobs.f.dlq, and says so.
      await (bus.port as unknown as Port).request("claim", { stream: "jobs.f", group: "w", consumer: "c2", minIdle: 0 });
      const moved = await run(["claim", "jobs.f", "w", "--consumer", "c3", "--min-idle", "0"], sock());
      expect(moved.code).toBe(0);
      expect(moved.stdout).toMatch(/^1 moved to jobs\.f\.dlq instead \(delivered more than ampd's --max-deliveries\): \d+-\d+; 'ampd dlq jobs\.f' lists them\n$/);
      const listed = await run(["dlq", "jobs.f", "--json"], sock());
      expect(listed.lines).toHaveLength(1);
      const missing = await run(["dlq", "replay", "jobs.f", "--id", "1-1"], sock());
      expect(missing.code).toBe(1);
      const purged = await run(["dlq", "purge", "jobs.f", "--json"], sock());
      expect(purged.code).toBe(0);
      expect(JSON.parse(purged.lines[0]!)).toEqual({ stream: "jobs.f.dlq", removed: 1 });
      expect((await run(["dlq", "jobs.f"], sock())).stdout).toBe("jobs.f.dlq: no dead letters\n");
      const none = await run(["dlq", "purge", "jobs.nothing"], sock());
      expect(none.code).toBe(1);
      expect(none.stderr).toContain('no dead-letter stream "jobs.nothing.dlq"');
      const typo = await run(["dlq", "prge", "jobs.f"], sock());
      expect(typo.code).toBe(2);
      expect(typo.stderr).toContain("did you mean 'dlq purge'?");
    }, 60_000);

    test("req and reply: a request from the shell, answered from the shell; no reply is exit 3", async () => {
      const replier = run(["reply", "upper", "--command", "tr a-z A-Z", "--count", "1"], { ...sock(), timeoutMs: 20_000 });
      // The replier's group must exist before the request, or the request sits before its start.
      for (let i = 0; i < 100; i++) {
        const g = (await bus.port.groupInfo("inbox.upper")).groups as { name: string }[];
        if (g.some((x) => x.name === "upper")) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const r = await run(["req", "upper", '"shout"', "--timeout", "10s"], sock());
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(JSON.parse(r.lines[0]!)).toMatchObject({ TYPE: "REQUEST", PAYLOAD: "SHOUT" }); // the command got the request's JSON form
      const done = await replier;
      expect(done.code).toBe(0);
      expect(done.stdout).toMatch(/^\d+-\d+ request ampd-req-\d+ -> replied\n$/);
      const silent = await run(["req", "nobody", "{}", "--timeout", "300ms"], sock());
      expect(silent.code).toBe(3);
      expect(silent.stderr).toContain("no reply from nobody within 300 ms");
    }, 60_000);

    test("bench leaves no stream and, on Redis, no dedupe key behind", async () => {
      const r = await run(["bench", "--messages", "200", "--publishers", "2", "--json"], { ...sock(), timeoutMs: 30_000 });
      expect(r.code).toBe(0);
      const { stream } = JSON.parse(r.lines[0]!);
      expect((await (bus.port as unknown as Port).request("streams", {})).streams).not.toContain(stream);
      const url = be.redisUrl?.();
      if (url !== undefined) {
        const { createClient } = await import("redis");
        const raw = createClient({ url });
        await raw.connect();
        const keysOf = async (s: string) => (await raw.sendCommand<[string, string[]]>(["SCAN", "0", "MATCH", `ampbus:{${s}}*`, "COUNT", "100000"]))[1];
        try {
          expect(await keysOf(stream)).toEqual([]);
          // With --keep the stream and its 200 dedupe keys stay; 'stream rm' takes them all.
          const kept = JSON.parse((await run(["bench", "--messages", "200", "--publishers", "2", "--json", "--keep"], { ...sock(), timeoutMs: 30_000 })).lines[0]!).stream;
          expect((await keysOf(kept)).length).toBe(201);
          expect((await run(["stream", "rm", kept], sock())).code).toBe(0);
          expect(await keysOf(kept)).toEqual([]);
        } finally {
          await raw.disconnect();
        }
      }
    }, 60_000);

    test("pub without a message is exit 1, not 'published 0'", async () => {
      const empty = await run(["pub"], { ...sock(), input: "" });
      expect(empty.code).toBe(1);
      expect(empty.stderr).toContain("no message to publish: stdin is empty");
      const blank = await run(["pub"], { ...sock(), input: "\n\n" });
      expect(blank.code).toBe(1);
      expect(blank.stderr).toContain("has only blank lines");
      const missing = await run(["pub", "--file", join(ampd.dir, "missing.jsonl")], sock());
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain("missing.jsonl: no such file");
      const file = join(ampd.dir, "m.jsonl");
      writeFileSync(file, JSON.stringify({ type: "t", sender: "a", receiver: "b" }) + "\n");
      const ok = await run(["pub", "--file", file], sock());
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/^inbox\.b \d+-\d+\n$/);
    }, 60_000);
  });
}
