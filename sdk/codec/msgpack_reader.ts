/**
 * A MessagePack reader for what ampbus carries: nil, booleans, numbers,
 * strings, bin, arrays and maps with string keys. Extension types, non-string
 * keys and the key `__proto__` are refused; every length is checked against
 * the limits before anything is allocated; errors name the byte offset.
 * Bin values are views into the input (zero-copy).
 *
 * Nothing is decoded into a different value: an integer outside
 * ±(2^53 − 1), which a JavaScript number would round, and a string that is
 * not valid UTF-8, which a lenient decoder would patch with U+FFFD, are both
 * refused. Either would re-encode to other bytes and break the signature.
 *
 * @module
 */

import { runtime } from "../runtime.ts";

/** A byte sequence that is not what `MsgpackReader` accepts; `offset` is where in the input. */
export class MsgpackReadError extends Error {
  /** Offset of the byte at fault, from the start of the input. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.name = "MsgpackReadError";
    this.offset = offset;
  }
}

/**
 * Limits of one read; each guards against a hostile or corrupt input.
 * `makeDecoder()` fills them in from `DecodeLimits`.
 *
 * @example
 * ```ts
 * import { makeDecoder, type ReaderLimits } from "@ampbus/ampbus";
 *
 * const limits: ReaderLimits = makeDecoder({ maxMapLength: 16 }).limits;
 * if (limits.maxMapLength !== 16 || limits.maxDepth !== 100) throw new Error(JSON.stringify(limits));
 * ```
 */
export interface ReaderLimits {
  /** Longest string, in UTF-8 bytes. */
  maxStrLength: number;
  /** Longest byte string (bin), in bytes. */
  maxBinLength: number;
  /** Most items in one array. */
  maxArrayLength: number;
  /** Most entries in one map. */
  maxMapLength: number;
  /** Deepest nesting of arrays and maps. */
  maxDepth: number;
}

// Fatal: invalid UTF-8 throws instead of turning into U+FFFD. ignoreBOM keeps a
// leading U+FEFF in the string (by default TextDecoder drops it, changing the text).
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const fromCharCode = String.fromCharCode;
// The code units of the string being decoded in JS, reused (no array per string).
const charCodes: number[] = [];
// Node and Bun have a native UTF-8 slice that needs no subarray (an allocation per
// string): used for the long strings. Elsewhere those go to TextDecoder.
// The native slice is lenient: a U+FFFD in its result sends the bytes to
// `firstInvalidUtf8` (ASCII and most text hold none, so the check costs one scan).
const utf8Slice: ((this: Uint8Array, start: number, end: number) => string) | undefined = (runtime === "node" || runtime === "bun")
  // deno-lint-ignore no-explicit-any
  ? (globalThis as any).Buffer?.prototype?.utf8Slice
  : undefined;
// Strings up to this many bytes are decoded in JS, where that beats the native
// call: on Deno (V8's TextDecoder call and its subarray cost more than the loop up
// to ~200 bytes, msgpack-javascript's threshold too), not on Node or Bun, whose
// utf8Slice is cheaper than the JS loop beyond the cache's 16 bytes (measured).
const JS_UTF8_MAX = utf8Slice === undefined ? 200 : 16;

// Short strings (map keys, and values such as names, tiers and methods) repeat from
// message to message: cache them by content, as msgpack-javascript's
// CachedKeyDecoder does for keys.
const CACHE_MAX_LENGTH = 16;
const CACHE_SIZE = 4096;
const cacheBytes: (Uint8Array | undefined)[] = new Array(CACHE_SIZE);
const cacheStrings: string[] = new Array(CACHE_SIZE);

// Floats are read through a scratch array, not a DataView per read.
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const f32 = new Float32Array(1);
const f32Bytes = new Uint8Array(f32.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The string of the bytes `b[start, end)` if they are all ASCII, else
 * undefined. Eight characters per `fromCharCode` call: V8 builds it faster
 * that way than from an array.
 */
function asciiJs(b: Uint8Array, start: number, end: number): string | undefined {
  let out = "";
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const c0 = b[i], c1 = b[i + 1], c2 = b[i + 2], c3 = b[i + 3], c4 = b[i + 4], c5 = b[i + 5], c6 = b[i + 6], c7 = b[i + 7];
    if ((c0 | c1 | c2 | c3 | c4 | c5 | c6 | c7) & 0x80) return undefined;
    out += fromCharCode(c0, c1, c2, c3, c4, c5, c6, c7);
  }
  for (; i < end; i++) {
    const c = b[i];
    if (c & 0x80) return undefined;
    out += fromCharCode(c);
  }
  return out;
}

/**
 * The string that the UTF-8 in `b[start, end)` spells, or undefined when it
 * is not well-formed (the same rules as `firstInvalidUtf8`, which then
 * names the bad byte).
 */
function utf8Js(b: Uint8Array, start: number, end: number): string | undefined {
  const codes = charCodes;
  let k = 0;
  let i = start;
  while (i < end) {
    const c = b[i++];
    if (c < 0x80) {
      codes[k++] = c;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) {
      if (i >= end) return undefined;
      const d = b[i++];
      if ((d & 0xc0) !== 0x80) return undefined;
      codes[k++] = ((c & 0x1f) << 6) | (d & 0x3f);
    } else if (c >= 0xe0 && c <= 0xef) {
      if (i + 1 >= end) return undefined;
      const d = b[i];
      const e = b[i + 1];
      i += 2;
      if ((d & 0xc0) !== 0x80 || (e & 0xc0) !== 0x80) return undefined;
      if ((c === 0xe0 && d < 0xa0) || (c === 0xed && d > 0x9f)) return undefined;
      codes[k++] = ((c & 0x0f) << 12) | ((d & 0x3f) << 6) | (e & 0x3f);
    } else if (c >= 0xf0 && c <= 0xf4) {
      if (i + 2 >= end) return undefined;
      const d = b[i];
      const e = b[i + 1];
      const f = b[i + 2];
      i += 3;
      if ((d & 0xc0) !== 0x80 || (e & 0xc0) !== 0x80 || (f & 0xc0) !== 0x80) return undefined;
      if ((c === 0xf0 && d < 0x90) || (c === 0xf4 && d > 0x8f)) return undefined;
      const cp = (((c & 0x07) << 18) | ((d & 0x3f) << 12) | ((e & 0x3f) << 6) | (f & 0x3f)) - 0x10000;
      codes[k++] = 0xd800 | (cp >> 10);
      codes[k++] = 0xdc00 | (cp & 0x3ff);
    } else return undefined;
  }
  codes.length = k;
  return fromCharCode.apply(null, codes);
}

function hex(b: number): string {
  return "0x" + b.toString(16).padStart(2, "0");
}

/**
 * Offset of the first byte of the first ill-formed UTF-8 sequence in
 * `b[start, end)`, or -1 when it is all well-formed (Unicode table 3-7: no
 * overlong forms, no surrogates, nothing above U+10FFFF).
 */
function firstInvalidUtf8(b: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return i;
    if (i + n >= end) return i;
    const d = b[i + 1];
    if (d < lo || d > hi) return i;
    for (let k = 2; k <= n; k++) {
      const e = b[i + k];
      if (e < 0x80 || e > 0xbf) return i;
    }
    i += n + 1;
  }
  return -1;
}

