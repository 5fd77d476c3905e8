/**
 * A MessagePack writer that emits the canonical form ampbus signs and sends:
 * shortest integer and length headers, float64 for every non-integral number,
 * and map keys in Unicode code point order (the byte order of their UTF-8).
 * One instance reuses its buffer; `finish()` hands out a view of the bytes.
 *
 * @module
 */
import { EncodeError } from "../errors.ts";
import { runtime } from "../runtime.ts";

const MAX_DEPTH = 100;
const utf8 = new TextEncoder();
// Strings longer than this go to TextEncoder.encodeInto (measured: below it the JS loop wins on Bun, Deno and Node).
const STR_JS_MAX = 64;
// Node and Bun write UTF-8 into any Uint8Array with no subarray (an allocation per string).
const utf8Write: ((this: Uint8Array, s: string, offset: number, length: number) => number) | undefined =
  runtime === "node" || runtime === "bun"
    // deno-lint-ignore no-explicit-any
    ? (globalThis as any).Buffer?.prototype?.utf8Write
    : undefined;

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

// Payloads repeat the same few object shapes (records in a list): remember how the
// keys of a recent shape sort, and reorder by that when the same keys come again in
// the same order (compared with ===, which is cheap for the same key strings).
const SORT_MEMO_SIZE = 64;
const memoKeys: (string[] | undefined)[] = new Array(SORT_MEMO_SIZE);
const memoSorted: string[][] = new Array(SORT_MEMO_SIZE);

/** Sorts keys in code point order; insertion sort for the small maps payloads mostly hold. */
function sortKeys(keys: string[]): void {
  const n = keys.length;
  if (n > 16) {
    keys.sort(compareCodePoints);
    return;
  }
  const slot = (n * 7 + keys[0].length * 3 + keys[n - 1].length + keys[n >> 1].length * 5) & (SORT_MEMO_SIZE - 1);
  const seen = memoKeys[slot];
  if (seen !== undefined && seen.length === n) {
    let same = true;
    for (let i = 0; i < n; i++) {
      if (seen[i] !== keys[i]) {
        same = false;
        break;
      }
    }
    if (same) {
      const sorted = memoSorted[slot];
      for (let i = 0; i < n; i++) keys[i] = sorted[i];
      return;
    }
  }
  const before = keys.slice();
  insertionSort(keys);
  memoKeys[slot] = before;
  memoSorted[slot] = keys.slice();
}

