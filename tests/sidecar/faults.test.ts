/**
 * Redis dies under a running ampd: requests fail fast with the typed error,
 * `info` says the backend is reconnecting, and after Redis is back the same
 * client goes on publishing and a running `streamIter` receives what is added
 * after the restart. Real processes: redis-server (SIGKILL) and dist/ampd.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createMessage } from "../../sdk/envelope/builder.ts";
import { BusError } from "../../sdk/errors.ts";
import type { AmpClient } from "../../sdk/client/client.ts";
import type { Delivery } from "../../sdk/client/types.ts";
import { connect } from "../../sdk/client/connect.ts";
import { Ampd, buildAmpd } from "../_helpers/ampd.ts";
import { REDIS_SKIP_REASON, RedisServer } from "../_helpers/redis_server.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(25);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

const tick = (n: number, phase: string) => createMessage({ type: "obs.tick", sender: "faults", receiver: "broadcast", payload: { n, phase } });

/** Resolves with the outcome of `p`, or "hung" when it takes over `ms`. */
async function within<T>(p: Promise<T>, ms: number): Promise<{ value?: T; error?: unknown } | "hung"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<"hung">((r) => (timer = setTimeout(() => r("hung"), ms)));
  try {
    return await Promise.race([p.then((value) => ({ value }), (error) => ({ error })), hung]);
  } finally {
    clearTimeout(timer);
  }
}

if (REDIS_SKIP_REASON !== undefined) {
  test.skip(`Redis faults: ${REDIS_SKIP_REASON}`, () => {});
} else {
  describe("Redis stopped mid-run", () => {
    let redis: RedisServer;
    let ampd: Ampd;
    beforeAll(async () => {
      await buildAmpd();
      // appendonly: what was stored before the crash is still there after it.
      redis = await RedisServer.start({ appendonly: true });
      ampd = await Ampd.start({ args: ["--backend", "redis", "--redis", redis.url, "--connect-timeout", "1s"] });
    }, 60_000);
    afterAll(async () => {
      await ampd?.dispose();
      await redis?.dispose();
    });

    test("requests fail fast with BACKEND_UNAVAILABLE; after restart the same client and iterator go on", async () => {
      const stream = `faults.${Date.now().toString(36)}`;
      // reconnect: false shows ampd's own behaviour: the connection to ampd stays up,
      // only the backend behind it goes away.
      const bus: AmpClient = await connect({ socket: ampd.socket, name: "publisher", reconnect: false });
      const follower = await connect({ socket: ampd.socket, name: "follower", reconnect: false });
      const got: Delivery[] = [];
      const iter = follower.streamIter(stream, { from: "0", window: 16 });
      const following = (async () => {
        for await (const d of iter) got.push(d);
      })();
      await iter.ready;

      // Publishing while Redis is up.
      let n = 0;
      const before: string[] = [];
      for (; n < 20; n++) before.push((await bus.streamAdd(stream, tick(n, "before"))).entryId);
      await until("the follower to see the first 20", () => got.length >= 20);

      // Keep publishing while Redis is killed.
      let stop = false;
      const outcomes: { ok: boolean; code?: string; ms: number }[] = [];
      const publisher = (async () => {
        while (!stop) {
          const t0 = Date.now();
          try {
            await bus.streamAdd(stream, tick(n++, "during"));
            outcomes.push({ ok: true, ms: Date.now() - t0 });
          } catch (e) {
            outcomes.push({ ok: false, code: (e as BusError).code, ms: Date.now() - t0 });
            expect(e).toBeInstanceOf(BusError);
            await sleep(20);
          }
        }
      })();
      await sleep(100);
      await redis.kill();
      await until("a publish to fail", () => outcomes.some((o) => !o.ok), 5000);

      // Every call fails fast and typed while Redis is down; nothing hangs.
      const add = await within(bus.streamAdd(stream, tick(-1, "down")), 5000);
      expect(add).not.toBe("hung");
      expect((add as { error: BusError }).error).toBeInstanceOf(BusError);
      expect((add as { error: BusError }).error.code).toBe("BACKEND_UNAVAILABLE");
      const read = await within(bus.streamRead({ [stream]: "0" }), 5000);
      expect(read).not.toBe("hung");
      expect(((read as { error: BusError }).error as BusError).code).toBe("BACKEND_UNAVAILABLE");
      const blocked = await within(bus.streamRead({ [stream]: "$" }, { block: 60_000 }), 5000);
      expect(blocked).not.toBe("hung");
      expect(((blocked as { error: BusError }).error as BusError).code).toBe("BACKEND_UNAVAILABLE");

      const info = await bus.info();
      expect((info.backend as { state: string }).state).toBe("reconnecting");
      expect(typeof (await bus.ping())).toBe("number"); // ampd itself still answers

      await sleep(300);
      stop = true;
      await publisher;
      const failures = outcomes.filter((o) => !o.ok);
      expect(failures.length).toBeGreaterThan(0);
      expect(new Set(failures.map((f) => f.code))).toEqual(new Set(["BACKEND_UNAVAILABLE"]));
      expect(Math.max(...failures.map((f) => f.ms))).toBeLessThan(5000);
      const storedDuring = outcomes.filter((o) => o.ok).length;

      // Redis comes back on the same port; ampd reconnects on its own.
      await redis.restart();
      await until("the backend to be ready again", async () => ((await bus.info()).backend as { state: string }).state === "ready", 15_000);
      const after: string[] = [];
      for (let i = 0; i < 20; i++) after.push((await bus.streamAdd(stream, tick(1000 + i, "after"))).entryId);

      // The iterator that ran through the outage receives what was added after the restart.
      await until("the follower to see the messages added after the restart", () => {
        const ids = new Set(got.map((d) => d.entryId));
        return after.every((id) => ids.has(id));
      }, 15_000);
      const ids = got.map((d) => d.entryId);
      expect(new Set(ids).size).toBe(ids.length); // no repeats
      expect(ids.slice(0, 20)).toEqual(before);
      expect(ids.slice(-20)).toEqual(after);
      expect(got.slice(-20).map((d) => (d.message.payload as { n: number }).n)).toEqual(Array.from({ length: 20 }, (_, i) => 1000 + i));
      const info2 = await bus.info();
      expect((info2.backend as { reconnects: number }).reconnects).toBeGreaterThanOrEqual(1);
      console.log(`faults: ${storedDuring} adds stored while Redis was going down, ${failures.length} refused with BACKEND_UNAVAILABLE (slowest ${Math.max(...failures.map((f) => f.ms))} ms)`);

      await iter.return?.();
      await following;
      await follower.close();
      await bus.close();
    }, 60_000);

    test("a reconnecting client (the default) rides out a short outage without an error", async () => {
      const stream = `faults.rc.${Date.now().toString(36)}`;
      const bus = await connect({ socket: ampd.socket, name: "patient", reconnect: { deadlineMs: 20_000 } });
      await bus.streamAdd(stream, tick(0, "before"));
      await redis.kill();
      const pending = bus.streamAdd(stream, tick(1, "during"));
      await sleep(500);
      await redis.restart();
      const r = await within(pending, 15_000);
      expect(r).not.toBe("hung");
      expect((r as { error?: unknown }).error).toBeUndefined();
      // (The entry from before the crash may be lost with the unsynced append-only file; this one is not.)
      const stored = await bus.streamRead({ [stream]: "0" });
      expect(stored.map((d) => (d.message.payload as { n: number }).n)).toContain(1);
      await bus.close();
    }, 30_000);
  });
}