/**
 * Reads one MessagePack value from a byte array, within its limits. One
 * reader is reused for many reads (`makeDecoder()` builds one). It throws
 * its own `Error` whose `offset` names the byte at fault; `decodeValue()`
 * turns that into a `DecodeError`.
 *
 * @example
 * ```ts
 * import { encodeValue, makeDecoder, type MsgpackReader } from "@ampbus/ampbus";
 *
 * const reader: MsgpackReader = makeDecoder();
 * const value = reader.read(encodeValue({ n: 1 })) as { n: number };
 * if (value.n !== 1) throw new Error("wrong value");
 * ```
 */
export class MsgpackReader {
  /** The limits every read is held to. */
  readonly limits: ReaderLimits;
  #b: Uint8Array = new Uint8Array(0);
  #p = 0;

  /** A reader held to `limits`. */
  constructor(limits: ReaderLimits) {
    this.limits = limits;
  }

  /** Same as `read()`. */
  decode(bytes: Uint8Array): unknown {
    return this.read(bytes);
  }

  /**
   * Decodes `bytes`, which must hold exactly one value. Byte strings in the
   * result are views into `bytes`, not copies.
   */
  read(bytes: Uint8Array): unknown {
    this.#b = bytes;
    this.#p = 0;
    if (bytes.length === 0) throw new MsgpackReadError("no bytes: expected one MessagePack value", 0);
    const value = this.#value(0);
    if (this.#p !== bytes.length) {
      throw new MsgpackReadError(`${bytes.length - this.#p} extra bytes after the value, at offset ${this.#p}`, this.#p);
    }
    return value;
  }

  #u16(p: number): number {
    const b = this.#b;
    return (b[p] << 8) | b[p + 1];
  }

