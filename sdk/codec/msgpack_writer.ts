/**
 * A MessagePack writer that emits the canonical form ampbus signs and sends:
 * shortest integer and length headers, float64 for every non-integral number,
 * and map keys in Unicode code point order (the byte order of their UTF-8).
 * One instance reuses one growing buffer; `finish()` copies the bytes out.
 *
 * @module
 */
import { EncodeError } from "../errors.ts";

const MAX_DEPTH = 100;
const utf8 = new TextEncoder();

/**
 * Compares two strings in Unicode code point order, which is also the byte
 * order of their UTF-8 encodings (JavaScript's `<` compares UTF-16 code units,
 * which differs for characters above U+E000 against surrogate pairs).
 */
export function compareCodePoints(a: string, b: string): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

/** Sorts keys in code point order; insertion sort for the small maps payloads mostly hold. */
function sortKeys(keys: string[]): void {
  const n = keys.length;
  if (n > 16) {
    keys.sort(compareCodePoints);
    return;
  }
  for (let i = 1; i < n; i++) {
    const k = keys[i];
    let j = i - 1;
    while (j >= 0 && compareCodePoints(keys[j], k) > 0) {
      keys[j + 1] = keys[j];
      j--;
    }
    keys[j + 1] = k;
  }
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "object") return (v as object).constructor?.name ?? "object";
  return typeof v;
}


/** Writes canonical MessagePack into a reused, growing buffer. */
export class MsgpackWriter {
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;

  constructor(initialSize = 4096) {
    this.#buf = new Uint8Array(initialSize);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Starts a new value, keeping the buffer. */
  reset(): void {
    this.#pos = 0;
  }

  /** A copy of the bytes written since `reset()`. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#pos);
  }

  /**
   * Starts a length-prefixed frame: reserves the 4-byte length that
   * `endFrame()` fills in. Returns the frame's start.
   */
  beginFrame(): number {
    this.#ensure(4);
    const start = this.#pos;
    this.#pos += 4;
    return start;
  }

  /** Writes the big-endian length of the frame begun at `start`. */
  endFrame(start: number): void {
    this.#view.setUint32(start, this.#pos - start - 4);
  }

  /** Bytes written since `reset()`. */
  get length(): number {
    return this.#pos;
  }

  #ensure(n: number): void {
    const need = this.#pos + n;
    if (need <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** Appends bytes that are already MessagePack (a pre-encoded key, say). */
  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    this.#ensure(n);
    const buf = this.#buf;
    let p = this.#pos;
    if (n < 16) {
      for (let i = 0; i < n; i++) buf[p++] = bytes[i];
    } else {
      buf.set(bytes, p);
      p += n;
    }
    this.#pos = p;
  }

  nil(): void {
    this.#ensure(1);
    this.#buf[this.#pos++] = 0xc0;
  }

  bool(b: boolean): void {
    this.#ensure(1);
    this.#buf[this.#pos++] = b ? 0xc3 : 0xc2;
  }

  number(n: number): void {
    this.#ensure(9);
    const buf = this.#buf;
    let p = this.#pos;
    if (Number.isSafeInteger(n)) {
      if (n >= 0) {
        if (n < 0x80) buf[p++] = n;
        else if (n < 0x100) {
          buf[p++] = 0xcc;
          buf[p++] = n;
        } else if (n < 0x10000) {
          buf[p++] = 0xcd;
          buf[p++] = n >>> 8;
          buf[p++] = n;
        } else if (n < 0x100000000) {
          buf[p++] = 0xce;
          this.#view.setUint32(p, n);
          p += 4;
        } else {
          buf[p++] = 0xcf;
          this.#view.setUint32(p, Math.floor(n / 0x100000000));
          this.#view.setUint32(p + 4, n >>> 0);
          p += 8;
        }
      } else {
        if (n >= -0x20) buf[p++] = n & 0xff;
        else if (n >= -0x80) {
          buf[p++] = 0xd0;
          buf[p++] = n & 0xff;
        } else if (n >= -0x8000) {
          buf[p++] = 0xd1;
          this.#view.setInt16(p, n);
          p += 2;
        } else if (n >= -0x80000000) {
          buf[p++] = 0xd2;
          this.#view.setInt32(p, n);
          p += 4;
        } else {
          buf[p++] = 0xd3;
          this.#view.setInt32(p, Math.floor(n / 0x100000000));
          this.#view.setUint32(p + 4, n >>> 0);
          p += 8;
        }
      }
    } else {
      buf[p++] = 0xcb;
      this.#view.setFloat64(p, n);
      p += 8;
    }
    this.#pos = p;
  }

  #strHeader(p: number, n: number): number {
    const buf = this.#buf;
    if (n < 32) buf[p++] = 0xa0 | n;
    else if (n < 0x100) {
      buf[p++] = 0xd9;
      buf[p++] = n;
    } else if (n < 0x10000) {
      buf[p++] = 0xda;
      buf[p++] = n >>> 8;
      buf[p++] = n;
    } else {
      buf[p++] = 0xdb;
      this.#view.setUint32(p, n);
      p += 4;
    }
    return p;
  }

