// The client API over in-process streams: the same semantics as through ampd.
import { afterEach, describe, expect, test } from "bun:test";
import { type AmpClient, createLocalBus, createMessage, MemoryBackend, REPLY_LINGER_MS, TimeoutError } from "../../mod.ts";

const open: AmpClient[] = [];
let backend: MemoryBackend;

function bus(delivery = { claimTimeoutMs: 150, maxDeliveries: 2 }): AmpClient {
  const c = createLocalBus({ backend, delivery });
  open.push(c);
  return c;
}

function task(receiver: string, n: number) {
  return createMessage({ type: "task", sender: "planner", receiver, payload: { n } });
}

const nOf = (d: { message: { payload?: unknown } }) => (d.message.payload as { n: number }).n;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
  await backend?.close();
});

describe("createLocalBus", () => {
  test("send goes to the receiver's inbox; streamIter delivers in order through a small credit window", async () => {
    backend = new MemoryBackend();
    const a = bus();
    const b = bus();
    const it = b.streamIter("inbox.tester", { window: 2 });
    await it.ready;
    for (let n = 0; n < 7; n++) expect((await a.send(task("tester", n))).stream).toBe("inbox.tester");
    const got: number[] = [];
    for await (const d of it) {
      got.push(nOf(d));
      if (got.length === 7) break;
    }
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  test("streamRead remembers offsets; a repeated opId is a duplicate", async () => {
    backend = new MemoryBackend();
    const c = bus();
    const m = task("x", 1);
    const first = await c.streamAdd("s", m);
    const again = await c.streamAdd("s", m);
    expect(again).toEqual({ ...first, duplicate: true });
    await c.streamAdd("s", task("x", 2));
    expect((await c.streamRead("s")).map(nOf)).toEqual([1, 2]);
    expect(await c.streamRead("s")).toEqual([]);
    await c.streamAdd("s", task("x", 3));
    expect((await c.streamRead("s")).map(nOf)).toEqual([3]);
  });

  test("an invalid message is refused with every issue", async () => {
    backend = new MemoryBackend();
    const c = bus();
    const bad = { ...task("x", 1), sender: "", type: "" };
    await expect(c.streamAdd("s", bad)).rejects.toMatchObject({ code: "INVALID_MESSAGE" });
    expect((await c.streamInfo("s")).length).toBe(0);
  });

  test("groups: work is split, unacked work is reclaimed, over-delivered work is dead-lettered", async () => {
    backend = new MemoryBackend({ claimTimeoutMs: 150 });
    const a = bus();
    for (let n = 0; n < 4; n++) await a.streamAdd("tasks", task("workers", n));
    const w1 = bus().group("tasks", "workers", { from: "0" }).consumer("w1", { count: 2, block: 50 });
    const w2 = bus().group("tasks", "workers", { from: "0" }).consumer("w2", { count: 2, block: 50 });
    const f1 = await w1.fetch();
    const f2 = await w2.fetch();
    expect(f1.map(nOf)).toEqual([0, 1]);
    expect(f2.map(nOf)).toEqual([2, 3]);
    for (const d of f1) await d.ack();
    // w2 never acks: after the claim timeout w1 gets its entries, delivered a second time.
    await sleep(200);
    const reclaimed = await w1.fetch();
    expect(reclaimed.map((d) => [nOf(d), d.deliveries])).toEqual([[2, 2], [3, 2]]);
    // Still not acked: the third delivery would exceed maxDeliveries 2, so they move to tasks.dlq.
    await sleep(200);
    expect(await w1.fetch()).toEqual([]);
    const letters = await a.streamRead("tasks.dlq");
    expect(letters.map((d) => d.message.type)).toEqual(["dead-letter", "dead-letter"]);
    const p = letters[0].message.payload as Record<string, unknown>;
    expect(p).toMatchObject({ stream: "tasks", group: "workers", consumer: "w1", deliveries: 3 });
    expect(await a.group("tasks", "workers").pending()).toEqual([]);
  });

  test("nack with no delay hands the entry back at once", async () => {
    backend = new MemoryBackend({ claimTimeoutMs: 60_000 });
    const a = bus({ claimTimeoutMs: 60_000, maxDeliveries: 5 });
    await a.streamAdd("jobs", task("w", 7));
    const c = a.group("jobs", "g", { from: "0" }).consumer("c1", { block: 50 });
    const [d] = await c.fetch();
    await d.nack();
    const [again] = await c.fetch();
    expect([nOf(again), again.deliveries]).toEqual([7, 2]);
    await again.ack();
  });

  test("listen: an agent's inbox is shared by its replicas, broadcasts reach each agent once", async () => {
    backend = new MemoryBackend();
    const sender = bus();
    const got: Record<string, string[]> = { t1: [], t2: [], p1: [] };
    const run = async (name: string, agent: string) => {
      for await (const d of bus().listen(agent, { count: 1 })) {
        got[name].push(`${d.stream}:${nOf(d)}`);
        await d.ack();
      }
    };
    void run("t1", "tester");
    void run("t2", "tester");
    void run("p1", "planner");
    await sleep(50);
    for (let n = 0; n < 4; n++) await sender.send(task("tester", n));
    for (let n = 0; n < 2; n++) await sender.send(task("broadcast", 10 + n));
    await sleep(300);
    const tester = [...got.t1, ...got.t2].sort();
    expect(tester).toEqual(["broadcast:10", "broadcast:11", "inbox.tester:0", "inbox.tester:1", "inbox.tester:2", "inbox.tester:3"]);
    expect(got.t1.length).toBeGreaterThan(0);
    expect(got.t2.length).toBeGreaterThan(0);
    expect(got.p1.sort()).toEqual(["broadcast:10", "broadcast:11"]);
  });

  test("request resolves with the reply; a timeout rejects and leaves no subscription", async () => {
    backend = new MemoryBackend();
    const client = bus();
    const server = bus();
    const inbox = server.streamIter("inbox.echo");
    await inbox.ready;
    void (async () => {
      for await (const d of inbox) await server.reply(d.message, { payload: { echo: nOf(d) } });
    })();
    const ask = createMessage({ type: "ask", sender: "client", receiver: "echo", payload: { n: 42 } });
    const answer = await client.request(ask, { timeout: 2000 });
    expect(answer.message.payload).toEqual({ echo: 42 });
    expect(answer.message.replyTo).toBe(ask.id);
    expect(answer.message.conversationId).toBe(ask.id);
    expect(answer.stream).toBe("reply.client");
    const lost = createMessage({ type: "ask", sender: "client", receiver: "nobody", payload: {} });
    await expect(client.request(lost, { timeout: 100 })).rejects.toBeInstanceOf(TimeoutError);
    // The reply stream stays followed a moment for the next request, then is let go.
    expect((await client.info()).subscriptions).toBe(1);
    await sleep(REPLY_LINGER_MS + 100);
    expect((await client.info()).subscriptions).toBe(0);
  });
  test("expiry: an add already past expiresAt is refused with EXPIRED", async () => {
    backend = new MemoryBackend();
    const a = bus();
    const past = createMessage({ type: "task", sender: "planner", receiver: "w", expiresAt: Date.now() - 1000, payload: { n: -1 } });
    const err = await a.streamAdd("jobs", past).catch((e) => e);
    expect((err as { code?: string }).code).toBe("EXPIRED");
    expect((await a.streamInfo("jobs")).length).toBe(0);
  });

  test("expiry: what expires while stored reaches no group consumer, read or iterator", async () => {
    backend = new MemoryBackend();
    const a = bus();
    const soon = Date.now() + 300;
    for (let n = 0; n < 3; n++) {
      await a.streamAdd("jobs", createMessage({ type: "task", sender: "planner", receiver: "w", expiresAt: soon, payload: { n } }));
    }
    await a.streamAdd("jobs", task("w", 3));
    await sleep(soon - Date.now() + 50);
    const c = a.group("jobs", "g", { from: "0" }).consumer("c1", { block: 50 });
    expect((await c.fetch()).map(nOf)).toEqual([3]);
    expect((await a.streamRead("jobs")).map(nOf)).toEqual([3]);
    const it = a.streamIter("jobs", { from: "0", window: 2 });
    expect(nOf((await it.next()).value!)).toBe(3);
    await it.return?.();
  });
});