function insertionSort(keys: string[]): void {
  const n = keys.length;
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


/**
 * Writes canonical MessagePack into a reused, growing buffer.
 *
 * `finish()` hands out a view of the value's bytes, not a copy (a copy cost
 * 20–30% of encoding a small message on V8): the next value is written after
 * it, never over it, and when less than a quarter of the buffer is left the
 * writer moves to a fresh one (the old one lives on in the views). So views
 * of several values may share one `ArrayBuffer`, as Node's pooled Buffers
 * do: a caller that transfers `bytes.buffer` to a worker should transfer a
 * `slice()`.
 */
export class MsgpackWriter {
  #buf: Uint8Array;
  #view: DataView;
  // The value being written is buf[start, pos); what lies before start belongs to views.
  #start = 0;
  #pos = 0;
  #handedOut = false;
  readonly #chunk: number;

  /** A writer whose buffers are `chunkSize` bytes (more when a value needs it). Defaults to 16 KiB. */
  constructor(chunkSize = 16 * 1024) {
    this.#chunk = chunkSize;
    this.#buf = new Uint8Array(chunkSize);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Starts a new value: after the last one `finish()` handed out, or over an unfinished one. */
  reset(): void {
    if (!this.#handedOut) {
      this.#pos = this.#start;
      if (this.#buf.length !== 0) return; // (0: transferred away with a view of it)
    }
    this.#handedOut = false;
    // Room for a quarter of the buffer and twice the last value, or a fresh buffer
    // for a few more values of its size: growing mid-value would copy it.
    const used = this.#pos - this.#start;
    const buf = this.#buf;
    if (buf.length - this.#pos >= Math.max(buf.length >>> 2, 2 * used)) {
      this.#start = this.#pos;
      return;
    }
    this.#buf = new Uint8Array(Math.max(this.#chunk, Math.min(4 * used, used + (1 << 20))));
    this.#view = new DataView(this.#buf.buffer);
    this.#start = this.#pos = 0;
  }

  /** The bytes written since `reset()`: a view that later writes leave alone. */
  finish(): Uint8Array {
    this.#handedOut = true;
    return this.#buf.subarray(this.#start, this.#pos);
  }

  /**
   * Starts a length-prefixed frame: reserves the 4-byte length that
   * `endFrame()` fills in. Returns the frame's start (in the value).
   */
  beginFrame(): number {
    this.#ensure(4);
    const start = this.#pos - this.#start;
    this.#pos += 4;
    return start;
  }

  /** Writes the big-endian length of the frame begun at `start`. */
  endFrame(start: number): void {
    const at = this.#start + start;
    this.#view.setUint32(at, this.#pos - at - 4);
  }

  /** Bytes written since `reset()`. */
  get length(): number {
    return this.#pos - this.#start;
  }

  // Small enough to inline at every write; growing is the rare case, out of line.
  #ensure(n: number): void {
    if (this.#pos + n > this.#buf.length) this.#grow(this.#pos + n - this.#start);
  }

  // Moves the value being written to a buffer of at least `need` bytes (at its start).
  #grow(need: number): void {
    let size = Math.max(this.#chunk, this.#buf.length);
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(this.#start, this.#pos));
    this.#pos -= this.#start;
    this.#start = 0;
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
    const at = this.#pos;
    if (len > STR_JS_MAX) {
      // Long strings: let the native encoder write, then fit the header to the real size.
      const max = len * 3;
      const reserved = max < 0x10000 ? 3 : 5;
      const start = at + reserved;
      const written = utf8Write !== undefined
        ? utf8Write.call(buf, s, start, buf.length - start)
        : utf8.encodeInto(s, buf.subarray(start)).written;
      this.#pos = this.#fitHeader(at, reserved, written);
      return;
    }
    // Short strings, in one pass: most are ASCII (ids, names, keys), the rest is
    // written as UTF-8 by hand (faster than a native call at this size). The bytes
    // go after the header an ASCII string of this length gets (1 byte below 32,
    // else 2); a string whose UTF-8 is longer has its bytes moved if its header is.
    const head = len < 32 ? 1 : 2;
    let q = at + head;
    let i = 0;
    for (; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[q++] = c;
    }
    if (i === len) {
      if (head === 1) buf[at] = 0xa0 | len;
      else {
        buf[at] = 0xd9;
        buf[at + 1] = len;
      }
      this.#pos = q;
      return;
    }
    for (; i < len; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) buf[q++] = c;
      else if (c < 0x800) {
        buf[q++] = 0xc0 | (c >> 6);
        buf[q++] = 0x80 | (c & 0x3f);
      } else {
        if (c >= 0xd800 && c < 0xe000) {
          const d = i + 1 < len ? s.charCodeAt(i + 1) : 0;
          if (c < 0xdc00 && d >= 0xdc00 && d < 0xe000) {
            c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
            i++;
            buf[q++] = 0xf0 | (c >> 18);
            buf[q++] = 0x80 | ((c >> 12) & 0x3f);
            buf[q++] = 0x80 | ((c >> 6) & 0x3f);
            buf[q++] = 0x80 | (c & 0x3f);
            continue;
          }
          c = 0xfffd; // lone surrogate: written as U+FFFD, as TextEncoder does
        }
        buf[q++] = 0xe0 | (c >> 12);
        buf[q++] = 0x80 | ((c >> 6) & 0x3f);
        buf[q++] = 0x80 | (c & 0x3f);
      }
    }
    this.#pos = this.#fitHeader(at, head, q - at - head);
  }

  /**
   * Writes at `at` the header of a string of `n` bytes that were written
   * after `reserved` bytes, moving them when the shortest header is another
   * size; returns the end of the string.
   */
  #fitHeader(at: number, reserved: number, n: number): number {
    const actual = n < 32 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
    if (actual !== reserved) this.#buf.copyWithin(at + actual, at + reserved, at + reserved + n);
    return this.#strHeader(at, n) + n;
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
