/**
 * A push that arrives in the same read as its `subscribe` reply reaches the
 * subscription: through `SocketPort`, through `streamIter()`, and through
 * `ReconnectingPort` when it re-subscribes after a dropped connection. The
 * sidecar is played by a scripted transport that answers `subscribe` with
 * the reply and a push in one chunk, the case a real ampd produces when the
 * stream already holds entries and the client is slow to read.
 */
import { describe, expect, test } from "bun:test";
import { createMessage } from "../../sdk/envelope/builder.ts";
import { AmpClient } from "../../sdk/client/client.ts";
import { decodeValue, encode, encodeValue } from "../../sdk/codec/codec.ts";
import { DEFAULT_MAX_FRAME, frame, FrameDecoder } from "../../sdk/transport/frame.ts";
import { ReconnectingPort } from "../../sdk/client/reconnect.ts";
import { SocketPort } from "../../sdk/client/socket_port.ts";
import { ChunkQueue } from "../../sdk/async_queue.ts";
import type { Transport } from "../../sdk/transport/transport.ts";

const MSG = encode(createMessage({ type: "obs.tick", sender: "scripted", receiver: "broadcast" }));

/** What the scripted sidecar answers to one request: the frames of one chunk. */
type Script = (req: Record<string, unknown>) => Record<string, unknown>[];

/** A transport whose peer is a script: each request is answered with one chunk. */
class ScriptedTransport implements Transport {
  readonly requests: Record<string, unknown>[] = [];
  #queue = new ChunkQueue();
  #frames = new FrameDecoder(DEFAULT_MAX_FRAME);
  #script: Script;
  #closed: Promise<Error | undefined>;
  #resolveClosed!: (e: Error | undefined) => void;

  constructor(script: Script) {
    this.#script = script;
    this.#closed = new Promise((r) => (this.#resolveClosed = r));
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.#queue;
  }

  send(bytes: Uint8Array): Promise<void> {
    for (const f of this.#frames.push(bytes)) {
      const req = decodeValue(f) as Record<string, unknown>;
      this.requests.push(req);
      const frames = this.#script(req).map((m) => frame(encodeValue(m)));
      if (frames.length === 0) continue;
      const chunk = new Uint8Array(frames.reduce((n, b) => n + b.length, 0));
      let at = 0;
      for (const b of frames) {
        chunk.set(b, at);
        at += b.length;
      }
      this.#queue.push(chunk);
    }
    return Promise.resolve();
  }

  /** The peer hangs up. */
  drop(): void {
    this.#queue.end();
    this.#resolveClosed(undefined);
  }

  async close(): Promise<void> {
    this.drop();
    await this.#closed;
  }

  closed(): Promise<Error | undefined> {
    return this.#closed;
  }
}

/**
 * Answers hello, and answers subscribe with its reply and, in the same
 * chunk, a push of `entries()` (entry ids after the subscription's `from`).
 */
function sidecar(entries: (from: string) => string[]): Script {
  let nextSub = 1;
  return (req) => {
    const rid = req.rid;
    switch (req.op) {
      case "hello":
        return [{ rid, ok: true, version: 1, server: "ampd", serverVersion: "test", backend: "memory", maxFrame: DEFAULT_MAX_FRAME }];
      case "subscribe": {
        const sub = nextSub++;
        const from = req.from as string;
        return [{ rid, ok: true, sub, from }, { sub, entries: entries(from).map((id) => [id, MSG]) }];
      }
      default:
        return [{ rid, ok: true }];
    }
  };
}

/** Resolves with `p`, or rejects after `ms` saying what did not arrive. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

describe("a push in the same read as the subscribe reply", () => {
  test("reaches the SocketPort subscription's handler", async () => {
    const t = new ScriptedTransport(sidecar(() => ["1-0", "2-0"]));
    const port = await SocketPort.open(t, { name: "scripted" });
    const got: string[] = [];
    const r = await port.subscribe("s", { from: "0", credit: 8, onEntries: (entries) => got.push(...entries.map((e) => e[0])) });
    expect(r.from).toBe("0");
    expect(got).toEqual(["1-0", "2-0"]);
    await port.close();
  });

  test("is the first delivery of streamIter()", async () => {
    const t = new ScriptedTransport(sidecar(() => ["1-0", "2-0"]));
    const bus = new AmpClient(await SocketPort.open(t, { name: "scripted" }));
    const it = bus.streamIter("s", { from: "0", window: 2 });
    const first = await within(it.next(), 2000, "first delivery");
    const second = await within(it.next(), 2000, "second delivery");
    expect([first.value?.entryId, second.value?.entryId]).toEqual(["1-0", "2-0"]);
    await bus.close();
  });

  test("reaches a ReconnectingPort subscription, and the re-subscribe goes on after it", async () => {
    const transports: ScriptedTransport[] = [];
    const entriesAfter = (from: string) => (from === "0" ? ["1-0", "2-0"] : from === "2-0" ? ["3-0"] : []);
    let reopened!: () => void;
    const resubscribed = new Promise<void>((r) => (reopened = r));
    const open = () => {
      const script = sidecar(entriesAfter);
      const t = new ScriptedTransport((req) => {
        if (transports.length > 1 && req.op === "subscribe") queueMicrotask(reopened);
        return script(req);
      });
      transports.push(t);
      return SocketPort.open(t, { name: "scripted" });
    };
    const port = await ReconnectingPort.open(open, { initialDelayMs: 1 });
    const got: string[] = [];
    let third!: () => void;
    const gotThird = new Promise<void>((r) => (third = r));
    const r = await port.subscribe("s", { from: "0", credit: 8, onEntries: (entries) => {
      got.push(...entries.map((e) => e[0]));
      if (got.length >= 3) third();
    } });
    expect(r.from).toBe("0");
    expect(got).toEqual(["1-0", "2-0"]);

    transports[0].drop();
    await within(resubscribed, 2000, "re-subscribe");
    await within(gotThird, 2000, "push after the re-subscribe");
    const again = transports[1].requests.find((q) => q.op === "subscribe")!;
    // After the last entry delivered, with the credit not used yet: not from the original "0".
    expect({ from: again.from, credit: again.credit }).toEqual({ from: "2-0", credit: 6 });
    expect(got).toEqual(["1-0", "2-0", "3-0"]);
    await port.close();
  });
});
