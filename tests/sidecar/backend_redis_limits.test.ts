/**
 * RedisBackend against a Redis that would lose or hang acknowledged adds:
 * the eviction-policy check, the command timeout with Redis stopped
 * (SIGSTOP) and resumed, blocking reads that outlast the command timeout,
 * and Redis out of memory. Each test has its own redis-server.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { createClient } from "redis";
import { RedisBackend } from "../../sidecar/backend/redis.ts";
import type { BackendState } from "../../sdk/backend/types.ts";
import { REDIS_SKIP_REASON, RedisServer } from "../_helpers/redis_server.ts";
import { freshStream, makeEntry } from "./backend_contract.ts";

const sleep = (n: number) => new Promise((r) => setTimeout(r, n));
const describeRedis = REDIS_SKIP_REASON === undefined ? describe : describe.skip;

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup.length = 0;
});

async function startRedis() {
  const server = await RedisServer.start();
  cleanup.push(() => server.dispose());
  const cli = createClient({ url: server.url });
  cli.on("error", () => {});
  await cli.connect();
  cleanup.push(() => cli.disconnect().catch(() => {}));
  const pid = Number(/^process_id:(\d+)/m.exec(await cli.info("server"))![1]);
  return { server, cli, pid };
}

async function open(url: string, options: { commandTimeoutMs?: number; allowEviction?: boolean } = {}) {
  const b = await RedisBackend.connect({ url, ...options });
  cleanup.push(() => b.close());
  return b;
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const errorOf = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as Error & { code: string });

describeRedis("RedisBackend eviction policy", () => {
  test("connect refuses allkeys-lru with BACKEND_MISCONFIGURED; allowEviction, or noeviction, connects", async () => {
    const { server, cli } = await startRedis();
    await cli.configSet("maxmemory-policy", "allkeys-lru");
    const err = await errorOf(RedisBackend.connect({ url: server.url }));
    expect(err?.code).toBe("BACKEND_MISCONFIGURED");
    expect(err?.name).toBe("BackendMisconfiguredError");
    expect(err?.message).toContain("maxmemory-policy allkeys-lru");
    const allowed = await open(server.url, { allowEviction: true });
    expect((await allowed.add(freshStream("evict"), makeEntry(1))).duplicate).toBe(false);
    await cli.configSet("maxmemory-policy", "noeviction");
    const strict = await open(server.url);
    expect(strict.backendInfo().state).toBe("ready");
  });

  test("a policy changed while connected is seen within seconds: adds refused, then served again", async () => {
    const { server, cli } = await startRedis();
    const b = await open(server.url);
    const s = freshStream("evict-live");
    await b.add(s, makeEntry(1));
    await cli.configSet("maxmemory-policy", "allkeys-random");
    await until("state degraded", () => b.backendInfo().state === "degraded");
    expect(b.backendInfo().degraded).toBe("BACKEND_MISCONFIGURED");
    expect((await errorOf(b.add(s, makeEntry(2))))?.code).toBe("BACKEND_MISCONFIGURED");
    // Reads go on: they cannot lose anything.
    expect((await b.read([{ stream: s, after: "0" }]))[0]!.entries.length).toBe(1);
    await cli.configSet("maxmemory-policy", "noeviction");
    await until("state ready", () => b.backendInfo().state === "ready");
    expect((await b.add(s, makeEntry(2))).duplicate).toBe(false);
  });
});

describeRedis("RedisBackend command timeout", () => {
  test("Redis stopped: add fails with BACKEND_TIMEOUT, state degraded; resumed: ready, and the retried opId is stored once", async () => {
    const { server, cli, pid } = await startRedis();
    let stopped = false;
    cleanup.push(() => void (stopped && process.kill(pid, "SIGCONT")));
    const b = await open(server.url, { commandTimeoutMs: 300 });
    const states: BackendState[] = [];
    b.onStateChange((st) => states.push(st));
    const s = freshStream("stall");
    await b.add(s, makeEntry(0));
    const blocked = b.read([{ stream: s, after: "$" }], { block: 1500 });
    await sleep(50);

    process.kill(pid, "SIGSTOP");
    stopped = true;
    const t0 = performance.now();
    const entry = makeEntry(1);
    const err = await errorOf(b.add(s, entry));
    expect(err?.code).toBe("BACKEND_TIMEOUT");
    expect(err?.name).toBe("BackendTimeoutError");
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(b.backendInfo().state).toBe("degraded");
    expect(b.backendInfo().degraded).toBe("BACKEND_TIMEOUT");
    expect((await errorOf(b.read([{ stream: s, after: "0" }])))?.code).toBe("BACKEND_TIMEOUT");
    expect((await errorOf(b.add(s, entry)))?.code).toBe("BACKEND_TIMEOUT");
    // The read blocked before the stall waits on its own connection and ends by its block time.
    expect(await blocked).toEqual([]);

    process.kill(pid, "SIGCONT");
    stopped = false;
    await until("state ready", () => b.backendInfo().state === "ready");
    expect(states).toEqual(["degraded", "ready"]);
    const again = await b.add(s, entry);
    expect(again.duplicate).toBe(true);
    expect(await cli.xLen(`ampbus:{${s}}`)).toBe(2);
  }, 30_000);

  test("a blocking read longer than the command timeout is not cut short by it", async () => {
    const { server } = await startRedis();
    const b = await open(server.url, { commandTimeoutMs: 200 });
    const writer = await open(server.url);
    const s = freshStream("long-block");
    const blocked = b.read([{ stream: s, after: "$" }], { block: 3000 });
    await sleep(800);
    const added = await writer.add(s, makeEntry(1));
    const got = await blocked;
    expect(got[0]!.entries[0]!.entryId).toBe(added.entryId);
    expect(b.backendInfo().state).toBe("ready");
  });
});

describeRedis("RedisBackend out of memory", () => {
  test("adds past maxmemory fail with BACKEND_OUT_OF_MEMORY and nothing acknowledged is lost", async () => {
    const { server, cli } = await startRedis();
    const used = Number(/^used_memory:(\d+)/m.exec(await cli.info("memory"))![1]);
    await cli.configSet("maxmemory", String(used + 1024 * 1024));
    const b = await open(server.url);
    const s = freshStream("oom");
    let stored = 0;
    let err: (Error & { code: string }) | undefined;
    const big = new Uint8Array(16 * 1024);
    for (let i = 0; i < 1000 && err === undefined; i++) {
      err = await errorOf(b.add(s, { ...makeEntry(i), msg: big }));
      if (err === undefined) stored++;
    }
    expect(err?.code).toBe("BACKEND_OUT_OF_MEMORY");
    expect(err?.name).toBe("BackendOutOfMemoryError");
    expect(stored).toBeGreaterThan(0);
    expect(await cli.xLen(`ampbus:{${s}}`)).toBe(stored);
    expect(b.backendInfo().state).toBe("ready");
  });
});