  #u32(p: number): number {
    const b = this.#b;
    return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  }

  #f64(p: number): number {
    const b = this.#b;
    const s = f64Bytes;
    if (littleEndian) for (let i = 0; i < 8; i++) s[i] = b[p + 7 - i];
    else for (let i = 0; i < 8; i++) s[i] = b[p + i];
    return f64[0];
  }

  #f32(p: number): number {
    const b = this.#b;
    const s = f32Bytes;
    if (littleEndian) for (let i = 0; i < 4; i++) s[i] = b[p + 3 - i];
    else for (let i = 0; i < 4; i++) s[i] = b[p + i];
    return f32[0];
  }

  #need(n: number): void {
    if (this.#p + n > this.#b.length) {
      throw new MsgpackReadError(`truncated: ${n} more bytes needed at offset ${this.#p}, only ${this.#b.length - this.#p} left`, this.#p);
    }
  }

  #value(depth: number): unknown {
    this.#need(1);
    const p = this.#p;
    const t = this.#b[p];
    this.#p = p + 1;
    if (t < 0x80) return t;
    if (t >= 0xe0) return t - 0x100;
    if (t >= 0xa0 && t < 0xc0) return this.#str(t & 0x1f);
    if (t >= 0x80 && t < 0x90) return this.#map(t & 0x0f, depth);
    if (t >= 0x90 && t < 0xa0) return this.#array(t & 0x0f, depth);
    switch (t) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xcc:
        this.#need(1);
        return this.#b[this.#p++];
      case 0xcd:
        this.#need(2);
        this.#p += 2;
        return this.#u16(this.#p - 2);
      case 0xce:
        this.#need(4);
        this.#p += 4;
        return this.#u32(this.#p - 4);
      case 0xcf: {
        this.#need(8);
        // Exact up to 2^53; anything larger rounds to 2^53 or more, so the check holds.
        const x = this.#u32(this.#p) * 0x100000000 + this.#u32(this.#p + 4);
        if (x > MAX_SAFE) throw this.#unsafeInteger(p, "uint 64");
        this.#p += 8;
        return x;
      }
      case 0xd0:
        this.#need(1);
        return (this.#b[this.#p++] << 24) >> 24;
      case 0xd1:
        this.#need(2);
        this.#p += 2;
        return (this.#u16(this.#p - 2) << 16) >> 16;
      case 0xd2:
        this.#need(4);
        this.#p += 4;
        return this.#u32(this.#p - 4) | 0;
      case 0xd3: {
        this.#need(8);
        const x = (this.#u32(this.#p) | 0) * 0x100000000 + this.#u32(this.#p + 4);
        if (x > MAX_SAFE || x < -MAX_SAFE) throw this.#unsafeInteger(p, "int 64");
        this.#p += 8;
        return x;
      }
      case 0xca:
        this.#need(4);
        this.#p += 4;
        return this.#f32(this.#p - 4);
      case 0xcb:
        this.#need(8);
        this.#p += 8;
        return this.#f64(this.#p - 8);
      case 0xd9:
        this.#need(1);
        return this.#str(this.#b[this.#p++]);
      case 0xda:
        this.#need(2);
        this.#p += 2;
        return this.#str(this.#u16(this.#p - 2));
      case 0xdb:
        this.#need(4);
        this.#p += 4;
        return this.#str(this.#u32(this.#p - 4));
      case 0xc4:
        this.#need(1);
        return this.#bin(this.#b[this.#p++]);
      case 0xc5:
        this.#need(2);
        this.#p += 2;
        return this.#bin(this.#u16(this.#p - 2));
      case 0xc6:
        this.#need(4);
        this.#p += 4;
        return this.#bin(this.#u32(this.#p - 4));
      case 0xdc:
        this.#need(2);
        this.#p += 2;
        return this.#array(this.#u16(this.#p - 2), depth);
      case 0xdd:
        this.#need(4);
        this.#p += 4;
        return this.#array(this.#u32(this.#p - 4), depth);
      case 0xde:
        this.#need(2);
        this.#p += 2;
        return this.#map(this.#u16(this.#p - 2), depth);
      case 0xdf:
        this.#need(4);
        this.#p += 4;
        return this.#map(this.#u32(this.#p - 4), depth);
    }
    if ((t >= 0xd4 && t <= 0xd8) || (t >= 0xc7 && t <= 0xc9)) {
      throw new MsgpackReadError(`extension type (byte ${hex(t)} at offset ${p}) is not allowed in ampbus messages`, p);
    }
    throw new MsgpackReadError(`byte ${hex(t)} at offset ${p} is not a MessagePack type (0xc1 is never used)`, p);
  }

  #str(n: number): string {
    if (n > this.limits.maxStrLength) {
      throw new MsgpackReadError(`string of ${n} bytes at offset ${this.#p} is over the limit of ${this.limits.maxStrLength}`, this.#p);
    }
    this.#need(n);
    const b = this.#b;
    const start = this.#p;
    const end = start + n;
    this.#p = end;
    if (n === 0) return "";
    if (n <= CACHE_MAX_LENGTH) return this.#cached(start, n);
    if (n <= JS_UTF8_MAX) return asciiJs(b, start, end) ?? utf8Js(b, start, end) ?? this.#badUtf8(start, end);
    if (utf8Slice !== undefined) {
      const s = utf8Slice.call(b, start, end);
      if (s.indexOf("\ufffd") !== -1) this.#checkUtf8(start, end);
      return s;
    }
    return this.#utf8(start, end);
  }

  #badUtf8(start: number, end: number): never {
    this.#checkUtf8(start, end);
    throw new MsgpackReadError(`string at offset ${start} could not be decoded as UTF-8`, start);
  }

  #utf8(start: number, end: number): string {
    try {
      return utf8.decode(this.#b.subarray(start, end));
    } catch {
      this.#checkUtf8(start, end);
      throw new MsgpackReadError(`string at offset ${start} could not be decoded as UTF-8`, start);
    }
  }

  // Throws, naming the first bad byte, if b[start, end) is not well-formed UTF-8.
  #checkUtf8(start: number, end: number): void {
    const at = firstInvalidUtf8(this.#b, start, end);
    if (at === -1) return;
    throw new MsgpackReadError(
      `invalid UTF-8 at offset ${at} (byte ${hex(this.#b[at])}) in the string of ${end - start} bytes from offset ${start}; ampbus refuses it rather than replace it with U+FFFD`,
      at,
    );
  }

  #unsafeInteger(at: number, format: string): MsgpackReadError {
    return new MsgpackReadError(
      `${format} at offset ${at} is outside ±(2^53 − 1), so a JavaScript number cannot hold it exactly; ampbus refuses it rather than round it`,
      at,
    );
  }

  #cached(start: number, n: number): string {
    const b = this.#b;
    // The slot comes from the length and the first and last two bytes (as msgpackr's
    // key cache does from a few bytes): cheaper than hashing them all, and the bytes
    // are compared in full anyway.
    const last = start + n - 1;
    const slot = ((n << 7) ^ (b[start] << 5) ^ (b[start + (n >> 1)] << 2) ^ b[last] ^ (b[last - (n > 1 ? 1 : 0)] << 4)) & (CACHE_SIZE - 1);
    const cached = cacheBytes[slot];
    if (cached !== undefined && cached.length === n) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (cached[i] !== b[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return cacheStrings[slot];
    }
    const s = utf8Js(b, start, start + n) ?? this.#badUtf8(start, start + n);
    cacheBytes[slot] = b.slice(start, start + n);
    cacheStrings[slot] = s;
    return s;
  }

  #bin(n: number): Uint8Array {
    if (n > this.limits.maxBinLength) {
      throw new MsgpackReadError(`bin of ${n} bytes at offset ${this.#p} is over the limit of ${this.limits.maxBinLength}`, this.#p);
    }
    this.#need(n);
    const start = this.#p;
    this.#p = start + n;
    return this.#b.subarray(start, start + n);
  }

  #array(n: number, depth: number): unknown[] {
    if (n > this.limits.maxArrayLength) {
      throw new MsgpackReadError(`array of ${n} items at offset ${this.#p} is over the limit of ${this.limits.maxArrayLength}`, this.#p);
    }
    if (depth >= this.limits.maxDepth) throw new MsgpackReadError(`nesting deeper than ${this.limits.maxDepth} at offset ${this.#p}`, this.#p);
    // Each item takes at least one byte: a count beyond the bytes left is a lie; refuse before allocating.
    if (n > this.#b.length - this.#p) {
      throw new MsgpackReadError(`array claims ${n} items at offset ${this.#p}, but only ${this.#b.length - this.#p} bytes are left`, this.#p);
    }
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.#value(depth + 1);
    return out;
  }

  #map(n: number, depth: number): Record<string, unknown> {
    if (n > this.limits.maxMapLength) {
      throw new MsgpackReadError(`map of ${n} entries at offset ${this.#p} is over the limit of ${this.limits.maxMapLength}`, this.#p);
    }
    if (depth >= this.limits.maxDepth) throw new MsgpackReadError(`nesting deeper than ${this.limits.maxDepth} at offset ${this.#p}`, this.#p);
    if (2 * n > this.#b.length - this.#p) {
      throw new MsgpackReadError(`map claims ${n} entries at offset ${this.#p}, but only ${this.#b.length - this.#p} bytes are left`, this.#p);
    }
    const out: Record<string, unknown> = {};
    const b = this.#b;
    for (let i = 0; i < n; i++) {
      this.#need(1);
      const at = this.#p;
      const t = b[at];
      let key: string;
      if (t >= 0xa0 && t < 0xc0) {
        this.#p++;
        key = this.#str(t & 0x1f);
      } else if (t === 0xd9 || t === 0xda || t === 0xdb) {
        key = this.#value(depth + 1) as string;
      } else {
        throw new MsgpackReadError(`map key at offset ${at} is not a string (type byte ${hex(t)}); ampbus map keys are strings`, at);
      }
      if (key === "__proto__") throw new MsgpackReadError(`map key "__proto__" at offset ${at} is refused`, at);
      const value = this.#value(depth + 1);
      if (Object.hasOwn(out, key)) throw new MsgpackReadError(`duplicate map key ${JSON.stringify(key)} at offset ${at}`, at);
      out[key] = value;
    }
    return out;
  }
}
