/**
 * The validating scan (`sdk/codec/scan.ts`) against `decode()`: the same
 * verdict on every input, and the same fields from every valid one. Inputs:
 * random valid messages and mutated ones (tests/_helpers/envelope_gen.ts),
 * each encoded canonically and in a loose encoding (keys in any order,
 * wider integer, string, map and array forms, integers as floats), and byte
 * mutations of those (flips, truncations, insertions). SCAN_N sets the
 * number of generated messages (default 25 000, which with the encodings
 * and byte mutations makes about 100 000 inputs).
 */
import { describe, expect, test } from "bun:test";
import { decode, decodeValue, encodeValue } from "../../mod.ts";
import { MessageScanner } from "../../sdk/codec/scan.ts";
import { mutatedMessages, validMessages } from "../_helpers/envelope_gen.ts";
import { prng, type Rng } from "../_helpers/prng.ts";

const N = Number(process.env.SCAN_N ?? 25_000);

/** A whole number in [0, n). */
const below = (rng: Rng, n: number) => rng.int(0, n - 1);

/** A MessagePack writer that picks, at random, any legal form of each value (never an invalid one). */
function looseEncode(value: unknown, rng: Rng): Uint8Array {
  const out: number[] = [];
  const u = (x: number, bytes: number) => {
    for (let i = bytes - 1; i >= 0; i--) out.push(Math.floor(x / 2 ** (8 * i)) & 0xff);
  };
  const f64 = (x: number) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, x);
    out.push(0xcb, ...b);
  };
  const str = (s: string) => {
    const b = new TextEncoder().encode(s);
    const n = b.length;
    const pick = below(rng, 4);
    if (n < 32 && pick === 0) out.push(0xa0 | n);
    else if (n < 256 && pick <= 1) out.push(0xd9, n);
    else if (n < 65536 && pick <= 2) (out.push(0xda), u(n, 2));
    else (out.push(0xdb), u(n, 4));
    for (let i = 0; i < b.length; i++) out.push(b[i]);
  };
  const header = (n: number, fix: number, w16: number) => {
    const pick = below(rng, 3);
    if (n < 16 && pick === 0) out.push(fix | n);
    else if (n < 65536 && pick === 1) (out.push(w16), u(n, 2));
    else (out.push(w16 + 1), u(n, 4));
  };
  const write = (v: unknown): void => {
    if (v === null || v === undefined) out.push(0xc0);
    else if (v === true) out.push(0xc3);
    else if (v === false) out.push(0xc2);
    else if (typeof v === "number") {
      if (!Number.isInteger(v) || Object.is(v, -0) || below(rng, 6) === 0) return f64(v);
      if (v >= 0) {
        const pick = below(rng, 5);
        if (v < 128 && pick === 0) out.push(v);
        else if (v < 256 && pick <= 1) out.push(0xcc, v);
        else if (v < 65536 && pick <= 2) (out.push(0xcd), u(v, 2));
        else if (v < 2 ** 32 && pick <= 3) (out.push(0xce), u(v, 4));
        else (out.push(0xcf), u(v, 8));
      } else if (v >= -32 && below(rng, 2) === 0) out.push(v & 0xff);
      else if (v >= -128 && below(rng, 2) === 0) out.push(0xd0, v & 0xff);
      else if (v >= -(2 ** 31)) (out.push(0xd2), u(v >>> 0, 4));
      else f64(v);
    } else if (typeof v === "string") str(v);
    else if (v instanceof Uint8Array) {
      const n = v.length;
      const pick = below(rng, 3);
      if (n < 256 && pick === 0) out.push(0xc4, n);
      else if (n < 65536 && pick <= 1) (out.push(0xc5), u(n, 2));
      else (out.push(0xc6), u(n, 4));
      for (let i = 0; i < v.length; i++) out.push(v[i]);
    } else if (Array.isArray(v)) {
      header(v.length, 0x90, 0xdc);
      for (const x of v) write(x);
    } else {
      const keys = Object.keys(v as object);
      for (let i = keys.length - 1; i > 0; i--) {
        const j = below(rng, i + 1);
        [keys[i], keys[j]] = [keys[j], keys[i]];
      }
      header(keys.length, 0x80, 0xde);
      for (const k of keys) {
        str(k);
        write((v as Record<string, unknown>)[k]);
      }
    }
  };
  write(value);
  return new Uint8Array(out);
}

function mutateBytes(b: Uint8Array, rng: Rng): Uint8Array {
  const out = Uint8Array.from(b);
  switch (below(rng, 4)) {
    case 0: // flip a byte
      out[below(rng, out.length)] = below(rng, 256);
      return out;
    case 1: // truncate
      return out.subarray(0, below(rng, out.length));
    case 2: { // insert a byte
      const at = below(rng, out.length + 1);
      return new Uint8Array([...out.subarray(0, at), below(rng, 256), ...out.subarray(at)]);
    }
    default: { // swap the type byte of a value for a neighbour's
      const at = below(rng, out.length);
      out[at] = (out[at] + (below(rng, 2) === 0 ? 1 : -1)) & 0xff;
      return out;
    }
  }
}

const scanner = new MessageScanner();

