/**
 * Waiters wake on events, not timers. While an agent works on one message
 * with more fetched behind it, `listen()` has nothing to do until the next
 * `next()`; while a consumer leaves 256+ chunks unread, the Node transport has
 * nothing to do until the consumer takes one. Both used to run a 1 ms
 * `setTimeout` loop there (hundreds of timer callbacks in half a second).
 * These tests count the timers scheduled while the process waits: a count,
 * not a time, so a slow machine cannot fail them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer, type Server, type Socket } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ampd } from "../_helpers/ampd.ts";
import { createMessage } from "../../sdk/envelope/builder.ts";
import type { AmpClient } from "../../sdk/client/client.ts";
import { connect } from "../../sdk/client/connect.ts";
import { connectNode } from "../../sdk/transport/node.ts";

const realSetTimeout = globalThis.setTimeout;
const realSetInterval = globalThis.setInterval;
const wait = (ms: number) => new Promise<void>((r) => realSetTimeout(r, ms));

/** Runs `during` with `setTimeout`/`setInterval` counting what the code under test schedules. */
async function countTimers(during: () => Promise<void>): Promise<number> {
  let n = 0;
  globalThis.setTimeout = ((f: () => void, ms?: number, ...a: unknown[]) => {
    n++;
    return realSetTimeout(f, ms, ...a);
  }) as typeof setTimeout;
  globalThis.setInterval = ((f: () => void, ms?: number, ...a: unknown[]) => {
    n++;
    return realSetInterval(f, ms, ...a);
  }) as typeof setInterval;
  try {
    await during();
  } finally {
    globalThis.setTimeout = realSetTimeout;
    globalThis.setInterval = realSetInterval;
  }
  return n;
}

describe("listen() while the agent holds a message", () => {
  let ampd: Ampd;
  let bus: AmpClient;

  beforeAll(async () => {
    ampd = await Ampd.start({ args: ["--backend", "memory"] });
    bus = await connect({ socket: ampd.socket, name: "no-polling" });
  });

  afterAll(async () => {
    await bus?.close();
    await ampd?.stop();
    await ampd?.dispose();
  });

  test("schedules almost no timers in 500 ms, then fetches again once the queue is taken", async () => {
    for (let n = 0; n < 3; n++) {
      await bus.send(createMessage({ type: "task.hold", sender: "planner", receiver: "holder", payload: { n } }));
    }
    const it = bus.listen("holder")[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    // Let the first fetch's other entries land in the prefetch queue, then hold the first one.
    await wait(100);
    const timers = await countTimers(() => wait(500));
    expect(timers).toBeLessThan(20);

    // Taking the queued entries wakes the pumps: a message sent now still arrives.
    const got = [first.value.message.payload];
    await first.value.ack();
    for (let i = 0; i < 2; i++) {
      const r = await it.next();
      got.push(r.value.message.payload);
      await r.value.ack();
    }
    await bus.send(createMessage({ type: "task.hold", sender: "planner", receiver: "holder", payload: { n: 3 } }));
    const last = await it.next();
    got.push(last.value.message.payload);
    await last.value.ack();
    expect(got).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }]);
    await it.return!();
  });
});

describe("the Node transport under back-pressure", () => {
  let dir: string;
  let server: Server;
  let peer: Promise<Socket>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ampbus-no-polling-"));
    const path = join(dir, "s.sock");
    server = createServer();
    peer = new Promise((resolve) => server.once("connection", resolve));
    await new Promise<void>((resolve) => server.listen(path, resolve));
  });

  afterAll(async () => {
    // A failed test leaves the connection open; server.close() would wait for it.
    (await peer).destroy();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  test("a paused socket waits without timers and resumes when the consumer takes chunks", async () => {
    const t = await connectNode({ socket: join(dir, "s.sock") });
    const s = await peer;
    // One chunk per turn of the event loop: far more than the 256 queued chunks that pause reading.
    const CHUNKS = 2000;
    const sent = (async () => {
      for (let i = 0; i < CHUNKS; i++) {
        if (!s.write(new Uint8Array([i & 0xff]))) await new Promise((r) => s.once("drain", r));
        await new Promise((r) => setImmediate(r));
      }
      s.end();
    })();
    await wait(300);
    const timers = await countTimers(() => wait(500));
    expect(timers).toBeLessThan(20);

    let bytes = 0;
    for await (const chunk of t) bytes += chunk.length;
    await sent;
    expect(bytes).toBe(CHUNKS);
    await t.close();
  });
});
