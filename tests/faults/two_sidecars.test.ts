/**
 * Two ampd processes on one Redis (the way to scale past one machine):
 * agents connected to different sidecars send to each other, broadcast,
 * request and reply, and one consumer group spans both sidecars, each entry
 * processed once.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { connect } from "../../sdk/client/connect.ts";
import { createMessage } from "../../sdk/envelope/builder.ts";
import type { AmpClient } from "../../sdk/client/client.ts";
import type { GroupDelivery } from "../../sdk/client/group.ts";
import { RedisServer, REDIS_SKIP_REASON } from "../_helpers/redis_server.ts";
import { DedupeStore, missing, numbered, printFigures, Processes, startAmpd, until } from "./_fault.ts";

const describeRedis = REDIS_SKIP_REASON === undefined ? describe : describe.skip;
const procs = new Processes();
afterEach(() => procs.disposeAll());

async function client(socket: string, name: string): Promise<AmpClient> {
  const bus = await connect({ socket, name });
  procs.track({ dispose: () => bus.close() });
  return bus;
}

/** Runs `handle` for each delivery of `it` until `it` is returned; collects errors. */
function drain(it: AsyncIterable<GroupDelivery>, handle: (d: GroupDelivery) => Promise<void>, errors: Error[]): Promise<void> {
  return (async () => {
    try {
      for await (const d of it) await handle(d);
    } catch (e) {
      errors.push(e as Error);
    }
  })();
}

describeRedis("two sidecars on one Redis", () => {
  test("agents on different sidecars send, broadcast, request and reply; a group spans both", async () => {
    const redis = procs.track(await RedisServer.start());
    const sidecarA = procs.track(await startAmpd(redis));
    const sidecarB = procs.track(await startAmpd(redis));
    const alice = await client(sidecarA.socket, "alice"); // on A
    const bob = await client(sidecarB.socket, "bob"); // on B
    const carol = await client(sidecarA.socket, "carol"); // on A
    const errors: Error[] = [];

    // bob (on B) answers requests and records what he got; carol (on A) records broadcasts.
    const bobGot = new Map<string, number>();
    const carolGot = new Map<string, number>();
    const bobInbox = bob.listen("bob", { replica: "bob-1" });
    const carolInbox = carol.listen("carol", { replica: "carol-1" });
    const bobDone = drain(bobInbox, async (d) => {
      bobGot.set(d.message.opId, (bobGot.get(d.message.opId) ?? 0) + 1);
      if (d.message.type === "question") {
        const q = d.message.payload as { n: number };
        await bob.reply(d.message, { type: "answer", payload: { n: q.n, square: q.n * q.n } });
      }
      await d.ack();
    }, errors);
    const carolDone = drain(carolInbox, async (d) => {
      carolGot.set(d.message.opId, (carolGot.get(d.message.opId) ?? 0) + 1);
      await d.ack();
    }, errors);

    // send: A -> B
    const SENDS = 200;
    const sent = new Set<string>();
    for (let i = 0; i < SENDS; i++) {
      const m = numbered("ts-send", i, { receiver: "bob" });
      await alice.send(m);
      sent.add(m.opId);
    }
    // broadcast from B reaches carol (on A) and bob (on B) once each
    const bc = createMessage({ type: "notice", sender: "bob", receiver: "broadcast", opId: "ts-broadcast", payload: { hello: "all" } });
    // Broadcast groups start at "$": wait until both agents' groups exist before broadcasting.
    const broadcastGroups = async () => ((await bob.port.groupInfo("broadcast")).groups as { name: string }[] | undefined ?? []).map((g) => g.name);
    await until("bob's and carol's broadcast groups", async () => {
      const names = await broadcastGroups();
      return names.includes("bob") && names.includes("carol");
    }, 10_000);
    // request/reply: alice (A) asks bob (B), 50 requests at once
    const REQUESTS = 50;
    const answers = await Promise.all(Array.from({ length: REQUESTS }, (_, n) =>
      alice.request(createMessage({ type: "question", sender: "alice", receiver: "bob", payload: { n } }), { timeout: 30_000 })
    ));
    await bob.send(bc);
    await until(
      "bob to get every send and the broadcast, carol the broadcast",
      () => (missing(sent, bobGot).length === 0 && bobGot.has(bc.opId) && carolGot.has(bc.opId)) || errors.length > 0,
      30_000,
    );

    // one group, one consumer on each sidecar, publishers on both
    const GROUP_N = 2_000;
    const stream = "faults.two-sidecars";
    await alice.group(stream, "g", { from: "0" }).ensure();
    const store = new DedupeStore();
    const consumers = [
      alice.group(stream, "g").consumer("on-a", { count: 16, block: 300 }),
      bob.group(stream, "g").consumer("on-b", { count: 16, block: 300 }),
    ];
    const consuming = consumers.map((c) =>
      drain(c, async (d) => {
        store.process(d, c.id);
        await d.ack();
        store.ackedOk.add(d.message.opId);
      }, errors)
    );
    const groupSent = new Set<string>();
    await Promise.all([alice, bob].map(async (pub, k) => {
      for (let i = k; i < GROUP_N; i += 2) {
        const m = numbered("ts-group", i);
        await pub.streamAdd(stream, m);
        groupSent.add(m.opId);
      }
    }));
    await until("the group to process every entry", () => store.ackedOk.size >= GROUP_N || errors.length > 0, 60_000);
    for (const c of consumers) await c.return();
    await bobInbox.return();
    await carolInbox.return();
    await Promise.all([...consuming, bobDone, carolDone]);

    const per = store.perConsumer();
    const lost = missing(sent, bobGot).length + missing(groupSent, store.processed).length;
    printFigures("two-sidecars", {
      sent: SENDS,
      deliveredToBob: [...bobGot.values()].reduce((a, b) => a + b, 0),
      requests: REQUESTS,
      replies: answers.length,
      broadcastToBob: bobGot.get(bc.opId) ?? 0,
      broadcastToCarol: carolGot.get(bc.opId) ?? 0,
      groupSent: GROUP_N,
      groupDelivered: store.deliveries,
      groupOnA: per["on-a"] ?? 0,
      groupOnB: per["on-b"] ?? 0,
      redelivered: store.redelivered,
      deadLettered: 0,
      lost,
    });

    expect(errors).toEqual([]);
    expect(lost).toBe(0);
    // Each send once, the broadcast once per agent.
    for (const op of sent) expect(bobGot.get(op)).toBe(1);
    expect(bobGot.get(bc.opId)).toBe(1);
    expect(carolGot.get(bc.opId)).toBe(1);
    expect(carolGot.size).toBe(1);
    // Each request answered with its own reply, across sidecars.
    answers.forEach((a, n) => {
      expect(a.message.type).toBe("answer");
      expect(a.message.payload).toEqual({ n, square: n * n });
    });
    // The group: each entry processed once, both sidecars' consumers took a share.
    expect(store.deliveries).toBe(GROUP_N);
    expect(store.processed.size).toBe(GROUP_N);
    expect(store.dedupeHits).toBe(0);
    expect(per["on-a"] ?? 0).toBeGreaterThan(0);
    expect(per["on-b"] ?? 0).toBeGreaterThan(0);
  }, 120_000);
});
