// The codec's fast paths against the slow ways they replace: the writer's
// views of one buffer (instead of a copy per value) and the reader's string
// cache and JS UTF-8 decoding (instead of TextDecoder).
import { describe, expect, test } from "bun:test";
import { decodeValue, encodeValue } from "../../mod.ts";
import { MsgpackWriter } from "../../sdk/codec/msgpack_writer.ts";
import { prng } from "../_helpers/prng.ts";

describe("MsgpackWriter hands out views", () => {
  test("a view is never written over by the values after it, nor by a growing buffer", () => {
    const w = new MsgpackWriter(64);
    const kept: [Uint8Array, string][] = [];
    const rng = prng(3);
    for (let i = 0; i < 500; i++) {
      const s = "x".repeat(rng.int(0, 100)) + i;
      w.reset();
      w.str(s);
      kept.push([w.finish(), s]);
    }
    for (const [bytes, s] of kept) expect(decodeValue(bytes)).toBe(s);
  });

  test("reset() without finish() writes over the unfinished value; frames are relative to the value", () => {
    const w = new MsgpackWriter(64);
    w.reset();
    w.str("dropped");
    w.reset();
    const start = w.beginFrame();
    w.str("abc");
    w.endFrame(start);
    const out = w.finish();
    expect(start).toBe(0);
    expect([...out]).toEqual([0, 0, 0, 4, 0xa3, 0x61, 0x62, 0x63]);
    w.reset();
    const again = w.beginFrame();
    w.number(1);
    w.endFrame(again);
    expect([...w.finish()]).toEqual([0, 0, 0, 1, 1]);
    expect([...out]).toEqual([0, 0, 0, 4, 0xa3, 0x61, 0x62, 0x63]);
  });

  test("a view's buffer transferred away (detached) does not break the writer", () => {
    const w = new MsgpackWriter(64);
    w.reset();
    w.str("one");
    const first = w.finish();
    structuredClone(first.buffer, { transfer: [first.buffer] });
    expect(first.length).toBe(0);
    w.reset();
    w.str("two");
    expect(decodeValue(w.finish())).toBe("two");
  });
});

describe("strings decode as TextDecoder (fatal) says, at every length the fast paths cover", () => {
  const td = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const pieces = [[0x61], [0xc3, 0xa9], [0xe2, 0x88, 0x80], [0xf0, 0x9f, 0x98, 0x80], [0xef, 0xbb, 0xbf]];
  const bad = [[0x80], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x88], [0xff], [0xc3]];

  test("valid and invalid UTF-8 of 0 to 300 bytes, repeated (cache hits)", () => {
    const rng = prng(11);
    for (let i = 0; i < 4000; i++) {
      const n = rng.int(0, 300);
      const bytes: number[] = [];
      while (bytes.length < n) bytes.push(...rng.pick(pieces));
      if (rng.next() < 0.3) bytes.splice(rng.int(0, bytes.length), 0, ...rng.pick(bad));
      const raw = new Uint8Array(bytes);
      let expected: string | undefined;
      try {
        expected = td.decode(raw);
      } catch {
        expected = undefined;
      }
      // A str 32 header and the bytes.
      const frame = new Uint8Array(5 + raw.length);
      frame[0] = 0xdb;
      new DataView(frame.buffer).setUint32(1, raw.length);
      frame.set(raw, 5);
      for (let k = 0; k < 2; k++) {
        if (expected === undefined) expect(() => decodeValue(frame)).toThrow(/UTF-8/);
        else expect(decodeValue(frame)).toBe(expected);
      }
      if (expected !== undefined) expect(decodeValue(encodeValue(expected))).toBe(expected);
    }
  });
});
