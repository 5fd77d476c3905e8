/**
 * Unit tests of the live mirror (sidecar/web/mirror.ts, sidecar/web/mirror_filter.ts)
 * with in-process fake sockets: filters, the JSON frame, back-pressure and
 * the dropped notice, bounded queues.
 */
import { describe, expect, test } from "bun:test";
import { encode, sign, generateKeyPair, type AISPMessage } from "../../mod.ts";
import { Mirror, type MirrorSocket } from "../../sidecar/web/mirror.ts";
import { FilterError, filterFromQuery, FilterMatcher, parseFilter } from "../../sidecar/web/mirror_filter.ts";
import { MirrorAuthError, MirrorRevoker, verifyMirrorAuth } from "../../sidecar/web/mirror_auth.ts";
import { Keyring, newAgentKey, parseKeyFile, proveAuth, toBase64, TrustPolicy } from "../../mod.ts";

/** A socket that takes frames until `capacity` bytes are buffered, then reports back-pressure. */
class FakeSocket implements MirrorSocket {
  frames: string[] = [];
  buffered = 0;
  constructor(public capacity = Infinity) {}
  sendText(text: string): number {
    this.frames.push(text);
    this.buffered += text.length;
    return this.buffered > this.capacity ? -1 : text.length;
  }
  getBufferedAmount(): number {
    return this.capacity === Infinity ? 0 : this.buffered; // an unlimited peer reads at once
  }
  parsed(): Record<string, unknown>[] {
    return this.frames.map((f) => JSON.parse(f));
  }
}

function msg(i: number, extra: Partial<AISPMessage> = {}): AISPMessage {
  return { v: 1, id: `m-${i}`, opId: `m-${i}`, type: "task", sender: "coder", receiver: "tester", timestamp: 1_700_000_000_000 + i, ...extra };
}

function publish(mirror: Mirror, stream: string, m: AISPMessage, entryId = `1-${m.id}`) {
  mirror.publish({ stream, entryId, msg: m, bytes: encode(m) });
}

const tick = () => new Promise((r) => setImmediate(r));

