/**
 * Redis SIGKILLed and restarted in the middle of a run: with `appendonly yes`
 * and `appendfsync always`, every publish the bus acknowledged survives, two
 * consumers of one group carry on without being restarted, entries whose ack
 * was lost are redelivered after the claim timeout, and handlers that dedupe
 * by opId process each acknowledged message exactly once.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { connect } from "../../sdk/client/connect.ts";
import type { GroupConsumer } from "../../sdk/client/group.ts";
import { RedisServer, REDIS_SKIP_REASON } from "../_helpers/redis_server.ts";
import { DedupeStore, missing, printFigures, Processes, publishAll, sleep, startAmpd, until } from "./_fault.ts";

const describeRedis = REDIS_SKIP_REASON === undefined ? describe : describe.skip;
const procs = new Processes();
afterEach(() => procs.disposeAll());

describeRedis("Redis killed mid-run", () => {
  test("no acknowledged publish is lost, none is processed twice, consumers resume on their own", async () => {
    const N = 50_000;
    const stream = "faults.redis-crash";
    const redis = procs.track(await RedisServer.start({ appendonly: true, appendfsync: "always" }));
    const ampd = procs.track(await startAmpd(redis, { args: ["--claim-timeout", "1s"] }));
    const clients = [];
    for (const name of ["publisher", "consumer-a", "consumer-b"]) {
      const bus = await connect({ socket: ampd.socket, name, reconnect: { deadlineMs: 60_000 } });
      procs.track({ dispose: () => bus.close() });
      clients.push(bus);
    }
    const [publisher, busA, busB] = clients;
    await publisher.group(stream, "g", { from: "0" }).ensure();

    const store = new DedupeStore();
    const errors: Error[] = [];
    let restartedAt = Infinity;
    const afterRestart: Record<string, number> = {};
    // Handlers ack without waiting for the previous ack (up to 64 in flight), as a busy worker would.
    const consume = async (c: GroupConsumer) => {
      const acking = new Set<Promise<void>>();
      try {
        for await (const d of c) {
          if (store.process(d, c.id) && Date.now() > restartedAt) afterRestart[c.id] = (afterRestart[c.id] ?? 0) + 1;
          const p: Promise<void> = d.ack().then(
            () => void store.ackedOk.add(d.message.opId),
            (e) => void errors.push(e as Error),
          ).finally(() => acking.delete(p));
          acking.add(p);
          if (acking.size >= 64) await Promise.race(acking);
        }
        await Promise.all(acking);
      } catch (e) {
        errors.push(e as Error);
      }
    };
    const consumers = [
      busA.group(stream, "g", { from: "0" }).consumer("a", { count: 64, block: 500 }),
      busB.group(stream, "g", { from: "0" }).consumer("b", { count: 64, block: 500 }),
    ];
    const consuming = consumers.map(consume);

    // Kill Redis once a third of the run is acknowledged; restart it a second later.
    let crash: Promise<void> | undefined;
    let ackedAtCrash = 0;
    const published = await publishAll(publisher, stream, {
      run: "rc",
      n: N,
      concurrency: 32,
      onProgress: (acked) => {
        if (crash === undefined && acked >= N / 3) {
          ackedAtCrash = acked;
          crash = (async () => {
            await redis.kill();
            await sleep(1000);
            await redis.restart();
            restartedAt = Date.now();
          })();
        }
      },
    });
    await crash;

    await until(
      "every acknowledged publish to be processed and acked",
      () => missing(published.acked, store.ackedOk).length === 0 || errors.length > 0,
      120_000,
    );
    // Nothing left pending: every delivery was acked in Redis too.
    await until("the group to have nothing pending", async () => (await publisher.group(stream, "g").pending()).length === 0, 30_000);
    for (const c of consumers) await c.return();
    await Promise.all(consuming);

    const info = await publisher.info();
    const lost = missing(published.acked, store.processed).length;
    printFigures("redis-crash", {
      sent: N,
      ackedPublishes: published.acked.size,
      ackedAtCrash,
      publishFailed: published.failed,
      publishDuplicates: published.duplicates,
      delivered: store.deliveries,
      processed: store.processed.size,
      redelivered: store.redelivered,
      dedupeHits: store.dedupeHits,
      claimed: Number(info.claimed),
      deadLettered: Number(info.deadLettered),
      lost,
      ...Object.fromEntries(Object.entries(store.perConsumer()).map(([k, v]) => [`by_${k}`, v])),
      ...Object.fromEntries(Object.entries(afterRestart).map(([k, v]) => [`afterRestart_${k}`, v])),
    });

    expect(errors).toEqual([]);
    expect(published.failed).toBe(0);
    expect(lost).toBe(0);
    // Processed opIds are exactly the acknowledged publishes: nothing invented, nothing twice.
    expect(missing(store.processed.keys(), published.acked)).toEqual([]);
    expect(store.processed.size).toBe(published.acked.size);
    // The dedupe store refused no more deliveries than the bus redelivered. (A refusal of a first
    // delivery is a consumer's prefetched entry that the other consumer claimed and processed
    // while the first one's acks waited out the outage; a second stored copy of an opId would
    // show in the stream length, checked below.)
    expect(store.dedupeHits).toBeLessThanOrEqual(store.redelivered);
    expect(Number(info.deadLettered)).toBe(0);
    // Both consumers kept working after the restart, on the same iterators.
    expect(afterRestart.a ?? 0).toBeGreaterThan(0);
    expect(afterRestart.b ?? 0).toBeGreaterThan(0);
    expect((await publisher.streamInfo(stream)).length).toBe(N);
  }, 240_000);
});
