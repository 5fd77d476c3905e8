import { describe, expect, test } from "bun:test";
import { decode as msgpackDecode } from "@msgpack/msgpack";
import {
  type AISPMessage,
  AmpbusError,
  decode,
  DecodeError,
  decodeValue,
  encode,
  encodeValue,
  ENVELOPE_FIELDS,
  ValidationError,
} from "../../mod.ts";
import { makeDecoder } from "../../sdk/codec/codec.ts";
import { concat, hex, minimal, mpStr, noise, seedMessage, thrown } from "./_fixtures.ts";

function full(): AISPMessage {
  return {
    ...seedMessage(),
    payload: { files: ["a.ts", "b.ts"], n: -5, ratio: 0.25, raw: new Uint8Array([1, 2, 3]), ok: true, none: null },
    snapSha: "0123456789abcdef0123456789abcdef01234567",
    conversationId: "conv-1",
    replyTo: "msg-000",
    expiresAt: 1706745660000,
    traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    sig: { alg: "hmac-sha256", kid: "team", value: new Uint8Array(32).fill(7) },
  };
}

/** The MessagePack map of a minimal envelope plus extra raw entries (key bytes, value bytes). */
function envelopeWith(...extra: [Uint8Array, Uint8Array][]): Uint8Array {
  const base: [string, Uint8Array][] = [
    ["v", new Uint8Array([1])],
    ["id", mpStr("m")],
    ["opId", mpStr("m")],
    ["type", mpStr("t")],
    ["sender", mpStr("s")],
    ["receiver", mpStr("r")],
    ["timestamp", new Uint8Array([1])],
  ];
  const parts: Uint8Array[] = [new Uint8Array([0x80 | (base.length + extra.length)])];
  for (const [k, v] of base) parts.push(mpStr(k), v);
  for (const [k, v] of extra) parts.push(k, v);
  return concat(...parts);
}

function decodeError(bytes: Uint8Array): DecodeError {
  const e = thrown(() => decode(bytes));
  expect(e).toBeInstanceOf(DecodeError);
  return e as DecodeError;
}

describe("encode / decode", () => {
  test("round trips the seed example, a minimal event, broadcast and every field", () => {
    for (const m of [seedMessage(), minimal(), minimal({ receiver: "broadcast" }), full()]) {
      const bytes = encode(m);
      expect(decode(bytes)).toEqual(m);
      expect(encode(decode(bytes))).toEqual(bytes);
    }
  });

  test("fields are written in envelope order whatever the object's key order", () => {
    const m = full();
    const reversed = Object.fromEntries(Object.entries(m).reverse()) as unknown as AISPMessage;
    expect(encode(reversed)).toEqual(encode(m));
    const keys = Object.keys(msgpackDecode(encode(m)) as object);
    expect(keys).toEqual(ENVELOPE_FIELDS.filter((f) => f in m));
  });

  test("our bytes decode to the same value with @msgpack/msgpack's plain decode", () => {
    const m = full();
    expect(msgpackDecode(encode(m))).toEqual(m);
  });

  test("the seed example encodes smaller than its JSON", () => {
    const m = seedMessage();
    expect(encode(m).length).toBeLessThan(new TextEncoder().encode(JSON.stringify(m)).length);
  });

  test("encode refuses an invalid message with every issue", () => {
    const e = thrown(() => encode({ ...minimal(), id: "", sender: 3 } as never)) as ValidationError;
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.issues.map((i) => i.path[0]).sort()).toEqual(["id", "sender"]);
  });

  test("bytes fields decode as Uint8Array views", () => {
    const m = decode(encode(full()));
    expect(m.sig!.value).toBeInstanceOf(Uint8Array);
    expect((m.payload as { raw: Uint8Array }).raw).toEqual(new Uint8Array([1, 2, 3]));
  });

  test("non-canonical but valid MessagePack decodes, and re-encodes canonically", () => {
    const bytes = envelopeWith([mpStr("expiresAt"), new Uint8Array([0xcf, 0, 0, 0, 0, 0, 0, 0, 5])]);
    const m = decode(bytes);
    expect(m.expiresAt).toBe(5);
    expect(hex(encode(m)).endsWith(hex(mpStr("expiresAt")) + "05")).toBe(true);
  });
});

