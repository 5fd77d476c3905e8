/**
 * Expiry is honoured by every read, not only group reads: `add` refuses a
 * message already past `expiresAt` (EXPIRED); `read` (`streamRead`) and
 * subscriptions (`streamIter`, which request replies ride on) leave out
 * messages that expired while stored, and the reader's position still moves
 * past them (the `read` reply's `last`), so a stream of expired entries
 * neither stalls nor spins a reader. Against the compiled ampd, on memory, on
 * the sqlite store and on a real redis-server (whose stored `expiresAt` header is what decides).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { connect } from "../../sdk/client/connect.ts";
import type { AmpClient } from "../../sdk/client/client.ts";
import { BusError } from "../../sdk/errors.ts";
import { Ampd } from "../_helpers/ampd.ts";
import { RedisServer, REDIS_SKIP_REASON } from "../_helpers/redis_server.ts";
import { numbered, Processes, sleep, startAmpd } from "../faults/_fault.ts";

const procs = new Processes();
afterEach(() => procs.disposeAll());

async function start(kind: string): Promise<AmpClient> {
  const ampd = procs.track(
    kind === "redis"
      ? await startAmpd(procs.track(await RedisServer.start()))
      : await Ampd.start({ args: ["--backend", kind, "--log-level", "warn"] }),
  );
  const bus = await connect({ socket: ampd.socket, name: "expiry-reads", reconnect: false });
  procs.track({ dispose: () => bus.close() });
  return bus;
}

const iOf = (d: { message: { payload?: unknown } }) => (d.message.payload as { i: number }).i;

/** Adds messages `from..to-1` of `run` expiring at `at`; returns their entry ids. */
async function addExpiring(bus: AmpClient, stream: string, run: string, range: [number, number], at: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = range[0]; i < range[1]; i++) ids.push((await bus.streamAdd(stream, numbered(run, i, { expiresAt: at }))).entryId);
  return ids;
}

const backends = [
  { kind: "memory", skip: false },
  { kind: "sqlite", skip: false },
  { kind: "redis", skip: REDIS_SKIP_REASON !== undefined },
];

for (const { kind, skip } of backends) {
  (skip ? describe.skip : describe)(`expiry of reads on ${kind}`, () => {
    test("add refuses a message whose expiresAt is already past (EXPIRED); nothing is stored", async () => {
      const bus = await start(kind);
      const err = await bus.streamAdd("exp.add", numbered("past", 0, { expiresAt: Date.now() - 1000 })).catch((e) => e);
      expect(err).toBeInstanceOf(BusError);
      expect((err as BusError).code).toBe("EXPIRED");
      expect((await bus.streamInfo("exp.add")).length).toBe(0);
      // One that expires later is stored.
      await bus.streamAdd("exp.add", numbered("later", 0, { expiresAt: Date.now() + 60_000 }));
      expect((await bus.streamInfo("exp.add")).length).toBe(1);
    }, 30_000);

    test("streamRead leaves out messages that expired while stored, and its offset moves past them", async () => {
      const bus = await start(kind);
      const stream = "exp.read";
      const soon = Date.now() + 1000;
      await bus.streamAdd(stream, numbered("r", 0));
      await addExpiring(bus, stream, "r", [1, 3], soon);
      await bus.streamAdd(stream, numbered("r", 3, { expiresAt: Date.now() + 60_000 }));
      const tail = await addExpiring(bus, stream, "r", [4, 6], soon);
      await sleep(soon - Date.now() + 100);

      expect((await bus.streamRead(stream)).map(iOf)).toEqual([0, 3]);
      // The offset is past the expired entries after the last live one: they are not read again.
      expect(bus.offset(stream)).toBe(tail[1]);
      expect(await bus.streamRead(stream)).toEqual([]);

      // On the wire: a batch of only expired entries has no entries and says how far it scanned.
      const raw = await bus.port.read({ [stream]: tail[0] }, {});
      expect(raw).toEqual([{ stream, entries: [], last: tail[1] }]);
    }, 30_000);

    test("a blocking read that finds only expired entries waits for a live one instead of returning them", async () => {
      const bus = await start(kind);
      const stream = "exp.block";
      const soon = Date.now() + 1000;
      const ids = await addExpiring(bus, stream, "b", [0, 3], soon);
      await sleep(soon - Date.now() + 100);
      setTimeout(() => void bus.streamAdd(stream, numbered("b", 3)), 1500);
      const started = Date.now();
      const got = await bus.streamRead(stream, { block: 10_000 });
      expect(got.map(iOf)).toEqual([3]);
      expect(Date.now() - started).toBeGreaterThan(1000); // it waited for the live one
      expect(got[0].entryId > ids[2]).toBe(true);

      // Only expired entries and no live one within the wait: nothing, but the offset moved on.
      const more = await addExpiring(bus, stream, "b", [4, 6], Date.now() + 500);
      await sleep(700);
      expect(await bus.streamRead(stream, { block: 1000 })).toEqual([]);
      expect(bus.offset(stream)).toBe(more[1]);
    }, 30_000);

    test("a subscription skips messages that expired before they were pushed, without using credit", async () => {
      const bus = await start(kind);
      const stream = "exp.sub";
      const soon = Date.now() + 1000;
      // More expired entries than the credit window: the subscription must read past them.
      await addExpiring(bus, stream, "s", [0, 5], soon);
      await bus.streamAdd(stream, numbered("s", 5));
      await sleep(soon - Date.now() + 100);

      const it = bus.streamIter(stream, { from: "0", window: 2 });
      await it.ready;
      expect(iOf((await it.next()).value!)).toBe(5);
      await bus.streamAdd(stream, numbered("s", 6));
      expect(iOf((await it.next()).value!)).toBe(6);
      await it.return?.();
    }, 30_000);
  });
}
