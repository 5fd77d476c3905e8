/**
 * Replies fit the frame limit they announce: `read`, `group.read` and
 * subscription pushes cut their batches by bytes (each frame at most the
 * `maxFrame` that `hello` reports, 16 MiB here), entries cut off a group
 * delivery go to the same consumer's next read at once, and `add` refuses a
 * message bigger than the largest deliverable one (`maxFrame - 1024`). Against
 * the compiled ampd, on memory and on a real redis-server.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { connect } from "../../sdk/client/connect.ts";
import { createMessage } from "../../sdk/envelope/builder.ts";
import { encode } from "../../sdk/codec/codec.ts";
import type { AISPMessage } from "../../sdk/envelope/envelope.ts";
import type { AmpClient } from "../../sdk/client/client.ts";
import { BusError } from "../../sdk/errors.ts";
import { DEFAULT_MAX_FRAME } from "../../sdk/transport/frame.ts";
import { Ampd } from "../_helpers/ampd.ts";
import { RedisServer, REDIS_SKIP_REASON } from "../_helpers/redis_server.ts";
import { Processes, startAmpd } from "../faults/_fault.ts";

const procs = new Processes();
afterEach(() => procs.disposeAll());

const MAX_FRAME = DEFAULT_MAX_FRAME;
/** The documented largest storable message: maxFrame - 1024. */
const MAX_ENTRY = MAX_FRAME - 1024;
const NINE_MIB = 9 * 1024 * 1024;

/** Filler of `len` characters, in strings of at most 4 MB (ampd's decoder takes no longer string). */
function filler(len: number): string[] {
  const out: string[] = [];
  for (; len > 4_000_000; len -= 4_000_000) out.push("x".repeat(4_000_000));
  out.push("x".repeat(len));
  return out;
}

/** A message whose encoding is exactly `size` bytes. */
function sized(size: number, n: number): AISPMessage {
  const make = (pad: number) =>
    createMessage({ type: "task", sender: "big", receiver: "worker", opId: `big-${n}`, payload: { n, pad: filler(pad) } });
  const guess = make(size - 300);
  const m = make(size - 300 + size - encode(guess).length);
  expect(encode(m).length).toBe(size);
  return m;
}

const nOf = (m: AISPMessage) => (m.payload as { n: number }).n;

async function start(kind: string, extra: string[] = []): Promise<AmpClient> {
  const ampd = procs.track(
    kind === "memory"
      ? await Ampd.start({ args: ["--backend", "memory", "--log-level", "warn", ...extra] })
      : await startAmpd(procs.track(await RedisServer.start()), { args: extra }),
  );
  // No reconnect: an over-size frame must fail the test, not be retried until it times out.
  const bus = await connect({ socket: ampd.socket, name: "frame-limit", reconnect: false });
  procs.track({ dispose: () => bus.close() });
  return bus;
}

const backends = [
  { kind: "memory", skip: false },
  { kind: "redis", skip: REDIS_SKIP_REASON !== undefined },
];