describe("decode refuses bad bytes", () => {
  test("not a Uint8Array, and empty input", () => {
    expect(thrown(() => decode("abc" as never))).toBeInstanceOf(DecodeError);
    expect(decodeError(new Uint8Array(0)).code).toBe("BAD_BYTES");
  });

  test("every truncation of a valid message", () => {
    const bytes = encode(full());
    for (let n = 0; n < bytes.length; n++) {
      const e = thrown(() => decode(bytes.subarray(0, n)));
      if (!(e instanceof DecodeError) || e.code !== "BAD_BYTES") throw new Error(`prefix ${n}: ${String(e)}`);
    }
  });

  test("trailing bytes", () => {
    const bytes = encode(minimal());
    const e = decodeError(concat(bytes, [0xc0]));
    expect(e.code).toBe("BAD_BYTES");
    expect(e.message).toContain("extra");
  });

  test("garbage bytes never crash and never return a message", () => {
    expect(decodeError(new Uint8Array([0xc1])).code).toBe("BAD_BYTES");
    for (let seed = 1; seed <= 300; seed++) {
      const junk = noise(1 + (seed % 64), seed * 2654435761);
      const e = thrown(() => decode(junk));
      if (!(e instanceof AmpbusError)) throw new Error(`seed ${seed}: ${String(e)}`);
    }
    // Flipping any one byte of a valid message either still decodes to a valid message or fails typed.
    const good = encode(seedMessage());
    for (let i = 0; i < good.length; i++) {
      const b = good.slice();
      b[i] ^= 0xff;
      try {
        decode(b);
      } catch (e) {
        if (!(e instanceof AmpbusError)) throw new Error(`byte ${i}: ${String(e)}`);
      }
    }
  });

  test("unknown envelope versions: DecodeError UNKNOWN_VERSION", () => {
    for (const v of [2, 0, 255]) {
      const bytes = encode(minimal()).slice();
      expect(bytes[1]).toBe(0xa1); // key "v"
      bytes[3] = v < 128 ? v : 0xc0; // patch the value byte
      const e = decodeError(bytes);
      expect(e.code).toBe("UNKNOWN_VERSION");
    }
    const v2 = encodeValue({ ...minimal(), v: 2 });
    expect(decodeError(v2).code).toBe("UNKNOWN_VERSION");
    expect(decodeError(v2).message).toContain("2");
    const { v: _v, ...noV } = minimal();
    expect(decodeError(encodeValue(noV)).code).toBe("UNKNOWN_VERSION");
  });

  test("MessagePack extension types are refused, including the timestamp extension", () => {
    const exts = [
      [0xd4, 0x01, 0x00], // fixext 1
      [0xd6, 0xff, 0, 0, 0, 1], // timestamp 32
      [0xc7, 0x00, 0x05], // ext 8 of length 0
      [0xc8, 0x00, 0x01, 0x05, 0x00],
      [0xd8, 0x01, ...new Array(16).fill(0)],
    ];
    for (const ext of exts) {
      const e = decodeError(envelopeWith([mpStr("payload"), new Uint8Array(ext)]));
      expect(e.code).toBe("BAD_BYTES");
      expect(e.message).toContain("extension");
    }
  });

  test("non-string map keys are refused", () => {
    for (const k of [[0x01], [0xc0], [0xc3], [0xc4, 0x01, 0x61], [0x90], [0xcb, 0, 0, 0, 0, 0, 0, 0, 0]]) {
      const payload = concat([0x81], k, [0x01]);
      const e = decodeError(envelopeWith([mpStr("payload"), payload]));
      expect(e.code).toBe("BAD_BYTES");
      expect(e.message).toContain("not a string");
    }
  });

  test("__proto__ keys in hand-built bytes are refused and pollute nothing", () => {
    const evil = concat([0x81], mpStr("__proto__"), [0x81], mpStr("polluted"), [0xc3]);
    for (const bytes of [
      envelopeWith([mpStr("payload"), evil]),
      envelopeWith([mpStr("payload"), concat([0x91], evil)]),
      envelopeWith([mpStr("__proto__"), concat([0x81], mpStr("polluted"), [0xc3])]),
      // the key as str8 instead of fixstr
      envelopeWith([concat([0xd9, 9], new TextEncoder().encode("__proto__")), new Uint8Array([0xc3])]),
    ]) {
      const e = decodeError(bytes);
      expect(e.code).toBe("BAD_BYTES");
      expect(e.message).toContain("__proto__");
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
  });

  test("keys named like Object.prototype members are ordinary own data", () => {
    const payload = concat([0x82], mpStr("constructor"), [0x01], mpStr("toString"), [0x02]);
    const m = decode(envelopeWith([mpStr("payload"), payload]));
    expect(Object.keys(m.payload as object)).toEqual(["constructor", "toString"]);
    expect((m.payload as Record<string, unknown>).constructor as unknown).toBe(1);
  });

  test("duplicate keys are refused", () => {
    const e = decodeError(envelopeWith([mpStr("id"), mpStr("other")]));
    expect(e.code).toBe("BAD_BYTES");
    expect(e.message).toContain("duplicate");
  });

  test("lengths over the limits, and lying length headers, are refused before allocating", () => {
    // str32 claiming 4 GiB, bin32 claiming 4 GiB, array32 and map32 claiming 4 G items: all with a few bytes behind them.
    for (const lie of [[0xdb, 0xff, 0xff, 0xff, 0xff], [0xc6, 0xff, 0xff, 0xff, 0xff], [0xdd, 0xff, 0xff, 0xff, 0xff], [0xdf, 0x7f, 0xff, 0xff, 0xff]]) {
      const e = decodeError(envelopeWith([mpStr("payload"), new Uint8Array([...lie, 1, 2, 3])]));
      expect(e.code).toBe("BAD_BYTES");
    }
    // array16 claiming more items than bytes left
    expect(decodeError(envelopeWith([mpStr("payload"), new Uint8Array([0xdc, 0x10, 0x00, 0x01])])).code).toBe("BAD_BYTES");
    const big = encode(minimal({ payload: { s: "x".repeat(1000), list: new Array(50).fill(1), b: new Uint8Array(500) } }));
    expect(() => decode(big)).not.toThrow();
    const limited = (o: object) => thrown(() => decode(big, o)) as DecodeError;
    expect(limited({ maxBytes: 100 }).code).toBe("TOO_LARGE");
    expect(limited({ maxStrLength: 999 }).message).toContain("string");
    expect(limited({ maxArrayLength: 49 }).message).toContain("array");
    expect(limited({ maxBinLength: 499 }).message).toContain("bin");
    expect(limited({ maxMapLength: 2 }).message).toContain("map");
  });

  test("nesting deeper than 100 levels is refused", () => {
    const deep = concat(new Array(150).fill(0x91), [0x01]);
    const e = decodeError(envelopeWith([mpStr("payload"), deep]));
    expect(e.message).toContain("nesting");
    expect(decodeValue(concat(new Array(50).fill(0x91), [0x01]))).toBeArray();
  });

  test("a well-formed map that is not a valid envelope: ValidationError with every issue", () => {
    const bytes = envelopeWith([mpStr("bogus"), new Uint8Array([1])], [mpStr("expiresAt"), new Uint8Array([0xff])]);
    const e = thrown(() => decode(bytes)) as ValidationError;
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.issues.map((i) => i.path[0]).sort()).toEqual(["bogus", "expiresAt"]);
    const longId = encodeValue({ ...minimal(), id: "x".repeat(129), sender: "" });
    const e2 = thrown(() => decode(longId)) as ValidationError;
    expect(e2.issues.map((i) => i.path[0]).sort()).toEqual(["id", "sender"]);
  });

  test("a top-level value that is not a map is refused", () => {
    for (const v of [[1, 2], 5, "x", null]) {
      const e = thrown(() => decode(encodeValue(v)));
      expect(e).toBeInstanceOf(AmpbusError);
    }
  });

  test("policy applies on decode", () => {
    const e = thrown(() => decode(encode(minimal()), { policy: { requireSig: true } })) as ValidationError;
    expect(e.issues.map((i) => i.path[0])).toEqual(["sig"]);
  });
});

