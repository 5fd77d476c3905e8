import { describe, expect, test } from "bun:test";
import { decode as msgpackDecode, encode as msgpackEncode } from "@msgpack/msgpack";
import { encodeValue, EncodeError } from "../../mod.ts";
import { compareCodePoints } from "../../sdk/codec/msgpack_writer.ts";
import { concat, hex, thrown } from "./_fixtures.ts";

const utf8 = new TextEncoder();

describe("canonical integers", () => {
  const cases: [number, string][] = [
    [0, "00"],
    [1, "01"],
    [127, "7f"],
    [128, "cc80"],
    [255, "ccff"],
    [256, "cd0100"],
    [65535, "cdffff"],
    [65536, "ce00010000"],
    [2 ** 32 - 1, "ceffffffff"],
    [2 ** 32, "cf0000000100000000"],
    [Number.MAX_SAFE_INTEGER, "cf001fffffffffffff"],
    [-1, "ff"],
    [-32, "e0"],
    [-33, "d0df"],
    [-128, "d080"],
    [-129, "d1ff7f"],
    [-32768, "d18000"],
    [-32769, "d2ffff7fff"],
    [-(2 ** 31), "d280000000"],
    [-(2 ** 31) - 1, "d3ffffffff7fffffff"],
    [-(2 ** 32), "d3ffffffff00000000"],
    [Number.MIN_SAFE_INTEGER, "d3ffe0000000000001"],
  ];
  for (const [n, want] of cases) {
    test(`${n} → ${want}`, () => {
      const b = encodeValue(n);
      expect(hex(b)).toBe(want);
      expect(msgpackDecode(b)).toBe(n);
    });
  }

  test("non-integers, unsafe integers and non-finite numbers are float64", () => {
    expect(hex(encodeValue(1.5))).toBe("cb3ff8000000000000");
    expect(hex(encodeValue(0.1))).toBe("cb3fb999999999999a");
    expect(hex(encodeValue(-2.5))).toBe("cbc004000000000000");
    expect(hex(encodeValue(2 ** 53))).toBe("cb4340000000000000");
    expect(hex(encodeValue(Infinity))).toBe("cb7ff0000000000000");
    expect(hex(encodeValue(Number.NaN))).toBe("cb7ff8000000000000");
    expect(msgpackDecode(encodeValue(0.95))).toBe(0.95);
  });

  test("-0 is written as the integer 0 (one canonical form)", () => {
    expect(hex(encodeValue(-0))).toBe("00");
  });

  test("nil and booleans", () => {
    expect(hex(encodeValue(null))).toBe("c0");
    expect(hex(encodeValue(undefined))).toBe("c0");
    expect(hex(encodeValue(true))).toBe("c3");
    expect(hex(encodeValue(false))).toBe("c2");
  });
});

