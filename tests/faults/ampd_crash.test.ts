/**
 * ampd SIGKILLed and restarted on the same socket under load (Redis backend):
 * a publisher, two group consumers and a stream follower reconnect on their
 * own and carry on; nothing acknowledged is lost, the follower resumes after
 * the last entry it got (no gap, no repeat), and group entries whose reply
 * died with ampd are redelivered after the claim timeout.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { connect } from "../../sdk/client/connect.ts";
import type { AmpClient } from "../../sdk/client/client.ts";
import type { GroupConsumer } from "../../sdk/client/group.ts";
import type { ReconnectingPort } from "../../sdk/client/reconnect.ts";
import type { Ampd } from "../_helpers/ampd.ts";
import { RedisServer, REDIS_SKIP_REASON } from "../_helpers/redis_server.ts";
import { DedupeStore, missing, printFigures, Processes, publishAll, sleep, startAmpd, until } from "./_fault.ts";

const describeRedis = REDIS_SKIP_REASON === undefined ? describe : describe.skip;
const procs = new Processes();
afterEach(() => procs.disposeAll());

describeRedis("ampd killed under load", () => {
  test("clients reconnect and continue; nothing acknowledged is lost", async () => {
    const N = 20_000;
    const stream = "faults.ampd-crash";
    const redis = procs.track(await RedisServer.start());
    const socket = join(procs.tempDir("ampd-crash-"), "ampd.sock");
    const args = ["--claim-timeout", "1s"];
    let ampd: Ampd = await startAmpd(redis, { socket, args });
    procs.track({ dispose: () => ampd.dispose() });

    const clients: AmpClient[] = [];
    for (const name of ["publisher", "consumer-a", "consumer-b", "follower"]) {
      const bus = await connect({ socket, name, reconnect: { deadlineMs: 60_000 } });
      procs.track({ dispose: () => bus.close() });
      clients.push(bus);
    }
    const [publisher, busA, busB, follower] = clients as [AmpClient, AmpClient, AmpClient, AmpClient];
    await publisher.group(stream, "g", { from: "0" }).ensure();

    const store = new DedupeStore();
    const errors: Error[] = [];
    const consume = async (c: GroupConsumer) => {
      try {
        for await (const d of c) {
          store.process(d, c.id);
          await d.ack();
          store.ackedOk.add(d.message.opId);
        }
      } catch (e) {
        errors.push(e as Error);
      }
    };
    const consumers = [
      busA.group(stream, "g").consumer("a", { count: 64, block: 500 }),
      busB.group(stream, "g").consumer("b", { count: 64, block: 500 }),
    ];
    const consuming = consumers.map(consume);

    const followed: string[] = [];
    const followedEntryIds: string[] = [];
    const it = follower.streamIter(stream, { from: "0", window: 256 });
    const following = (async () => {
      try {
        for await (const d of it) {
          followed.push(d.message.opId);
          followedEntryIds.push(d.entryId);
        }
      } catch (e) {
        errors.push(e as Error);
      }
    })();

    let crash: Promise<void> | undefined;
    let ackedAtCrash = 0;
    const published = await publishAll(publisher, stream, {
      run: "ac",
      n: N,
      concurrency: 32,
      onProgress: (acked) => {
        if (crash === undefined && acked >= N / 3) {
          ackedAtCrash = acked;
          crash = (async () => {
            await ampd.kill();
            await sleep(500);
            ampd = await startAmpd(redis, { socket, args });
          })();
        }
      },
    });
    await crash;

    await until(
      "the group and the follower to get every acknowledged publish",
      () => (missing(published.acked, store.ackedOk).length === 0 && followed.length >= published.acked.size) || errors.length > 0,
      120_000,
    );
    await until("the group to have nothing pending", async () => (await publisher.group(stream, "g").pending()).length === 0, 30_000);
    for (const c of consumers) await c.return();
    await it.return?.();
    await Promise.all([...consuming, following]);

    const reconnects = clients.map((c) => (c.port as ReconnectingPort).reconnects);
    const info = await publisher.info();
    const lost = missing(published.acked, store.processed).length;
    const followedSet = new Set(followed);
    printFigures("ampd-crash", {
      sent: N,
      ackedPublishes: published.acked.size,
      ackedAtCrash,
      publishFailed: published.failed,
      publishDuplicates: published.duplicates,
      delivered: store.deliveries,
      processed: store.processed.size,
      redelivered: store.redelivered,
      dedupeHits: store.dedupeHits,
      dedupeHitsOnFirstDelivery: store.dedupeHitsOnFirstDelivery,
      followed: followed.length,
      reconnects: reconnects.join("/"),
      claimedAfterRestart: Number(info.claimed),
      lost,
      followerLost: missing(published.acked, followedSet).length,
    });

    expect(errors).toEqual([]);
    expect(published.failed).toBe(0);
    // Every client went through the outage on its own connection.
    for (const r of reconnects) expect(r).toBeGreaterThanOrEqual(1);
    expect(lost).toBe(0);
    expect(store.processed.size).toBe(published.acked.size);
    // No second stored copy of an opId: the stream holds exactly N entries (checked below) and the
    // follower saw each opId once. Dedupe hits on a first delivery are not that: a consumer whose
    // acks wait out the outage still holds the rest of its prefetched batch (delivery count 1)
    // while the other consumer claims those entries, idle past the 1 s claim timeout, and
    // processes them first. The idempotent handler refuses the late copy, as it exists to.
    expect(store.dedupeHits).toBeLessThanOrEqual(store.redelivered);
    // The follower resumed after its last entry: every entry once, in stream order.
    expect(missing(published.acked, followedSet)).toEqual([]);
    expect(followed.length).toBe(followedSet.size);
    for (let i = 1; i < followedEntryIds.length; i++) {
      const [a, b] = [followedEntryIds[i - 1]!.split("-").map(Number), followedEntryIds[i]!.split("-").map(Number)];
      if (!(a[0]! < b[0]! || (a[0] === b[0] && a[1]! < b[1]!))) throw new Error(`follower out of order at ${i}: ${followedEntryIds[i - 1]} then ${followedEntryIds[i]}`);
    }
    expect((await publisher.streamInfo(stream)).length).toBe(N);
  }, 240_000);
});
