/**
 * One slow subscriber and several fast ones on a stream of 200,000 messages:
 * the slow one's credit window caps what ampd reads ahead for it, so ampd's
 * resident memory stays bounded (sampled from /proc/<pid>/status), and the
 * fast ones are not held back: they have everything while the slow one is
 * still far behind. Released, the slow one then gets every message, in order.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { connect } from "../../sdk/client/connect.ts";
import type { AmpClient } from "../../sdk/client/client.ts";
import { RedisServer, REDIS_SKIP_REASON } from "../_helpers/redis_server.ts";
import { printFigures, Processes, publishAll, sleep, startAmpd, until } from "./_fault.ts";

const describeRedis = REDIS_SKIP_REASON === undefined ? describe : describe.skip;
const procs = new Processes();
afterEach(() => procs.disposeAll());

const MiB = 1024 * 1024;

/** Follows `stream` from the start, counting deliveries and checking stream order; `pace()` runs before each. */
function follow(bus: AmpClient, stream: string, window: number, pace: () => Promise<void> | void) {
  const state = { received: 0, outOfOrder: 0, error: undefined as Error | undefined };
  const it = bus.streamIter(stream, { from: "0", window });
  const done = (async () => {
    let lastMs = -1;
    let lastSeq = -1;
    try {
      for await (const d of it) {
        const dash = d.entryId.indexOf("-");
        const ms = Number(d.entryId.slice(0, dash));
        const seq = Number(d.entryId.slice(dash + 1));
        // Strictly increasing entry ids: no repeat, no reordering.
        if (ms < lastMs || (ms === lastMs && seq <= lastSeq)) state.outOfOrder++;
        lastMs = ms;
        lastSeq = seq;
        state.received++;
        await pace();
      }
    } catch (e) {
      state.error = e as Error;
    }
  })();
  return { state, it, done };
}

describeRedis("a slow subscriber among fast ones", () => {
  test("ampd's memory stays bounded and the fast subscribers are not slowed", async () => {
    const N = 200_000;
    const PAD = 1000; // bytes of filler per message: holding the slow one's backlog would take 100+ MiB
    const FAST = 3;
    const stream = "faults.slow-subscriber";
    const redis = procs.track(await RedisServer.start());
    const ampd = procs.track(await startAmpd(redis));
    const open = async (name: string) => {
      const bus = await connect({ socket: ampd.socket, name });
      procs.track({ dispose: () => bus.close() });
      return bus;
    };
    const publishers = [await open("publisher-1"), await open("publisher-2")];

    // Warm up ampd (JIT, allocator, Redis connections) before taking the baseline.
    await publishAll(publishers[0]!, `${stream}.warmup`, { run: "warm", n: 5_000, concurrency: 64, pad: PAD });
    await sleep(200);
    const baseline = ampd.rss();

    let slowPaced = true;
    const slow = follow(await open("slow"), stream, 64, () => (slowPaced ? sleep(20) : undefined));
    const fast: ReturnType<typeof follow>[] = [];
    for (let k = 0; k < FAST; k++) fast.push(follow(await open(`fast-${k}`), stream, 256, () => {}));

    // RSS of a garbage-collected process saws up and down under load; what must not happen is a
    // climb with the backlog. Peaks are kept per half of the run (by acknowledged publishes).
    let acked = 0;
    let slowAtHalfway = 0;
    const peaks = [baseline, baseline];
    const sampling = setInterval(() => {
      const half = acked < N / 2 ? 0 : 1;
      peaks[half] = Math.max(peaks[half]!, ampd.rss());
    }, 100);
    procs.track({ dispose: () => clearInterval(sampling) });
    const halves = await Promise.all(publishers.map((p, k) =>
      publishAll(p, stream, { run: `slow-${k}`, n: N / 2, concurrency: 64, pad: PAD, onProgress: () => {
        if (++acked === N / 2) slowAtHalfway = slow.state.received;
      } })
    ));
    const ackedPublishes = halves[0]!.acked.size + halves[1]!.acked.size;
    await until("the fast subscribers to get every message", () => fast.every((f) => f.state.received >= N || f.state.error !== undefined), 180_000);
    clearInterval(sampling);
    const slowAtFastDone = slow.state.received;

    slowPaced = false;
    await until("the released slow subscriber to catch up", () => slow.state.received >= N || slow.state.error !== undefined, 120_000);
    for (const f of [...fast, slow]) await f.it.return?.();
    await Promise.all([...fast, slow].map((f) => f.done));

    const [peakFirstHalf, peakSecondHalf] = peaks as [number, number];
    const secondHalfBacklogBytes = (N / 2 - (slowAtFastDone - slowAtHalfway)) * PAD;
    printFigures("slow-subscriber", {
      sent: N,
      ackedPublishes,
      fastSubscribers: FAST,
      deliveredPerFast: fast.map((f) => f.state.received).join("/"),
      slowWhenFastDone: slowAtFastDone,
      slowFinal: slow.state.received,
      rssBaselineMiB: (baseline / MiB).toFixed(1),
      rssPeakFirstHalfMiB: (peakFirstHalf / MiB).toFixed(1),
      rssPeakSecondHalfMiB: (peakSecondHalf / MiB).toFixed(1),
      slowBacklogAddedInSecondHalfMiB: (secondHalfBacklogBytes / MiB).toFixed(1),
      redelivered: 0,
      deadLettered: 0,
      lost: N - slow.state.received + fast.reduce((a, f) => a + (N - f.state.received), 0),
    });

    for (const f of [...fast, slow]) {
      expect(f.state.error).toBeUndefined();
      expect(f.state.received).toBe(N);
      expect(f.state.outOfOrder).toBe(0);
    }
    expect(ackedPublishes).toBe(N);
    expect((await publishers[0]!.streamInfo(stream)).length).toBe(N);
    // The fast ones finished while the slow one was far behind: it did not hold them back.
    expect(slowAtFastDone).toBeLessThan(N / 4);
    // ampd did not hold the slow one's backlog: while that backlog grew by 90+ MiB in the
    // second half, ampd's peak memory rose by less than half of that.
    expect(secondHalfBacklogBytes).toBeGreaterThan(2 * 45 * MiB);
    expect(peakSecondHalf - peakFirstHalf).toBeLessThan(45 * MiB);
  }, 300_000);
});