for (const { kind, skip } of backends) {
  (skip ? describe.skip : describe)(`frame limit on ${kind}`, () => {
    test("read of two 9 MiB messages: each reply under maxFrame, the rest on the next read", async () => {
      const bus = await start(kind);
      const stream = "frames.read";
      for (let n = 0; n < 2; n++) await bus.streamAdd(stream, sized(NINE_MIB, n));

      // read: both fit the count but not one frame; the first reply carries one, the next read the other.
      const first = await bus.streamRead(stream, { count: 10 });
      expect(first.map((d) => nOf(d.message))).toEqual([0]);
      const second = await bus.streamRead(stream, { count: 10 });
      expect(second.map((d) => nOf(d.message))).toEqual([1]);
      expect(await bus.streamRead(stream, { count: 10 })).toEqual([]);
    }, 60_000);

    test("a subscription's batch of two 9 MiB messages is split across pushes under maxFrame", async () => {
      const bus = await start(kind);
      const stream = "frames.push";
      for (let n = 0; n < 2; n++) await bus.streamAdd(stream, sized(NINE_MIB, n));
      const it = bus.streamIter(stream, { from: "0", window: 16 });
      const got: number[] = [];
      for await (const d of it) {
        got.push(nOf(d.message));
        if (got.length === 2) break;
      }
      expect(got).toEqual([0, 1]);
    }, 60_000);

    test("group.read delivers what fits; the rest goes to the same consumer's next read, not to the claim timeout", async () => {
      const bus = await start(kind);
      const stream = "frames.group";
      const group = bus.group(stream, "g", { from: "0" });
      await group.ensure();
      for (let n = 0; n < 3; n++) await bus.streamAdd(stream, sized(NINE_MIB, n));

      const c = group.consumer("c", { count: 10, block: 1000 });
      const first = await c.fetch();
      expect(first.map((d) => nOf(d.message))).toEqual([0]);
      // All three were handed to c by the backend; none is lost or waiting for another consumer.
      expect((await group.pending()).map((p) => p.consumer)).toEqual(["c", "c", "c"]);
      await first[0].ack();
      const started = Date.now();
      const second = await c.fetch();
      const third = await c.fetch();
      expect([...second, ...third].map((d) => [nOf(d.message), d.deliveries])).toEqual([[1, 1], [2, 1]]);
      // The claim timeout is 30 s: these came at once, as a first delivery.
      expect(Date.now() - started).toBeLessThan(15_000);
      for (const d of [...second, ...third]) await d.ack();
      expect(await group.pending()).toEqual([]);
    }, 60_000);

    test("entries held for a consumer that stops reading are not lost: after the claim timeout another consumer claims them", async () => {
      // A 1 MiB frame limit keeps this quick: three 600 kB messages, one per reply.
      const bus = await start(kind, ["--max-frame", "1MiB", "--claim-timeout", "1s"]);
      const stream = "frames.crash";
      const group = bus.group(stream, "g", { from: "0" });
      await group.ensure();
      for (let n = 0; n < 3; n++) await bus.streamAdd(stream, sized(600_000, n));
      const first = await group.consumer("c", { count: 10 }).fetch();
      expect(first.map((d) => nOf(d.message))).toEqual([0]);
      await first[0].ack();
      // c goes away with 1 and 2 held for it; d gets them once they are claimable.
      const d = group.consumer("d", { count: 10, block: 500 });
      const got: [number, number][] = [];
      const end = Date.now() + 20_000;
      while (got.length < 2 && Date.now() < end) {
        for (const e of await d.fetch()) {
          got.push([nOf(e.message), e.deliveries]);
          await e.ack();
        }
      }
      expect(got).toEqual([[1, 2], [2, 2]]);
      expect(await group.pending()).toEqual([]);
    }, 60_000);

    test("add refuses a message over maxFrame - 1024 (TOO_LARGE); the largest one is delivered by every read, even on a 256-character stream name", async () => {
      const bus = await start(kind);
      const stream = "\u6d41".repeat(256); // 768 bytes of UTF-8: the longest name a reply can carry
      const err = await bus.streamAdd(stream, sized(MAX_ENTRY + 1, 0)).catch((e) => e);
      expect(err).toBeInstanceOf(BusError);
      expect((err as BusError).code).toBe("TOO_LARGE");
      expect((err as BusError).message).toContain(String(MAX_ENTRY));
      expect((await bus.streamInfo(stream)).length).toBe(0);

      const biggest = sized(MAX_ENTRY, 1);
      await bus.streamAdd(stream, biggest);
      expect((await bus.streamRead({ [stream]: "0" })).map((d) => d.bytes.length)).toEqual([MAX_ENTRY]);
      const group = bus.group(stream, "g", { from: "0" });
      const got = await group.consumer("c", { block: 1000 }).fetch();
      expect(got.map((d) => d.bytes.length)).toEqual([MAX_ENTRY]);
      const it = bus.streamIter(stream, { from: "0" });
      expect((await it.next()).value?.message.id).toBe(biggest.id);
      await it.return?.();
    }, 60_000);
  });
}