describe("canonical strings", () => {
  function header(n: number): string {
    if (n < 32) return (0xa0 | n).toString(16);
    if (n < 256) return "d9" + n.toString(16).padStart(2, "0");
    if (n < 65536) return "da" + n.toString(16).padStart(4, "0");
    return "db" + n.toString(16).padStart(8, "0");
  }
  function check(s: string, expectedBytes: number) {
    const body = utf8.encode(s);
    expect(body.length).toBe(expectedBytes);
    const b = encodeValue(s);
    expect(hex(b.subarray(0, b.length - body.length))).toBe(header(body.length));
    expect(hex(b.subarray(b.length - body.length))).toBe(hex(body));
    expect(msgpackDecode(b)).toBe(new TextDecoder().decode(body));
  }

  test("ASCII at every header boundary", () => {
    for (const n of [0, 1, 31, 32, 48, 49, 255, 256, 65535, 65536]) check("a".repeat(n), n);
  });

  test("multibyte characters at header boundaries (short and long paths)", () => {
    check("é".repeat(15) + "a", 31); // 2-byte chars, short path
    check("é".repeat(16), 32);
    check("€".repeat(10) + "a", 31); // 3-byte chars
    check("€".repeat(11), 33);
    check("€".repeat(85), 255); // long path: 85 chars, header fits 255 bytes
    check("€".repeat(85) + "a", 256);
    check("é".repeat(128), 256);
    check("€".repeat(21845), 65535);
    check("€".repeat(21845) + "a", 65536);
    check("a".repeat(100), 100); // long path reserves a str16 header, then shrinks to str8
    check("a".repeat(49) + "é", 51);
  });

  test("astral characters take 4 bytes", () => {
    check("😀", 4);
    check("😀".repeat(7) + "abc", 31);
    check("😀".repeat(8), 32);
    check("😀".repeat(64), 256);
    check("a😀b𝔹c", 11);
  });

  test("lone surrogates are written as U+FFFD, exactly as TextEncoder does", () => {
    const samples = ["\ud800", "a\udc00b", "\ud800\ud800", "x\ud83d", "\ude00\ud83d", "ok\ud83d\ude00\ud83d"];
    for (const s of samples) {
      for (const pad of ["", "p".repeat(60)]) { // short and long paths
        const t = pad + s;
        const body = utf8.encode(t);
        const b = encodeValue(t);
        expect(hex(b.subarray(b.length - body.length))).toBe(hex(body));
        expect(hex(b.subarray(0, b.length - body.length))).toBe(header(body.length));
      }
    }
    expect(hex(encodeValue("\ud800"))).toBe("a3efbfbd");
  });
});

