/**
 * A consumer SIGKILLed mid-batch (a child process): the entries it took and
 * did not ack are redelivered to the surviving consumer after the claim
 * timeout; an entry whose handler always fails lands in `<stream>.dlq` after
 * `--max-deliveries`, with the reason, group, consumer, delivery count and
 * the original bytes; nothing else is lost.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { connect } from "../../sdk/client/connect.ts";
import { decode, encode } from "../../sdk/codec/codec.ts";
import type { AISPMessage } from "../../sdk/envelope/envelope.ts";
import { Ampd } from "../_helpers/ampd.ts";
import { RedisServer, REDIS_SKIP_REASON } from "../_helpers/redis_server.ts";
import { AgentProcess, DedupeStore, missing, numbered, printFigures, Processes, startAmpd, until } from "./_fault.ts";

const procs = new Processes();
afterEach(() => procs.disposeAll());

const backends = [
  { kind: "redis", skip: REDIS_SKIP_REASON !== undefined },
  { kind: "sqlite", skip: false },
];

for (const { kind, skip } of backends) (skip ? describe.skip : describe)(`a consumer killed mid-batch, on ${kind}`, () => {
  test("its pending entries go to the other consumer; an always-failing entry is dead-lettered; nothing else is lost", async () => {
    const N = 300;
    const MAX_DELIVERIES = 3;
    const stream = "faults.consumer-crash";
    const args = ["--claim-timeout", "1s", "--max-deliveries", String(MAX_DELIVERIES)];
    const ampd = procs.track(
      kind === "redis" ? await startAmpd(procs.track(await RedisServer.start()), { args }) : await Ampd.start({ args: ["--backend", kind, ...args] }),
    );
    const bus = await connect({ socket: ampd.socket, name: "survivor" });
    procs.track({ dispose: () => bus.close() });
    const group = bus.group(stream, "g", { from: "0" });
    await group.ensure();

    const sent: AISPMessage[] = [];
    for (let i = 0; i < N; i++) {
      const m = numbered("cc", i);
      await bus.streamAdd(stream, m);
      sent.push(m);
    }
    const poison = sent[30]!; // in the part of its batch the crashing consumer holds unacked

    const child = procs.track(new AgentProcess("group_consumer.ts", { socket: ampd.socket, stream, group: "g", consumer: "crasher", count: 50, ackFirst: 20 }));
    await until("the crashing consumer to hold its batch", () => child.lines.includes("holding") || !child.alive, 30_000);
    expect(child.stderr).toBe("");
    const childGot = child.said("got").map((l) => l.split(" ")[0]!);
    const childAcked = new Set(child.said("acked"));
    expect(childGot.length).toBe(50);
    expect(childGot).toContain(poison.opId);
    expect(childAcked.size).toBe(20);
    await child.kill();
    const poisonEntryId = child.said("got").find((l) => l.startsWith(`${poison.opId} `))!.split(" ")[1]!;

    const store = new DedupeStore();
    for (const op of childAcked) {
      store.processed.set(op, "crasher");
      store.ackedOk.add(op);
    }
    const redeliveredToSurvivor = new Set<string>();
    const poisonDeliveries: number[] = [];
    const c = group.consumer("survivor", { count: 32, block: 300 });
    const dlq = `${stream}.dlq`;
    let dlqLength = 0;
    const consuming = (async () => {
      for await (const d of c) {
        if (d.message.opId === poison.opId) {
          poisonDeliveries.push(d.deliveries);
          await d.nack(); // the handler always fails on this one
          continue;
        }
        if (d.deliveries > 1) redeliveredToSurvivor.add(d.message.opId);
        store.process(d, "survivor");
        await d.ack();
        store.ackedOk.add(d.message.opId);
      }
    })();
    await until(
      "every other entry processed and the poison dead-lettered",
      async () => {
        dlqLength = (await bus.streamInfo(dlq)).length;
        return store.ackedOk.size === N - 1 && dlqLength >= 1;
      },
      60_000,
    );
    await c.return();
    await consuming;

    const info = await bus.info();
    const letters = await bus.streamRead({ [dlq]: "0" });
    const lost = missing(sent.map((m) => m.opId).filter((op) => op !== poison.opId), store.processed).length;
    printFigures(`consumer-crash (${kind})`, {
      sent: N,
      takenByCrasher: childGot.length,
      ackedByCrasher: childAcked.size,
      delivered: store.deliveries + poisonDeliveries.length + childGot.length,
      redelivered: redeliveredToSurvivor.size + poisonDeliveries.length,
      poisonDeliveries: poisonDeliveries.join("/"),
      deadLettered: letters.length,
      lost,
    });

    // Everything the crasher took and did not ack went to the survivor, redelivered.
    const heldByCrasher = childGot.filter((op) => !childAcked.has(op) && op !== poison.opId);
    expect([...redeliveredToSurvivor].sort()).toEqual(heldByCrasher.sort());
    expect(store.dedupeHits).toBe(0);
    expect(lost).toBe(0);
    expect(store.processed.size).toBe(N - 1);
    // The poison: delivered to the crasher (1), then twice to the survivor, then moved.
    expect(poisonDeliveries).toEqual([2, 3]);
    expect(letters.length).toBe(1);
    const letter = letters[0]!.message;
    expect(letter.type).toBe("dead-letter");
    const p = letter.payload as Record<string, unknown>;
    expect(p.reason).toMatch(/maxDeliveries 3/);
    expect(p).toMatchObject({ stream, entryId: poisonEntryId, group: "g", consumer: "survivor", deliveries: MAX_DELIVERIES + 1, opId: poison.opId, messageId: poison.id });
    expect(p.message).toEqual(encode(poison));
    expect(decode(p.message as Uint8Array)).toEqual(poison);
    expect(info.deadLettered).toBe(1);
    expect(await group.pending()).toEqual([]);
  }, 120_000);
});
