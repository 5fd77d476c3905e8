/**
 * Redis that would lose or hang acknowledged adds, against the compiled
 * ampd and real redis-server processes: an evicting `maxmemory-policy` at
 * start-up and after a reconnection, Redis out of memory, and Redis stopped
 * (SIGSTOP) while publishers add, then resumed (SIGCONT).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { createClient } from "redis";
import { BusError } from "../../sdk/errors.ts";
import { connect } from "../../sdk/client/connect.ts";
import { runAmpd } from "../_helpers/ampd.ts";
import { REDIS_SKIP_REASON, RedisServer } from "../_helpers/redis_server.ts";
import { numbered, printFigures, Processes, sleep, startAmpd, until } from "./_fault.ts";

const describeRedis = REDIS_SKIP_REASON === undefined ? describe : describe.skip;
const procs = new Processes();
afterEach(() => procs.disposeAll());

/** A plain node-redis client on `redis`, closed after the test. */
async function redisCli(redis: RedisServer) {
  const c = createClient({ url: redis.url });
  c.on("error", () => {});
  await c.connect();
  procs.track({ dispose: () => c.disconnect().catch(() => {}) });
  return c;
}

/** The redis-server's process id, from INFO server. */
async function redisPid(redis: RedisServer): Promise<number> {
  const c = createClient({ url: redis.url });
  await c.connect();
  const info = await c.info("server");
  await c.disconnect();
  return Number(/^process_id:(\d+)/m.exec(info)![1]);
}

/** The error a promise rejected with, or a failure when it resolved. */
async function rejection(p: Promise<unknown>): Promise<BusError> {
  const r = await p.then((v) => ({ v }), (e: unknown) => ({ e }));
  if (!("e" in r)) throw new Error(`expected an error, got ${JSON.stringify(r.v)}`);
  return r.e as BusError;
}

describeRedis("eviction policy", () => {
  test("ampd refuses to start on Redis with allkeys-lru, naming the policy and the override; --allow-eviction starts", async () => {
    const redis = procs.track(await RedisServer.start());
    await (await redisCli(redis)).configSet("maxmemory-policy", "allkeys-lru");
    const r = await runAmpd(["--backend", "redis", "--redis", redis.url, "--socket", `${procs.tempDir("ampd-evict-")}/a.sock`]);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain("ampd ready");
    expect(r.stderr).toContain("maxmemory-policy allkeys-lru");
    expect(r.stderr).toContain("noeviction");
    expect(r.stderr).toContain("--allow-eviction");

    const ampd = procs.track(await startAmpd(redis, { args: ["--allow-eviction"] }));
    expect(ampd.stderr).toContain("--allow-eviction");
    const bus = await connect({ socket: ampd.socket, reconnect: false });
    procs.track({ dispose: () => bus.close() });
    expect((await bus.streamAdd("evict.allowed", numbered("allowed", 0))).duplicate).toBe(false);
  }, 30_000);

  test("after a reconnection to Redis with an evicting policy, adds fail with BACKEND_MISCONFIGURED until it is noeviction again", async () => {
    const redis = procs.track(await RedisServer.start());
    const ampd = procs.track(await startAmpd(redis));
    const bus = await connect({ socket: ampd.socket, reconnect: { deadlineMs: 20_000 } });
    procs.track({ dispose: () => bus.close() });
    const stream = "evict.reconnect";
    await bus.streamAdd(stream, numbered("rc", 0));

    await redis.kill();
    await redis.restart();
    const cli = await redisCli(redis);
    await cli.configSet("maxmemory-policy", "volatile-lru");
    await until("ampd to reconnect and see the policy", async () => {
      const b = (await bus.info()).backend as { state: string; degraded?: string };
      return b.state === "degraded" && b.degraded === "BACKEND_MISCONFIGURED";
    }, 15_000);
    const err = await rejection(bus.streamAdd(stream, numbered("rc", 1)));
    expect(err).toBeInstanceOf(BusError);
    expect(err.code).toBe("BACKEND_MISCONFIGURED");
    expect(err.message).toContain("maxmemory-policy volatile-lru");
    expect(await cli.xLen(`ampbus:{${stream}}`)).toBe(0);
    expect(ampd.stderr).toMatch(/degraded: .*maxmemory-policy volatile-lru/);

    await cli.configSet("maxmemory-policy", "noeviction");
    await until("adds to work again", async () => {
      return ((await bus.info()).backend as { state: string }).state === "ready";
    }, 15_000);
    expect((await bus.streamAdd(stream, numbered("rc", 1))).duplicate).toBe(false);
    expect(await cli.xLen(`ampbus:{${stream}}`)).toBe(1);
  }, 45_000);

  test("Redis at maxmemory (noeviction) refuses adds with BACKEND_OUT_OF_MEMORY, not BACKEND_UNAVAILABLE", async () => {
    const redis = procs.track(await RedisServer.start());
    const cli = await redisCli(redis);
    const used = Number(/^used_memory:(\d+)/m.exec(await cli.info("memory"))![1]);
    await cli.configSet("maxmemory", String(used + 2 * 1024 * 1024));
    const ampd = procs.track(await startAmpd(redis));
    const bus = await connect({ socket: ampd.socket, reconnect: { deadlineMs: 3000 } });
    procs.track({ dispose: () => bus.close() });
    let stored = 0;
    let err: BusError | undefined;
    for (let i = 0; i < 2000 && err === undefined; i++) {
      try {
        await bus.streamAdd("oom", numbered("oom", i, { pad: 8192 }));
        stored++;
      } catch (e) {
        err = e as BusError;
      }
    }
    printFigures("out of memory", { stored });
    expect(err).toBeInstanceOf(BusError);
    expect(err!.code).toBe("BACKEND_OUT_OF_MEMORY");
    expect(err!.message).toContain("out of memory");
    // What was acknowledged is all there: nothing was evicted.
    expect(await cli.xLen("ampbus:{oom}")).toBe(stored);
    expect(((await bus.info()).backend as { state: string }).state).toBe("ready");
  }, 30_000);
});