/** Checks scan ≡ decode on `bytes`; returns whether it was valid. */
function same(bytes: Uint8Array): boolean {
  let msg: ReturnType<typeof decode> | undefined;
  try {
    msg = decode(bytes);
  } catch {
    msg = undefined;
  }
  const scanned = scanner.scan(bytes);
  if ((scanned === undefined) !== (msg === undefined)) {
    const hex = Buffer.from(bytes).toString("hex");
    throw new Error(`scan says ${scanned === undefined ? "invalid" : "valid"}, decode says ${msg === undefined ? "invalid" : "valid"}: ${hex}`);
  }
  if (msg === undefined || scanned === undefined) return false;
  expect({
    id: scanned.id, opId: scanned.opId, type: scanned.type, sender: scanned.sender, receiver: scanned.receiver,
    timestamp: scanned.timestamp, tier: scanned.tier, expiresAt: scanned.expiresAt, snapSha: scanned.snapSha,
    signed: scanned.signed, compressed: scanned.compressed,
  }).toEqual({
    id: msg.id, opId: msg.opId, type: msg.type, sender: msg.sender, receiver: msg.receiver,
    timestamp: msg.timestamp, tier: msg.tier, expiresAt: msg.expiresAt, snapSha: msg.snapSha,
    signed: msg.sig !== undefined, compressed: msg.compressed !== undefined,
  });
  if (msg.spec === undefined) expect(scanned.spec).toBeUndefined();
  else expect(decodeValue(scanned.spec!)).toEqual(msg.spec);
  return true;
}

function encodable(m: unknown): Uint8Array | undefined {
  try {
    return encodeValue(m);
  } catch {
    return undefined; // values MessagePack cannot carry (undefined, functions...)
  }
}

describe("MessageScanner.scan() ≡ decode()", () => {
  test(`over ${N} generated messages, each canonical, loose and byte-mutated`, () => {
    const rng = prng(14);
    const messages: unknown[] = [...validMessages(101, Math.floor(N / 3)), ...mutatedMessages(102, N - Math.floor(N / 3))];
    let inputs = 0;
    let valid = 0;
    for (const m of messages) {
      const canonical = encodable(m);
      if (canonical === undefined) continue;
      const loose = looseEncode(decodeValue(canonical), rng);
      for (const b of [canonical, loose, mutateBytes(canonical, rng), mutateBytes(loose, rng)]) {
        inputs++;
        if (same(b)) valid++;
      }
    }
    // Both verdicts must be well represented, or the test proves little.
    expect(inputs).toBeGreaterThan(3 * N);
    expect(valid).toBeGreaterThan(inputs / 5);
    expect(inputs - valid).toBeGreaterThan(inputs / 5);
  }, 300_000);

  test("limits: the same maxBytes, string, bin, array, map and depth limits as decode()", () => {
    const big = (n: number) => ({ v: 1, id: "m", opId: "m", type: "t", sender: "a", receiver: "b", timestamp: 0, payload: "x".repeat(n) });
    const limits = { maxStrLength: 100, maxBytes: 4096 };
    const s = new MessageScanner(limits);
    for (const n of [99, 100, 101, 5000]) {
      const b = encodeValue(big(n));
      let ok = true;
      try {
        decode(b, limits);
      } catch {
        ok = false;
      }
      expect(s.scan(b) !== undefined).toBe(ok);
    }
    // The payload's value replaced by `arrays` nested one-item arrays around a 1.
    const nested = (arrays: number) => {
      const base = [...encodeValue({ ...big(0), payload: "@@" })];
      const at = base.findIndex((x, i) => x === 0xa2 && base[i + 1] === 0x40 && base[i + 2] === 0x40);
      return new Uint8Array([...base.slice(0, at), ...new Array(arrays).fill(0x91), 0x01, ...base.slice(at + 3)]);
    };
    expect(same(nested(99))).toBe(true); // the payload is at depth 1: the innermost array at depth 99
    expect(same(nested(100))).toBe(false); // one more is over the depth limit of 100
  });

  test("a payload map's duplicate keys are refused, past the first few keys too", () => {
    const base = encodeValue({ v: 1, id: "m", opId: "m", type: "t", sender: "a", receiver: "b", timestamp: 0, payload: { a: 1 } });
    for (const n of [2, 9, 40]) {
      const keys = Array.from({ length: n }, (_, i) => `k${i}`);
      keys[n - 1] = keys[0];
      // Build {k0: 0, k1: 1, ..., k0: n-1} by hand: encodeValue cannot write a duplicate key.
      const pairs = keys.flatMap((k, i) => [...encodeValue(k), ...encodeValue(i)]);
      const payload = [0xde, n >> 8, n & 0xff, ...pairs];
      const head = base.subarray(0, base.length - 4); // the payload's {a: 1} is the last 4 bytes
      const bytes = new Uint8Array([...head, ...payload]);
      expect(same(bytes)).toBe(false);
      expect(scanner.scan(bytes)).toBeUndefined();
    }
  });
});

describe("MessageScanner.scanBody()", () => {
  test("accepts a {spec?, payload?} map with a valid spec, and nothing else", () => {
    const spec = { preconditions: ["∀x ∈ X: p(x)"], task: "t ≜ x", postconditions: [] };
    expect(scanner.scanBody(encodeValue({ spec, payload: { n: 1 } }))?.payload).toBe(true);
    expect(decodeValue(scanner.scanBody(encodeValue({ spec }))!.spec!)).toEqual(spec);
    expect(scanner.scanBody(encodeValue({ spec: { ...spec, task: "" } }))).toBeUndefined();
    expect(scanner.scanBody(encodeValue({ spec, other: 1 }))).toBeUndefined();
    expect(scanner.scanBody(encodeValue([spec]))).toBeUndefined();
  });
});
