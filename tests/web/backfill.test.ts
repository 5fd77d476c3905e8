/**
 * The mirror's backfill, dead letters and group panel over /ws/mirror, on a
 * real ampd (memory, and a test-owned redis-server):
 * - `?backfill=N` sends the last N entries of the watched streams (frames
 *   with `"backfill": true`, oldest first), then `{"backfilled": N}`; the
 *   tail of a long stream is found exactly; filters apply; bad values are
 *   refused;
 * - a dead letter written by ampd's group reader is mirrored live, with its
 *   original decoded, and passes a filter on its original's stream;
 * - `{"groups": {}}` answers the consumer groups of the watched streams.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type AmpClient, connect } from "../../mod.ts";
import { Ampd } from "../_helpers/ampd.ts";
import { REDIS_SKIP_REASON, RedisServer } from "../_helpers/redis_server.ts";
import { type MirrorFrame, testMessage, Watcher } from "./_live.ts";

type Frame = MirrorFrame & { backfill?: boolean; backfilled?: number; original?: Record<string, unknown>; groups?: Panel };
type Panel = { streams: { stream: string; length: number; deadLetters: number; deadLetterStream: string; groups: { name: string; pending: number; lag: number | null; consumers: { name: string; pending: number }[] }[] }[]; omitted: number; at: number };

function httpOf(ampd: Ampd): string {
  const m = /^ampd http (\S+)$/m.exec(ampd.stdout);
  if (!m) throw new Error(`ampd printed no http line:\n${ampd.stdout}\n${ampd.stderr}`);
  return m[1];
}

async function watch(http: string, query: string): Promise<Watcher> {
  return await new Watcher(`${http.replace(/^http/, "ws")}/ws/mirror${query}`).ready();
}

async function backfilled(w: Watcher): Promise<Frame[]> {
  await w.waitFor((f) => (f as Frame).backfilled !== undefined);
  return (w.frames as Frame[]).filter((f) => f.backfill);
}

function suite(kind: "memory" | "redis") {
  let redis: RedisServer | undefined;
  let ampd: Ampd;
  let http: string;
  let bus: AmpClient;
  beforeAll(async () => {
    const backend = kind === "redis" ? ["--redis", (redis = await RedisServer.start()).url] : ["--backend", "memory"];
    ampd = await Ampd.start({ args: [...backend, "--http", "127.0.0.1:0", "--max-deliveries", "1", "--claim-timeout", "10ms"] });
    http = httpOf(ampd);
    bus = await connect({ socket: ampd.socket, name: "backfill-test" });
  }, 30_000);
  afterAll(async () => {
    await bus?.close();
    await ampd?.dispose();
    await redis?.dispose();
  });

  test("?backfill=N: the last N entries of the watched streams, oldest first, then the count; live entries follow", async () => {
    const sent: string[] = [];
    for (let i = 0; i < 1200; i += 100) {
      const batch = Array.from({ length: 100 }, (_, k) => testMessage(i + k, { sender: (i + k) % 3 === 0 ? "planner" : "coder" }));
      const rs = await Promise.all(batch.map((m) => bus.streamAdd("bf.long", m)));
      for (const r of rs) sent.push(r.entryId);
    }
    await bus.streamAdd("bf.other", testMessage(9999));
    await bus.streamAdd("elsewhere", testMessage(9998));
    const w = await watch(http, "?backfill=50&stream=bf.long");
    const got = await backfilled(w);
    expect(got.map((f) => f.entryId)).toEqual(sent.slice(-50));
    expect(got.every((f) => f.stream === "bf.long" && f.message!.id !== undefined)).toBe(true);
    expect((w.frames as Frame[]).find((f) => f.backfilled !== undefined)!.backfilled).toBe(50);
    const live = testMessage(10_000);
    await bus.streamAdd("bf.long", live);
    const [f] = await w.waitFor((x) => x.message?.id === live.id);
    expect((f as Frame).backfill).toBeUndefined();
    w.close();

    // Across streams by time, with a filter on the sender: the window grows until enough pass.
    const w2 = await watch(http, "?backfill=30&stream=bf.*&sender=planner");
    const got2 = await backfilled(w2);
    expect(got2.length).toBe(30);
    expect(got2.every((x) => x.message!.sender === "planner")).toBe(true);
    const planners = sent.filter((_, i) => i % 3 === 0);
    expect(got2.map((x) => x.entryId)).toEqual(planners.slice(-30));
    w2.close();

    // A request on an open watcher: {"backfill": N}.
    const w3 = await watch(http, "?stream=bf.other");
    expect((w3.frames as Frame[]).some((x) => x.backfill)).toBe(false); // no backfill unless asked
    w3.send({ backfill: 5 });
    const got3 = await backfilled(w3);
    expect(got3.map((x) => x.stream)).toEqual(["bf.other"]);
    w3.send({ backfill: "lots" });
    const [err] = await w3.waitFor((x) => x.error !== undefined);
    expect(err.error!.message).toContain("backfill must be a number of entries from 0 to 2000");
    w3.close();
  }, 60_000);

  test("a bad ?backfill is a 400 naming it", async () => {
    const res = await fetch(`${http}/ws/mirror?backfill=-1`, { headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" } });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("backfill must be a number of entries from 0 to 2000");
  });

  test("dead letters are mirrored live with their original, and the group panel shows pending, lag and dead letters", async () => {
    const w = await watch(http, "?stream=jobs"); // names the source stream only: its dead letters pass too
    const task = testMessage(1, { conversationId: "conv-dead" });
    const r = await bus.streamAdd("jobs", task);
    await bus.streamAdd("jobs", testMessage(2));
    await bus.streamAdd("jobs", testMessage(3));
    const c = bus.group("jobs", "workers", { from: "0" }).consumer("w1", { count: 1, block: 100 });
    const [d] = await c.fetch();
    expect(d.message.id).toBe(task.id);

    w.send({ groups: {} });
    const [g1] = await w.waitFor((f) => (f as Frame).groups !== undefined);
    const panel = (g1 as Frame).groups!;
    const row = panel.streams.find((s) => s.stream === "jobs")!;
    expect(row.length).toBe(3);
    expect(row.deadLetters).toBe(0);
    expect(row.deadLetterStream).toBe("jobs.dlq");
    const [grp] = row.groups;
    expect(grp.name).toBe("workers");
    expect(grp.pending).toBe(1);
    expect(grp.consumers).toEqual([{ name: "w1", pending: 1, idleMs: expect.any(Number) } as never]);
    // The lag is the backend's (group.info): the two entries not yet delivered.
    expect(grp.lag).toBe(2);

    await d.nack();
    await new Promise((res) => setTimeout(res, 30));
    await c.fetch(); // the claim makes it delivery 2 > --max-deliveries 1: dead-lettered
    const [dl] = await w.waitFor((f) => f.message?.type === "dead-letter");
    expect(dl.stream).toBe("jobs.dlq");
    expect(dl.message!.sender).toBe("ampd");
    const p = dl.message!.payload as Record<string, unknown>;
    expect(p.stream).toBe("jobs");
    expect(p.entryId).toBe(r.entryId);
    expect(p.messageId).toBe(task.id);
    expect(p.group).toBe("workers");
    expect((dl as Frame).original).toMatchObject({ id: task.id, opId: task.opId, conversationId: "conv-dead" });

    w.send({ groups: {} });
    await w.waitFor((f) => (f as Frame).groups?.streams.some((s) => s.stream === "jobs" && s.deadLetters === 1) === true);

    // A watcher opened later gets the dead letter in its backfill, also with its original.
    const w2 = await watch(http, "?stream=jobs&backfill=10");
    const got = await backfilled(w2);
    const late = got.find((f) => f.message!.type === "dead-letter")!;
    expect(late.original).toMatchObject({ id: task.id });
    w.close();
    w2.close();
  }, 60_000);
}

describe("mirror backfill, dead letters and groups on memory", () => suite("memory"));
describe.skipIf(REDIS_SKIP_REASON !== undefined)("mirror backfill, dead letters and groups on redis", () => suite("redis"));