describe("numbers and text are never silently changed", () => {
  const at = (bytes: Uint8Array) => thrown(() => decodeValue(bytes)) as DecodeError;

  test("64-bit integers outside ±(2^53 − 1) are refused with BAD_BYTES and the offset of their type byte", () => {
    const cases: [number[], number][] = [
      [[0xcf, 0x00, 0x20, 0, 0, 0, 0, 0, 0], 0], // 2^53
      [[0xcf, 0x00, 0x20, 0, 0, 0, 0, 0, 1], 0], // 2^53 + 1, which a number would round to 2^53
      [[0x92, 0x01, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 2], // 2^64 − 1
      [[0xd3, 0x00, 0x20, 0, 0, 0, 0, 0, 0], 0], // int 64 of 2^53
      [[0x81, 0xa1, 0x6e, 0xd3, 0xff, 0xe0, 0, 0, 0, 0, 0, 0], 3], // −2^53
      [[0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0], 0], // −2^63
    ];
    for (const [bytes, offset] of cases) {
      const e = at(new Uint8Array(bytes));
      expect(e).toBeInstanceOf(DecodeError);
      expect([e.code, e.offset]).toEqual(["BAD_BYTES", offset]);
      expect(e.message).toContain(`offset ${offset}`);
      expect(e.message).toContain("2^53");
    }
    // timestamp (the last field, a fixint 1) as 2^53 + 1: refused as bytes, not validated as a rounded 2^53.
    const plain = envelopeWith();
    const t = decodeError(concat(plain.subarray(0, -1), [0xcf, 0x00, 0x20, 0, 0, 0, 0, 0, 1]));
    expect([t.code, t.offset]).toEqual(["BAD_BYTES", plain.length - 1]);
  });

  test("the largest safe integers, in every width, still decode exactly", () => {
    expect(decodeValue(new Uint8Array([0xcf, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toBe(Number.MAX_SAFE_INTEGER);
    expect(decodeValue(new Uint8Array([0xd3, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toBe(Number.MAX_SAFE_INTEGER);
    expect(decodeValue(new Uint8Array([0xd3, 0xff, 0xe0, 0, 0, 0, 0, 0, 1]))).toBe(-Number.MAX_SAFE_INTEGER);
    expect(decodeValue(new Uint8Array([0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toBe(-1);
    // A float 64 of 2^53 is the canonical form of that number: it is not an integer encoding.
    expect(decodeValue(encodeValue(2 ** 53))).toBe(2 ** 53);
  });

  test("invalid UTF-8 is refused with the offset of the first bad byte, on every string path", () => {
    const cases: [number[], number][] = [
      [[0xa3, 0x61, 0x80, 0x62], 2], // lone continuation byte
      [[0xa2, 0xc3, 0x28], 1], // lead byte without its continuation
      [[0xa5, 0x6f, 0x6b, 0x20, 0xe2, 0x82], 4], // truncated at the end
      [[0xa2, 0xc0, 0xaf], 1], // overlong
      [[0xa3, 0xed, 0xa0, 0x80], 1], // a surrogate
      [[0xa4, 0xf4, 0x90, 0x80, 0x80], 1], // above U+10FFFF
      [[0xa1, 0xff], 1],
      [[0x81, 0xa2, 0xc3, 0x28, 0x01], 2], // a short map key (the key cache path)
      [[0x81, 0xd9, 0x02, 0xc3, 0x28, 0x01], 3], // a str 8 map key
      [[0xd9, 100, ...new TextEncoder().encode("∀".repeat(30)), 0xff, ...new TextEncoder().encode("abcdefghi")], 92], // long (TextDecoder / native slice)
      [[0xd9, 70, ...new Array(69).fill(0x61), 0xc3], 71], // long ASCII ending in a cut-off lead byte
    ];
    for (const [bytes, offset] of cases) {
      const e = at(new Uint8Array(bytes));
      expect(e).toBeInstanceOf(DecodeError);
      expect([e.code, e.offset]).toEqual(["BAD_BYTES", offset]);
      expect(e.message).toContain(`invalid UTF-8 at offset ${offset}`);
    }
  });

  test("U+FFFD written on purpose, and a leading U+FEFF, decode unchanged in values and keys", () => {
    const texts = ["\ufffd", "x\ufffdy", "\ufffd".repeat(40), "\ufeff", "\ufeffbom", "\ufeff" + "é".repeat(40), "😀\ufffd"];
    for (const s of texts) {
      expect(decodeValue(encodeValue(s))).toBe(s);
      expect(decodeValue(encodeValue({ [s]: 1 }))).toEqual({ [s]: 1 });
      expect(hex(encodeValue(decodeValue(encodeValue({ [s]: s }))))).toBe(hex(encodeValue({ [s]: s })));
    }
  });

  test("a decoder from makeDecoder (as ampd reads frames) names the offset too", () => {
    const reader = makeDecoder({ maxStrLength: 1000 });
    const e = thrown(() => reader.read(new Uint8Array([0x82, 0xa1, 0x61, 0x01, 0xa1, 0x62, 0xa2, 0xc3, 0x28]))) as Error & { offset: number };
    expect(e.message).toContain("invalid UTF-8 at offset 7");
    expect(e.offset).toBe(7);
    const big = thrown(() => reader.read(new Uint8Array([0x81, 0xa1, 0x61, 0xcf, 0x00, 0x20, 0, 0, 0, 0, 0, 1]))) as Error & { offset: number };
    expect(big.message).toContain("offset 3");
    expect(big.offset).toBe(3);
  });
});
