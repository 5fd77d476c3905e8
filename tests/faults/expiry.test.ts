/**
 * Expiry: messages past `expiresAt` are not delivered to group consumers,
 * neither when first read (they expired while stored) nor when redelivered
 * after they expired while pending; they are acked in the source and counted
 * as `expiredDropped` in `info`. A message already expired when added is
 * refused (`EXPIRED`), not stored. On both of ampd's backends.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { connect } from "../../sdk/client/connect.ts";
import type { AISPMessage } from "../../sdk/envelope/envelope.ts";
import type { GroupDelivery } from "../../sdk/client/group.ts";
import { Ampd } from "../_helpers/ampd.ts";
import { RedisServer, REDIS_SKIP_REASON } from "../_helpers/redis_server.ts";
import { numbered, printFigures, Processes, sleep, startAmpd, until } from "./_fault.ts";

const procs = new Processes();
afterEach(() => procs.disposeAll());

const backends = [
  { kind: "memory", skip: false },
  { kind: "sqlite", skip: false },
  { kind: "redis", skip: REDIS_SKIP_REASON !== undefined },
];

for (const { kind, skip } of backends) {
  (skip ? describe.skip : describe)(`expiry on ${kind}`, () => {
    test("expired messages are not delivered (first read or redelivery) and are counted in info", async () => {
      const args = ["--claim-timeout", "1s", "--log-level", "warn"];
      const ampd = procs.track(
        kind === "redis"
          ? await startAmpd(procs.track(await RedisServer.start()), { args })
          : await Ampd.start({ args: ["--backend", kind, ...args] }),
      );
      const bus = await connect({ socket: ampd.socket, name: "expiry" });
      procs.track({ dispose: () => bus.close() });
      const stream = "faults.expiry";
      const group = bus.group(stream, "g", { from: "0" });
      await group.ensure();

      const refused = await bus.streamAdd(stream, numbered("gone", 0, { expiresAt: Date.now() - 1000 })).catch((e) => e);
      expect((refused as { code?: string }).code).toBe("EXPIRED");

      const N = 60;
      const now = Date.now();
      const soon = now + 1500;
      const expired = new Set<string>();
      const live = new Set<string>();
      for (let i = 0; i < N; i++) {
        // A third expiring before anyone reads, a third expiring in an hour, a third without expiresAt.
        const expiresAt = i % 3 === 0 ? soon : i % 3 === 1 ? now + 3_600_000 : undefined;
        const m = numbered("ex", i, { expiresAt });
        await bus.streamAdd(stream, m);
        (i % 3 === 0 ? expired : live).add(m.opId);
      }
      await sleep(Math.max(0, soon - Date.now() + 50));
      // One that is live when first delivered and expires while pending.
      const late: AISPMessage = numbered("ex", N, { expiresAt: Date.now() + 3000 });
      await bus.streamAdd(stream, late);

      const c = group.consumer("c", { count: 16, block: 200 });
      const got = new Map<string, number>();
      let lateDelivery: GroupDelivery | undefined;
      const take = async () => {
        for (const d of await c.fetch()) {
          got.set(d.message.opId, (got.get(d.message.opId) ?? 0) + 1);
          if (d.message.opId === late.opId) lateDelivery = d;
          else await d.ack();
        }
      };
      await until("every live message and the late one", async () => {
        await take();
        return [...live].every((op) => got.has(op)) && lateDelivery !== undefined;
      }, 30_000);

      // Let the late one expire while pending, give it back, and read on: it is dropped, not redelivered.
      await sleep(Math.max(0, late.expiresAt! - Date.now() + 50));
      await lateDelivery!.nack();
      await until("the late one to be dropped on redelivery", async () => {
        await take();
        return (await group.pending()).length === 0;
      }, 30_000);
      await take();

      const info = await bus.info();
      const deliveredExpired = [...expired].filter((op) => got.has(op)).length;
      printFigures(`expiry-${kind}`, {
        sent: N + 1,
        expiredAtSend: expired.size,
        delivered: [...got.values()].reduce((a, b) => a + b, 0),
        deliveredExpired,
        lateDeliveries: got.get(late.opId) ?? 0,
        expiredDropped: Number(info.expiredDropped),
        redelivered: (got.get(late.opId) ?? 1) - 1,
        deadLettered: Number(info.deadLettered),
        lost: [...live].filter((op) => !got.has(op)).length,
      });

      expect(deliveredExpired).toBe(0);
      for (const op of live) expect(got.get(op)).toBe(1);
      expect(got.get(late.opId)).toBe(1);
      expect(got.size).toBe(live.size + 1);
      expect(info.expiredDropped).toBe(expired.size + 1);
      expect(info.deadLettered).toBe(0);
      expect(await group.pending()).toEqual([]);
    }, 60_000);
  });
}