describeRedis("Redis stopped (SIGSTOP)", () => {
  test("adds fail with BACKEND_TIMEOUT while Redis is stopped, info says degraded; the reconnecting client's retries with the same opId store once", async () => {
    const redis = procs.track(await RedisServer.start());
    const pid = await redisPid(redis);
    let stopped = false;
    procs.track({ dispose: () => void (stopped && process.kill(pid, "SIGCONT")) });
    const ampd = procs.track(await startAmpd(redis, { args: ["--command-timeout", "1s"] }));
    // One client that sees every error as it is, one that retries through outages.
    const plain = await connect({ socket: ampd.socket, reconnect: false });
    procs.track({ dispose: () => plain.close() });
    const bus = await connect({ socket: ampd.socket, reconnect: { deadlineMs: 20_000 } });
    procs.track({ dispose: () => bus.close() });
    const stream = "stall";
    await bus.streamAdd(stream, numbered("stall", 0));

    process.kill(pid, "SIGSTOP");
    stopped = true;
    const t0 = performance.now();
    const msg = numbered("stall", 1);
    const first = rejection(plain.streamAdd(stream, msg));
    const err = await Promise.race([first, sleep(8000).then(() => undefined)]);
    const settledMs = Math.round(performance.now() - t0);
    expect(err).toBeDefined();
    expect(err!.code).toBe("BACKEND_TIMEOUT");
    expect(err!.message).toContain("1000 ms");
    const info = (await plain.info()).backend as { state: string; degraded?: string };
    expect(info.state).toBe("degraded");
    expect(info.degraded).toBe("BACKEND_TIMEOUT");
    const stats = await runAmpd(["stats", "--socket", ampd.socket, "--json", "--interval", "0"]);
    expect(JSON.parse(stats.stdout).server.backend.state).toBe("degraded");
    // The reconnecting client publishes the same message and a new one during the stall: it
    // retries each (same opId) on BACKEND_TIMEOUT until Redis answers, so neither fails.
    let settled = 0;
    const retried = [bus.streamAdd(stream, msg), bus.streamAdd(stream, numbered("stall", 2))].map((p) => p.finally(() => settled++));
    await sleep(Math.max(0, 4000 - (performance.now() - t0)));
    expect(stopped).toBe(true);
    expect(settled).toBe(0);

    process.kill(pid, "SIGCONT");
    stopped = false;
    const [same, next] = await Promise.all(retried);
    // Redis ran the timed-out adds when it woke: the first stored stall-1, the retries found their opIds.
    expect(same.duplicate).toBe(true);
    await until("the backend to be ready again", async () => ((await bus.info()).backend as { state: string }).state === "ready", 15_000);
    const again = await bus.streamAdd(stream, msg);
    expect(again.duplicate).toBe(true);
    const cli = await redisCli(redis);
    const entries = await cli.xRange(`ampbus:{${stream}}`, "-", "+");
    expect(entries.map((e) => e.message.opId)).toEqual(["stall-0", "stall-1", "stall-2"]);
    expect(entries[2].id).toBe(next.entryId);
    printFigures("redis SIGSTOP", { addSettledMs: settledMs, commandTimeoutMs: 1000, stored: entries.length });
  }, 45_000);
});