  str(s: string): void {
    const len = s.length;
    this.#ensure(len * 3 + 5);
    const buf = this.#buf;
    if (len > 48) {
      // Long strings: let the native encoder write, then fit the header to the real size.
      const max = len * 3;
      const reserved = max < 32 ? 1 : max < 0x100 ? 2 : max < 0x10000 ? 3 : 5;
      const start = this.#pos + reserved;
      const written = utf8.encodeInto(s, buf.subarray(start)).written;
      const actual = written < 32 ? 1 : written < 0x100 ? 2 : written < 0x10000 ? 3 : 5;
      if (actual !== reserved) buf.copyWithin(this.#pos + actual, start, start + written);
      this.#pos = this.#strHeader(this.#pos, written) + written;
      return;
    }
    // Short strings: most are ASCII (ids, names, keys); write them in one pass,
    // with the header an ASCII string of this length gets (1 byte below 32, else 2).
    {
      const start = this.#pos;
      const head = len < 32 ? 1 : 2;
      let q = start + head;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[q++] = c;
      }
      if (i === len) {
        if (head === 1) buf[start] = 0xa0 | len;
        else {
          buf[start] = 0xd9;
          buf[start + 1] = len;
        }
        this.#pos = q;
        return;
      }
    }
    // Otherwise count UTF-8 bytes, then write them by hand (faster than a native call).
    let bytes = 0;
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) bytes++;
      else if (c < 0x800) bytes += 2;
      else if (c >= 0xd800 && c < 0xdc00 && i + 1 < len) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d < 0xe000) {
          bytes += 4;
          i++;
        } else bytes += 3;
      } else bytes += 3;
    }
    let p = this.#strHeader(this.#pos, bytes);
    if (bytes === len) {
      for (let i = 0; i < len; i++) buf[p++] = s.charCodeAt(i);
      this.#pos = p;
      return;
    }
    for (let i = 0; i < len; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) buf[p++] = c;
      else if (c < 0x800) {
        buf[p++] = 0xc0 | (c >> 6);
        buf[p++] = 0x80 | (c & 0x3f);
      } else {
        if (c >= 0xd800 && c < 0xe000) {
          const d = i + 1 < len ? s.charCodeAt(i + 1) : 0;
          if (c < 0xdc00 && d >= 0xdc00 && d < 0xe000) {
            c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
            i++;
            buf[p++] = 0xf0 | (c >> 18);
            buf[p++] = 0x80 | ((c >> 12) & 0x3f);
            buf[p++] = 0x80 | ((c >> 6) & 0x3f);
            buf[p++] = 0x80 | (c & 0x3f);
            continue;
          }
          c = 0xfffd; // lone surrogate: written as U+FFFD, as TextEncoder does
        }
        buf[p++] = 0xe0 | (c >> 12);
        buf[p++] = 0x80 | ((c >> 6) & 0x3f);
        buf[p++] = 0x80 | (c & 0x3f);
      }
    }
    this.#pos = p;
  }

  bin(b: Uint8Array): void {
    const n = b.length;
    this.#ensure(n + 5);
    const buf = this.#buf;
    let p = this.#pos;
    if (n < 0x100) {
      buf[p++] = 0xc4;
      buf[p++] = n;
    } else if (n < 0x10000) {
      buf[p++] = 0xc5;
      buf[p++] = n >>> 8;
      buf[p++] = n;
    } else {
      buf[p++] = 0xc6;
      this.#view.setUint32(p, n);
      p += 4;
    }
    if (n < 16) for (let i = 0; i < n; i++) buf[p++] = b[i];
    else {
      buf.set(b, p);
      p += n;
    }
    this.#pos = p;
  }

  arrayHeader(n: number): void {
    this.#ensure(5);
    const buf = this.#buf;
    if (n < 16) buf[this.#pos++] = 0x90 | n;
    else if (n < 0x10000) {
      buf[this.#pos++] = 0xdc;
      buf[this.#pos++] = n >>> 8;
      buf[this.#pos++] = n;
    } else {
      buf[this.#pos++] = 0xdd;
      this.#view.setUint32(this.#pos, n);
      this.#pos += 4;
    }
  }

  mapHeader(n: number): void {
    this.#ensure(5);
    const buf = this.#buf;
    if (n < 16) buf[this.#pos++] = 0x80 | n;
    else if (n < 0x10000) {
      buf[this.#pos++] = 0xde;
      buf[this.#pos++] = n >>> 8;
      buf[this.#pos++] = n;
    } else {
      buf[this.#pos++] = 0xdf;
      this.#view.setUint32(this.#pos, n);
      this.#pos += 4;
    }
  }

  /** An array of strings (AISP conditions). */
  strArray(a: readonly string[]): void {
    this.arrayHeader(a.length);
    for (let i = 0; i < a.length; i++) this.str(a[i]);
  }

  /**
   * Any value ampbus carries as a payload: null, booleans, numbers, strings,
   * `Uint8Array`, arrays and plain objects. `undefined` map values are left
   * out (as JSON does) and `undefined` array items become nil. Anything else
   * throws an `EncodeError` naming the path (`path` prefixes it).
   */
  value(v: unknown, path = "", depth = 0): void {
    try {
      this.#value(v, depth);
    } catch (e) {
      if (e instanceof PathFault) {
        const where = path + e.segments.reverse().join("");
        throw new EncodeError(`${where === "" ? "value" : where.replace(/^\./, "")} ${e.problem}`);
      }
      throw e;
    }
  }

  // The hot path builds no path strings: a fault collects its path as it unwinds.
  #value(v: unknown, depth: number): void {
    switch (typeof v) {
      case "string":
        return this.str(v);
      case "number":
        return this.number(v);
      case "boolean":
        return this.bool(v);
      case "undefined":
        return this.nil();
      case "object":
        break;
      default:
        throw new PathFault(`cannot be encoded: ${describe(v)} is not a MessagePack value`);
    }
    if (v === null) return this.nil();
    if (depth >= MAX_DEPTH) throw new PathFault(`is nested more than ${MAX_DEPTH} levels deep (is there a cycle?)`);
    if (Array.isArray(v)) {
      this.arrayHeader(v.length);
      for (let i = 0; i < v.length; i++) {
        try {
          this.#value(v[i], depth + 1);
        } catch (e) {
          if (e instanceof PathFault) e.segments.push(`[${i}]`);
          throw e;
        }
      }
      return;
    }
    if (v instanceof Uint8Array) return this.bin(v);
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      throw new PathFault(`cannot be encoded: ${describe(v)} is not a plain object, array or Uint8Array`);
    }
    const obj = v as Record<string, unknown>;
    const keys = Object.keys(obj);
    let count = 0;
    for (let i = 0; i < keys.length; i++) if (obj[keys[i]] !== undefined) count++;
    if (keys.length > 1) sortKeys(keys);
    this.mapHeader(count);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      const item = obj[k];
      if (item === undefined) continue;
      if (k === "__proto__") throw new PathFault("has the key __proto__, which ampbus refuses");
      this.str(k);
      try {
        this.#value(item, depth + 1);
      } catch (e) {
        if (e instanceof PathFault) e.segments.push(`.${k}`);
        throw e;
      }
    }
  }
}

/** A value that cannot be encoded, with the path collected while unwinding (innermost first). */
class PathFault extends Error {
  readonly segments: string[] = [];
  constructor(readonly problem: string) {
    super(problem);
  }
}