describe("mirror filters", () => {
  test("parseFilter accepts strings (comma-separated) and arrays, drops empty values", () => {
    expect(parseFilter({ stream: "inbox.*, tasks", sender: ["coder", " "], type: "" })).toEqual({ stream: ["inbox.*", "tasks"], sender: ["coder"] });
    expect(parseFilter(undefined)).toEqual({});
  });

  test("parseFilter lists every problem with its field", () => {
    let err: unknown;
    try {
      parseFilter({ stream: 5, colour: "red", tier: ["gold", 7], sender: "x".repeat(300) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FilterError);
    const f = err as FilterError;
    expect(f.code).toBe("BAD_FILTER");
    expect(f.issues.map((i) => i.path)).toEqual([["stream"], ["colour"], ["tier", 1], ["sender", 0]]);
    expect(() => parseFilter([1])).toThrow(FilterError);
  });

  test("filterFromQuery reads the five fields and ignores token", () => {
    const q = new URLSearchParams("stream=inbox.*&tier=gold,platinum&token=secret&receiver=a&receiver=b");
    expect(filterFromQuery(q)).toEqual({ stream: ["inbox.*"], receiver: ["a", "b"], tier: ["gold", "platinum"] });
  });

  test("a message passes when every named field matches one pattern", () => {
    const m = new FilterMatcher({ stream: ["inbox.*", "tasks"], tier: ["gold"] });
    const s = { stream: "inbox.tester", sender: "a", receiver: "b", type: "task", tier: "gold" };
    expect(m.matches(s)).toBe(true);
    expect(m.matches({ ...s, stream: "tasks" })).toBe(true);
    expect(m.matches({ ...s, stream: "inbox" })).toBe(false); // "inbox.*" needs the dot
    expect(m.matches({ ...s, tier: "silver" })).toBe(false);
    expect(m.matches({ ...s, tier: undefined })).toBe(false);
    expect(new FilterMatcher({}).matches({ ...s, tier: undefined })).toBe(true);
  });
});

describe("mirror", () => {
  test("sends each matching message as one JSON frame, to the watchers whose filter matches", async () => {
    const mirror = new Mirror();
    const all = new FakeSocket();
    const gold = new FakeSocket();
    const coder = new FakeSocket();
    mirror.attach(all);
    mirror.attach(gold, { tier: ["gold"] });
    const w = mirror.attach(coder, { sender: ["planner"] });
    w.filter = { sender: ["coder"], stream: ["inbox.*"] }; // replaced, as a {"filter"} message does
    publish(mirror, "inbox.tester", msg(1, { spec: { preconditions: ["p"], task: "write tests", postconditions: ["q"] }, tier: "gold" }));
    publish(mirror, "broadcast", msg(2, { payload: { blob: new Uint8Array([1, 2, 3]) } }));
    expect(all.frames.length).toBe(0); // never sent from inside publish (the add path)
    await tick();
    expect(all.parsed().map((f) => f.entryId)).toEqual(["1-m-1", "1-m-2"]);
    expect(gold.parsed().map((f) => f.entryId)).toEqual(["1-m-1"]);
    expect(coder.parsed().map((f) => f.entryId)).toEqual(["1-m-1"]);
    const [first, second] = all.parsed() as { stream: string; size: number; message: AISPMessage }[];
    expect(first.stream).toBe("inbox.tester");
    expect(first.size).toBe(encode(msg(1, { spec: { preconditions: ["p"], task: "write tests", postconditions: ["q"] }, tier: "gold" })).length);
    expect(first.message.spec?.task).toBe("write tests");
    expect(first.message.tier).toBe("gold");
    expect(second.message.payload).toEqual({ blob: { $bin: "AQID" } });
  });

  test("signatures travel as alg, kid and base64 value", async () => {
    const { signingKey } = await generateKeyPair("k1");
    const signed = await sign(msg(3), signingKey);
    const mirror = new Mirror();
    const s = new FakeSocket();
    mirror.attach(s);
    publish(mirror, "t", signed);
    await tick();
    const sig = (s.parsed()[0].message as { sig: { alg: string; kid: string; value: string } }).sig;
    expect(sig.alg).toBe("ed25519");
    expect(sig.kid).toBe("k1");
    expect(atob(sig.value).length).toBe(64);
  });

  test("no watcher: publish does nothing, not even decoding", () => {
    const mirror = new Mirror();
    mirror.publish({ stream: "t", entryId: "1-0", msg: msg(1), bytes: new Uint8Array([0xc1]) }); // bytes that do not decode
    expect(mirror.published).toBe(0);
  });

  test("a slow watcher: sends stop at the high-water mark, the oldest are dropped, then {dropped: N} precedes the rest", async () => {
    const mirror = new Mirror({ maxQueue: 10, highWater: 1000 });
    const slow = new FakeSocket(1000);
    const fast = new FakeSocket();
    const w = mirror.attach(slow);
    mirror.attach(fast);
    for (let i = 0; i < 3; i++) publish(mirror, "t", msg(i));
    await tick();
    expect(slow.frames.length).toBe(3);
    for (let i = 3; i < 103; i++) publish(mirror, "t", msg(i)); // a burst while the socket is nearly full
    await tick();
    expect(fast.frames.length).toBe(103); // a slow watcher does not slow the others
    expect(w.queued).toBe(10); // held back: the socket reported back-pressure; the queue stays bounded
    const dropped = w.droppedTotal;
    expect(dropped).toBeGreaterThan(0);
    slow.capacity = Infinity; // the peer catches up
    w.flush(); // what ampd does on the socket's drain event
    expect(w.queued).toBe(0);
    // In order, with one gap, announced by {dropped: N} exactly where it is; the newest are kept.
    const got = slow.parsed();
    const gap = got.findIndex((f) => "dropped" in f);
    expect(got[gap]).toEqual({ dropped });
    const ids = got.filter((f) => !("dropped" in f)).map((f) => Number(String(f.entryId).slice(4)));
    expect(ids).toEqual([...Array.from({ length: gap }, (_, k) => k), ...Array.from({ length: 103 - gap - dropped }, (_, k) => gap + dropped + k)]);
    expect(ids.at(-1)).toBe(102);
    expect(ids.length).toBe(103 - dropped);
  });

  test("the queue is bounded in bytes too; a message larger than the bound is counted as dropped", async () => {
    const mirror = new Mirror({ maxQueue: 1000, maxQueueBytes: 2000, highWater: 1000 });
    const s = new FakeSocket(1000);
    s.buffered = 1e9; // the peer reads nothing
    const w = mirror.attach(s);
    for (let i = 0; i < 50; i++) publish(mirror, "t", msg(i));
    publish(mirror, "t", msg(99, { payload: "x".repeat(5000) }));
    await tick();
    expect(s.frames.length).toBe(0);
    expect(w.queued).toBeGreaterThan(0);
    expect(w.queued).toBeLessThan(50);
    expect(w.droppedTotal).toBe(51 - w.queued);
    const queued = w.queued;
    s.capacity = Infinity; // the peer catches up
    w.flush();
    const got = s.parsed();
    expect(got[0]).toEqual({ dropped: 51 - queued });
    expect(got.slice(1).map((f) => f.entryId)).toEqual(Array.from({ length: queued }, (_, k) => `1-m-${50 - queued + k}`));
  });

  test("a detached watcher gets nothing more", async () => {
    const mirror = new Mirror();
    const s = new FakeSocket();
    const w = mirror.attach(s);
    publish(mirror, "t", msg(1));
    mirror.detach(w);
    await tick();
    expect(s.frames.length).toBe(0);
    expect(mirror.size).toBe(0);
  });
});

describe("mirror auth (with a keyring)", () => {
  async function ring(admin: boolean, extra: Record<string, unknown> = {}) {
    const made = await newAgentKey({ agent: "ops", kid: "ops-1", alg: "hmac-sha256" });
    const { key } = await parseKeyFile(made.keyFile);
    const policy = (a: boolean, more = {}) => new TrustPolicy({ keyring: Keyring.from({ agents: { ops: { keys: [made.keyringKey], admin: a, ...more } } }) });
    return { key, policy: policy(admin, extra), policyOf: policy };
  }

  test("verifyMirrorAuth: the proof of authBytes over the nonce, by an admin", async () => {
    const { key, policy, policyOf } = await ring(true);
    const nonce = crypto.getRandomValues(new Uint8Array(32));
    const proof = toBase64(await proveAuth(key, { agent: "ops", nonce }));
    const id = verifyMirrorAuth(policy, { nonce, answer: { auth: { agent: "ops", kid: "ops-1", proof } } });
    expect(id).toMatchObject({ agent: "ops", kid: "ops-1", fingerprint: policy.keyring!.fingerprintOf("ops") });
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as MirrorAuthError).code;
      }
      return "ok";
    };
    const other = crypto.getRandomValues(new Uint8Array(32));
    expect(code(() => verifyMirrorAuth(policy, { nonce: other, answer: { auth: { agent: "ops", kid: "ops-1", proof } } }))).toBe("AUTH_FAILED");
    expect(code(() => verifyMirrorAuth(policyOf(false), { nonce, answer: { auth: { agent: "ops", kid: "ops-1", proof } } }))).toBe("FORBIDDEN");
    expect(code(() => verifyMirrorAuth(policy, { nonce, answer: { filter: {} } }))).toBe("AUTH_REQUIRED");
    expect(code(() => verifyMirrorAuth(new TrustPolicy(), { nonce, answer: { auth: { agent: "ops", kid: "ops-1", proof } } }))).toBe("AUTH_FAILED");
  });

  test("MirrorRevoker: unchanged entries stay, changed or removed ones are revoked; Mirror.beforePublish runs before the fan-out", async () => {
    const { policy, policyOf } = await ring(true);
    let current = policy;
    const revoked: [string, string][] = [];
    const mirror = new Mirror();
    const revoker = new MirrorRevoker<string>({ current: () => current, revoke: (w, why) => revoked.push([w, why]), intervalMs: 60_000 });
    const id = () => ({ agent: "ops", kid: "ops-1", fingerprint: policy.keyring!.fingerprintOf("ops")!, policy });
    const sockets = { a: new FakeSocket(), b: new FakeSocket() };
    const watchers = { a: mirror.attach(sockets.a), b: mirror.attach(sockets.b) };
    revoker.add("a", id());
    mirror.beforePublish = () => {
      revoker.check();
      for (const [w] of revoked) mirror.detach(watchers[w as "a" | "b"]);
    };
    expect(revoker.check()).toBe(0);
    current = policyOf(true); // the same entry, a new policy object (a reload of the same file)
    expect(revoker.check()).toBe(0);
    expect(revoker.size).toBe(1);
    current = policyOf(true, { subscribe: ["tasks.>"] }); // changed
    publish(mirror, "t", msg(1));
    await tick();
    expect(revoked).toEqual([["a", "the keyring entry of agent ops changed; reconnect to authenticate again"]]);
    expect(sockets.a.frames).toEqual([]); // revoked before the message was fanned out
    expect(sockets.b.frames.length).toBe(1);
    expect(revoker.size).toBe(0);
    revoker.add("b", id());
    current = new TrustPolicy({ keyring: Keyring.from({ agents: {} }) });
    expect(revoker.check()).toBe(1);
    expect(revoked[1]).toEqual(["b", "agent ops is no longer in the keyring; reconnect to authenticate again"]);
    revoker.stop();
  });
});