describe("canonical bin, arrays and maps", () => {
  test("bin headers", () => {
    expect(hex(encodeValue(new Uint8Array(0)))).toBe("c400");
    expect(hex(encodeValue(new Uint8Array([1, 2, 3])))).toBe("c403010203");
    expect(hex(encodeValue(new Uint8Array(255))).slice(0, 4)).toBe("c4ff");
    expect(hex(encodeValue(new Uint8Array(256))).slice(0, 6)).toBe("c50100");
    expect(hex(encodeValue(new Uint8Array(65535))).slice(0, 6)).toBe("c5ffff");
    expect(hex(encodeValue(new Uint8Array(65536))).slice(0, 10)).toBe("c600010000");
    const sub = new Uint8Array([9, 8, 7, 6]).subarray(1, 3);
    expect(hex(encodeValue(sub))).toBe("c4020807");
  });

  test("array headers", () => {
    expect(hex(encodeValue([]))).toBe("90");
    expect(hex(encodeValue(new Array(15).fill(0))).slice(0, 2)).toBe("9f");
    expect(hex(encodeValue(new Array(16).fill(0))).slice(0, 6)).toBe("dc0010");
    expect(hex(encodeValue(new Array(65535).fill(0))).slice(0, 6)).toBe("dcffff");
    expect(hex(encodeValue(new Array(65536).fill(0))).slice(0, 10)).toBe("dd00010000");
    expect(hex(encodeValue([undefined, 1]))).toBe("92c001");
  });

  test("map headers; undefined values are left out", () => {
    const m = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${String(i).padStart(5, "0")}`, 0]));
    expect(hex(encodeValue({}))).toBe("80");
    expect(hex(encodeValue(m(15))).slice(0, 2)).toBe("8f");
    expect(hex(encodeValue(m(16))).slice(0, 6)).toBe("de0010");
    expect(hex(encodeValue(m(65536))).slice(0, 10)).toBe("df00010000");
    expect(hex(encodeValue({ a: 1, b: undefined }))).toBe("81a16101");
    expect(hex(encodeValue(Object.assign(Object.create(null), { a: 1 })))).toBe("81a16101");
  });

  test("map keys are sorted by code point, whatever the insertion order", () => {
    expect(hex(encodeValue({ b: 1, a: 2, ab: 3 }))).toBe("83a16102a2616203a16201");
    // U+E000 is below U+1F600 in code point order, though "😀" (0xD83D...) sorts first in UTF-16 order.
    const keys = Object.keys(msgpackDecode(encodeValue({ "😀": 1, "\ue000": 2, "\uffff": 3, "𐀀": 4, z: 5 })) as object);
    expect(keys).toEqual(["z", "\ue000", "\uffff", "𐀀", "😀"]);
    const bytes = encodeValue({ "😀": 1, "\ue000": 2 });
    expect(hex(bytes)).toBe("82" + "a3ee8080" + "02" + "a4f09f9880" + "01");
    // Nested maps are sorted too, and the result does not depend on insertion order.
    expect(encodeValue({ x: { d: 1, c: [{ f: 1, e: 2 }] }, a: 0 })).toEqual(encodeValue({ a: 0, x: { c: [{ e: 2, f: 1 }], d: 1 } }));
  });

  test("compareCodePoints agrees with UTF-8 byte order", () => {
    const words = ["", "a", "ab", "b", "é", "\ue000", "\uffff", "𐀀", "😀", "\ud7ff", "z", "\u0800"];
    const byBytes = [...words].sort((x, y) => {
      const a = utf8.encode(x), b = utf8.encode(y);
      for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
      return a.length - b.length;
    });
    expect([...words].sort(compareCodePoints)).toEqual(byBytes);
    expect(compareCodePoints("\ue000", "😀")).toBeLessThan(0);
    expect(compareCodePoints("😀", "\ue000")).toBeGreaterThan(0);
    expect(compareCodePoints("same", "same")).toBe(0);
  });

  test("our bytes decode identically with @msgpack/msgpack, and match its sorted encoding for BMP keys", () => {
    const v = {
      str: "héllo 😀",
      ints: [0, 127, 128, -33, 65536, 2 ** 32, -(2 ** 31) - 1],
      floats: [0.5, -1.25, 1e300],
      bin: new Uint8Array([0, 255, 7]),
      nested: { z: null, a: [true, false, { deep: "x".repeat(300) }] },
      empty: {},
      list: [],
    };
    const ours = encodeValue(v);
    expect(msgpackDecode(ours)).toEqual(v);
    expect(hex(ours)).toBe(hex(msgpackEncode(v, { sortKeys: true })));
  });
});

describe("unencodable values", () => {
  const cases: [string, unknown, string][] = [
    ["function", { a: () => 1 }, "a"],
    ["symbol", [Symbol("s")], "[0]"],
    ["bigint", { n: 10n }, "n"],
    ["Date", { when: new Date(0) }, "when"],
    ["Map", { m: new Map() }, "m"],
    ["class instance", { x: [1, { y: new (class Foo {})() }] }, "x[1].y"],
    ["Int16Array", { t: new Int16Array(2) }, "t"],
  ];
  for (const [what, value, path] of cases) {
    test(`${what} throws EncodeError naming ${path}`, () => {
      const e = thrown(() => encodeValue(value)) as EncodeError;
      expect(e).toBeInstanceOf(EncodeError);
      expect(e.code).toBe("UNENCODABLE");
      expect(e.message.startsWith(path)).toBe(true);
    });
  }

  test("a cycle is refused by the depth limit", () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    const e = thrown(() => encodeValue(a)) as EncodeError;
    expect(e).toBeInstanceOf(EncodeError);
    expect(e.message).toContain("nested more than");
  });

  test("an own __proto__ key (from JSON.parse) is refused", () => {
    const e = thrown(() => encodeValue(JSON.parse(`{"ok":{"__proto__":{"x":1}}}`))) as EncodeError;
    expect(e).toBeInstanceOf(EncodeError);
    expect(e.message).toContain("__proto__");
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  test("a failed encode does not corrupt the next one (shared writer is reset)", () => {
    expect(() => encodeValue({ a: "x".repeat(5000), b: () => 0 })).toThrow(EncodeError);
    expect(hex(encodeValue([1, "a"]))).toBe(hex(concat([0x92, 0x01, 0xa1, 0x61])));
  });
});
