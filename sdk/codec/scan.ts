/**
 * A validating scan of an encoded envelope: one pass over the MessagePack
 * bytes that accepts exactly what `decode()` accepts (the reader's rules and
 * limits, well-formed UTF-8, the envelope schema and its cross-field rules)
 * without building the message. It returns only what a store needs: the
 * header strings, the tier, the expiry, and where the spec is. ampd runs it
 * on every `add`; when it says no, `decode()` says why, with every issue.
 *
 * This is a second form of the schema in `sdk/envelope/schema.ts`. The
 * differential test (`tests/sdk/scan.test.ts`) holds the two to the same
 * verdict over random and mutated messages; a change to the schema must be
 * made in both.
 *
 * @module
 */
import { type QualityTier, TIERS } from "../envelope/envelope.ts";
import { runtime } from "../runtime.ts";
import { DEFAULT_DECODE_LIMITS, type DecodeLimits } from "./value.ts";

/**
 * What `MessageScanner.scan()` returns of a valid message. Strings are
 * decoded; `spec` is a view into the scanned bytes.
 */
export interface ScannedMessage {
  /** `id`. */
  id: string;
  /** `opId`. */
  opId: string;
  /** `type`. */
  type: string;
  /** `sender`. */
  sender: string;
  /** `receiver`. */
  receiver: string;
  /** `timestamp`. */
  timestamp: number;
  /** `tier`, when present. */
  tier?: QualityTier;
  /** `expiresAt`, when present. */
  expiresAt?: number;
  /** `snapSha`, when present. */
  snapSha?: string;
  /** The encoded `spec` map (a view into the input), when present. */
  spec?: Uint8Array;
  /** True when the message carries `sig`. */
  signed: boolean;
  /** True when the message carries `compressed`. */
  compressed: boolean;
}

/** What `MessageScanner.scanBody()` returns of a valid `compressed` body. */
export interface ScannedBody {
  /** The encoded `spec` map (a view into the input), when present. */
  spec?: Uint8Array;
  /** True when the body holds `payload`. */
  payload: boolean;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const fromCharCode = String.fromCharCode;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
type Slice = (this: Uint8Array, start: number, end: number) => string;
// Node and Bun slice a Buffer's bytes into a string natively, with no subarray; for
// ASCII, which ids and names mostly are, latin1Slice is the quickest (2-5x a JS loop).
// deno-lint-ignore no-explicit-any
const bufferProto = runtime === "node" || runtime === "bun" ? (globalThis as any).Buffer?.prototype : undefined;
const utf8Slice: Slice | undefined = bufferProto?.utf8Slice;
const latin1Slice: Slice | undefined = bufferProto?.latin1Slice;

/** The one failure of a scan: the message is not valid (`decode()` tells why). */
class NotValid extends Error {}
const NOT_VALID = new NotValid("not a valid message");

/** Map keys (or enum values) by byte length, each with its index. */
class Names {
  readonly byLength: { bytes: Uint8Array; index: number }[][] = [];
  readonly names: readonly string[];
  constructor(names: readonly string[]) {
    this.names = names;
    names.forEach((name, index) => {
      const bytes = new TextEncoder().encode(name);
      (this.byLength[bytes.length] ??= []).push({ bytes, index });
    });
  }

  /** The index of the name held in `b[start, start + n)`, or -1. */
  find(b: Uint8Array, start: number, n: number): number {
    const list = this.byLength[n];
    if (list === undefined) return -1;
    for (const { bytes, index } of list) {
      let i = 0;
      while (i < n && bytes[i] === b[start + i]) i++;
      if (i === n) return index;
    }
    return -1;
  }
}

// The envelope's fields, in the order of the envelope table; a bit each in `seen`.
const F = {
  v: 0, id: 1, opId: 2, type: 3, sender: 4, receiver: 5, timestamp: 6, spec: 7, tier: 8, payload: 9,
  snapSha: 10, conversationId: 11, replyTo: 12, expiresAt: 13, traceparent: 14, compressed: 15, sig: 16,
} as const;
const TOP = new Names(Object.keys(F));
const REQUIRED = (1 << F.v) | (1 << F.id) | (1 << F.opId) | (1 << F.type) | (1 << F.sender) | (1 << F.receiver) | (1 << F.timestamp);
const SPEC = new Names(["preconditions", "task", "postconditions", "evidence"]);
const EVIDENCE = new Names(["prover", "method", "confidence", "details"]);
const COMPRESSED = new Names(["alg", "size", "data"]);
const SIG = new Names(["alg", "kid", "value"]);
const BODY = new Names(["spec", "payload"]);
const TIER_NAMES = new Names(TIERS);
const METHODS = new Names(["static-analysis", "test-execution", "formal-verification"]);
const COMPRESSION_ALGS = new Names(["deflate-raw", "gzip"]);
const SIG_ALGS = new Names(["ed25519", "hmac-sha256"]);
const PROTO = new Names(["__proto__"]);
const MAX_DEPTH = 100;

/**
 * The UTF-16 length of the well-formed UTF-8 in `b[start, end)`, or -1 when
 * it is not well-formed (the reader's rule: Unicode table 3-7, no overlong
 * forms, no surrogates, nothing above U+10FFFF).
 */
function utf16Length(b: Uint8Array, start: number, end: number): number {
  let units = 0;
  let i = start;
  while (i < end) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      units++;
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
    } else return -1;
    if (i + n >= end) return -1;
    const d = b[i + 1];
    if (d < lo || d > hi) return -1;
    for (let k = 2; k <= n; k++) {
      const e = b[i + k];
      if (e < 0x80 || e > 0xbf) return -1;
    }
    i += n + 1;
    units += n === 3 ? 2 : 1;
  }
  return units;
}

// Short strings that repeat from message to message (type, sender, receiver) by content.
const CACHE_SIZE = 1024;
const cacheBytes: (Uint8Array | undefined)[] = new Array(CACHE_SIZE);
const cacheStrings: string[] = new Array(CACHE_SIZE);

/**
 * The validating scanner, with the limits of `makeDecoder()` (each defaults
 * to `DEFAULT_DECODE_LIMITS`). One scanner is reused for many scans.
 */
export class MessageScanner {
  readonly #limits: Required<DecodeLimits>;
  #b: Uint8Array = new Uint8Array(0);
  #p = 0;
  // The string token last read: where its bytes start, and how many.
  #s = 0;
  #n = 0;
  // Where the keys of the payload maps being scanned start, and their lengths (a stack).
  #keyStarts: number[] = [];
  #keyLengths: number[] = [];

  /** A scanner held to `limits`. */
  constructor(limits: DecodeLimits = {}) {
    this.#limits = { ...DEFAULT_DECODE_LIMITS, ...limits };
  }

  /** The message's stored fields when `bytes` is a valid encoded message (as `decode()` would accept it), else undefined. */
  scan(bytes: Uint8Array): ScannedMessage | undefined {
    if (bytes.length === 0 || bytes.length > this.#limits.maxBytes) return undefined;
    this.#b = bytes;
    this.#p = 0;
    try {
      const out = this.#message();
      return this.#p === bytes.length ? out : undefined;
    } catch (e) {
      if (e === NOT_VALID) return undefined;
      throw e;
    } finally {
      this.#b = EMPTY;
    }
  }

  /**
   * What the inflated bytes of a `compressed` field hold when they are a
   * valid `{spec?, payload?}` map (the spec valid by the schema), else
   * undefined.
   */
  scanBody(bytes: Uint8Array): ScannedBody | undefined {
    if (bytes.length === 0) return undefined;
    this.#b = bytes;
    this.#p = 0;
    try {
      const n = this.#mapHeader();
      const out: ScannedBody = { payload: false };
      let seen = 0;
      for (let i = 0; i < n; i++) {
        const k = this.#key(BODY);
        if ((seen & (1 << k)) !== 0) throw NOT_VALID;
        seen |= 1 << k;
        if (k === 0) out.spec = this.#spec();
        else {
          this.#skip(1);
          out.payload = true;
        }
      }
      return this.#p === bytes.length ? out : undefined;
    } catch (e) {
      if (e === NOT_VALID) return undefined;
      throw e;
    } finally {
      this.#b = EMPTY;
    }
  }

  #message(): ScannedMessage {
    const n = this.#mapHeader();
    if (n > 17) throw NOT_VALID; // more fields than the envelope has: a duplicate or an unknown one
    const out: ScannedMessage = { id: "", opId: "", type: "", sender: "", receiver: "", timestamp: 0, signed: false, compressed: false };
    let seen = 0;
    for (let i = 0; i < n; i++) {
      const f = this.#key(TOP);
      const bit = 1 << f;
      if ((seen & bit) !== 0) throw NOT_VALID;
      seen |= bit;
      switch (f) {
        case F.v:
          if (this.#number() !== 1) throw NOT_VALID;
          break;
        case F.id:
          out.id = this.#text(this.#name(128), false);
          break;
        case F.opId:
          out.opId = this.#text(this.#name(128), false);
          break;
        case F.type:
          out.type = this.#text(this.#name(64), true);
          break;
        case F.sender:
          out.sender = this.#text(this.#name(128), true);
          break;
        case F.receiver:
          out.receiver = this.#text(this.#name(128), true);
          break;
        case F.timestamp:
          out.timestamp = this.#epoch();
          break;
        case F.spec:
          out.spec = this.#spec();
          break;
        case F.tier:
          out.tier = TIERS[this.#choice(TIER_NAMES)];
          break;
        case F.payload:
          this.#skip(1);
          break;
        case F.snapSha:
          out.snapSha = this.#snapSha();
          break;
        case F.conversationId:
        case F.replyTo:
          this.#name(128);
          break;
        case F.expiresAt:
          out.expiresAt = this.#epoch();
          break;
        case F.traceparent:
          this.#traceparent();
          break;
        case F.compressed:
          this.#compressed();
          out.compressed = true;
          break;
        case F.sig:
          this.#sig();
          out.signed = true;
          break;
      }
    }
    if ((seen & REQUIRED) !== REQUIRED) throw NOT_VALID;
    if (out.spec !== undefined && out.tier === undefined) throw NOT_VALID; // tier must be present when spec is
    if (out.compressed && (seen & ((1 << F.spec) | (1 << F.payload))) !== 0) throw NOT_VALID; // they travel inside compressed
    return out;
  }

  #need(n: number): void {
    if (this.#p + n > this.#b.length) throw NOT_VALID;
  }

  #u16(p: number): number {
    const b = this.#b;
    return (b[p] << 8) | b[p + 1];
  }

  #u32(p: number): number {
    const b = this.#b;
    return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  }

  /** The entry count of the map that starts here (held to maxMapLength). */
  #mapHeader(): number {
    this.#need(1);
    const t = this.#b[this.#p++];
    let n: number;
    if (t >= 0x80 && t < 0x90) n = t & 0x0f;
    else if (t === 0xde) {
      this.#need(2);
      n = this.#u16(this.#p);
      this.#p += 2;
    } else if (t === 0xdf) {
      this.#need(4);
      n = this.#u32(this.#p);
      this.#p += 4;
    } else throw NOT_VALID;
    if (n > this.#limits.maxMapLength) throw NOT_VALID;
    return n;
  }

  /** The item count of the array that starts here (held to maxArrayLength). */
  #arrayHeader(): number {
    this.#need(1);
    const t = this.#b[this.#p++];
    let n: number;
    if (t >= 0x90 && t < 0xa0) n = t & 0x0f;
    else if (t === 0xdc) {
      this.#need(2);
      n = this.#u16(this.#p);
      this.#p += 2;
    } else if (t === 0xdd) {
      this.#need(4);
      n = this.#u32(this.#p);
      this.#p += 4;
    } else throw NOT_VALID;
    if (n > this.#limits.maxArrayLength) throw NOT_VALID;
    return n;
  }

  /** Reads a string token's header and skips its bytes (left in #s, #n); false when the next value is not a string. */
  #strToken(): boolean {
    this.#need(1);
    const t = this.#b[this.#p];
    let n: number;
    if (t >= 0xa0 && t < 0xc0) {
      n = t & 0x1f;
      this.#p++;
    } else if (t === 0xd9) {
      this.#need(2);
      n = this.#b[this.#p + 1];
      this.#p += 2;
    } else if (t === 0xda) {
      this.#need(3);
      n = this.#u16(this.#p + 1);
      this.#p += 3;
    } else if (t === 0xdb) {
      this.#need(5);
      n = this.#u32(this.#p + 1);
      this.#p += 5;
    } else return false;
    if (n > this.#limits.maxStrLength) throw NOT_VALID;
    this.#need(n);
    this.#s = this.#p;
    this.#n = n;
    this.#p += n;
    return true;
  }

  /** A string; returns its UTF-16 length (it must be well-formed UTF-8). */
  #string(): number {
    if (!this.#strToken()) throw NOT_VALID;
    const b = this.#b;
    const start = this.#s;
    const end = start + this.#n;
    // Long strings: the native slice is many times quicker than a loop over the bytes. It is
    // lenient (bad bytes become U+FFFD), so text holding U+FFFD is checked byte by byte.
    if (this.#n > 64 && utf8Slice !== undefined) {
      const text = utf8Slice.call(b, start, end);
      if (text.indexOf("\ufffd") === -1) return text.length;
    }
    const units = utf16Length(b, start, end);
    if (units < 0) throw NOT_VALID;
    return units;
  }

  /** A string of 1 to `max` UTF-16 units; returns its UTF-16 length. */
  #name(max: number): number {
    const units = this.#string();
    if (units < 1 || units > max) throw NOT_VALID;
    return units;
  }

  /** The string token last read, decoded; `units` is its UTF-16 length (equal to its byte length only for ASCII). */
  #text(units: number, repeats: boolean): string {
    const b = this.#b;
    const start = this.#s;
    const n = this.#n;
    if (repeats && n <= 32) return this.#cached(start, n, units);
    return decodeText(b, start, n, units === n);
  }

  #cached(start: number, n: number, units: number): string {
    const b = this.#b;
    let h = n;
    for (let i = start; i < start + n; i++) h = (h * 31 + b[i]) | 0;
    const slot = h & (CACHE_SIZE - 1);
    const cached = cacheBytes[slot];
    if (cached !== undefined && cached.length === n) {
      let i = 0;
      while (i < n && cached[i] === b[start + i]) i++;
      if (i === n) return cacheStrings[slot];
    }
    const s = decodeText(b, start, n, units === n);
    cacheBytes[slot] = b.slice(start, start + n);
    cacheStrings[slot] = s;
    return s;
  }

  /** A string that must be one of `names`; returns its index. */
  #choice(names: Names): number {
    if (!this.#strToken()) throw NOT_VALID;
    const i = names.find(this.#b, this.#s, this.#n);
    if (i < 0) throw NOT_VALID;
    return i;
  }

  /** A map key that must be one of `names` (any other key is unknown, so refused); returns its index. */
  #key(names: Names): number {
    return this.#choice(names);
  }

  /** Any MessagePack number, as the reader decodes it. */
  #number(): number {
    this.#need(1);
    const b = this.#b;
    const p = this.#p;
    const t = b[p];
    this.#p = p + 1;
    if (t < 0x80) return t;
    if (t >= 0xe0) return t - 0x100;
    switch (t) {
      case 0xcc:
        this.#need(1);
        return b[this.#p++];
      case 0xcd:
        this.#need(2);
        this.#p += 2;
        return this.#u16(p + 1);
      case 0xce:
        this.#need(4);
        this.#p += 4;
        return this.#u32(p + 1);
      case 0xcf: {
        this.#need(8);
        const x = this.#u32(p + 1) * 0x100000000 + this.#u32(p + 5);
        if (x > MAX_SAFE) throw NOT_VALID;
        this.#p += 8;
        return x;
      }
      case 0xd0:
        this.#need(1);
        return (b[this.#p++] << 24) >> 24;
      case 0xd1:
        this.#need(2);
        this.#p += 2;
        return (this.#u16(p + 1) << 16) >> 16;
      case 0xd2:
        this.#need(4);
        this.#p += 4;
        return this.#u32(p + 1) | 0;
      case 0xd3: {
        this.#need(8);
        const x = (this.#u32(p + 1) | 0) * 0x100000000 + this.#u32(p + 5);
        if (x > MAX_SAFE || x < -MAX_SAFE) throw NOT_VALID;
        this.#p += 8;
        return x;
      }
      case 0xca:
        this.#need(4);
        this.#p += 4;
        return new DataView(b.buffer, b.byteOffset + p + 1, 4).getFloat32(0);
      case 0xcb:
        this.#need(8);
        this.#p += 8;
        return new DataView(b.buffer, b.byteOffset + p + 1, 8).getFloat64(0);
    }
    throw NOT_VALID;
  }

  /** An integer from 0 to 2^53 − 1 (timestamp, expiresAt, compressed.size). */
  #epoch(): number {
    const x = this.#number();
    if (!Number.isInteger(x) || x < 0 || x > MAX_SAFE) throw NOT_VALID;
    return x;
  }

  #bin(): void {
    this.#need(1);
    const t = this.#b[this.#p];
    let n: number;
    if (t === 0xc4) {
      this.#need(2);
      n = this.#b[this.#p + 1];
      this.#p += 2;
    } else if (t === 0xc5) {
      this.#need(3);
      n = this.#u16(this.#p + 1);
      this.#p += 3;
    } else if (t === 0xc6) {
      this.#need(5);
      n = this.#u32(this.#p + 1);
      this.#p += 5;
    } else throw NOT_VALID;
    if (n > this.#limits.maxBinLength) throw NOT_VALID;
    this.#need(n);
    this.#p += n;
  }

  /** `spec`: returns its bytes. */
  #spec(): Uint8Array {
    const start = this.#p;
    const n = this.#mapHeader();
    let seen = 0;
    for (let i = 0; i < n; i++) {
      const k = this.#key(SPEC);
      if ((seen & (1 << k)) !== 0) throw NOT_VALID;
      seen |= 1 << k;
      if (k === 0 || k === 2) {
        const items = this.#arrayHeader();
        for (let j = 0; j < items; j++) this.#string();
      } else if (k === 1) {
        if (this.#string() === 0) throw NOT_VALID; // task: a non-empty string
      } else this.#evidence();
    }
    if ((seen & 0b111) !== 0b111) throw NOT_VALID;
    return this.#b.subarray(start, this.#p);
  }

  #evidence(): void {
    const n = this.#mapHeader();
    let seen = 0;
    for (let i = 0; i < n; i++) {
      const k = this.#key(EVIDENCE);
      if ((seen & (1 << k)) !== 0) throw NOT_VALID;
      seen |= 1 << k;
      if (k === 0) this.#name(128);
      else if (k === 1) this.#choice(METHODS);
      else if (k === 2) {
        const x = this.#number();
        if (!(x >= 0 && x <= 1)) throw NOT_VALID;
      } else if (this.#string() > 65536) throw NOT_VALID;
    }
    if ((seen & 0b111) !== 0b111) throw NOT_VALID;
  }

  #compressed(): void {
    const n = this.#mapHeader();
    let seen = 0;
    for (let i = 0; i < n; i++) {
      const k = this.#key(COMPRESSED);
      if ((seen & (1 << k)) !== 0) throw NOT_VALID;
      seen |= 1 << k;
      if (k === 0) this.#choice(COMPRESSION_ALGS);
      else if (k === 1) this.#epoch();
      else this.#bin();
    }
    if (seen !== 0b111) throw NOT_VALID;
  }

  #sig(): void {
    const n = this.#mapHeader();
    let seen = 0;
    for (let i = 0; i < n; i++) {
      const k = this.#key(SIG);
      if ((seen & (1 << k)) !== 0) throw NOT_VALID;
      seen |= 1 << k;
      if (k === 0) this.#choice(SIG_ALGS);
      else if (k === 1) this.#name(128);
      else this.#bin();
    }
    if (seen !== 0b111) throw NOT_VALID;
  }

  /** 7 to 64 lowercase hex digits. */
  #snapSha(): string {
    if (!this.#strToken()) throw NOT_VALID;
    const n = this.#n;
    if (n < 7 || n > 64) throw NOT_VALID;
    const b = this.#b;
    for (let i = this.#s; i < this.#s + n; i++) if (!isHex(b[i])) throw NOT_VALID;
    return decodeText(b, this.#s, n, true);
  }

  /** A W3C traceparent: 2-32-16-2 lowercase hex digits, dash-separated. */
  #traceparent(): void {
    if (!this.#strToken() || this.#n !== 55) throw NOT_VALID;
    const b = this.#b;
    const s = this.#s;
    for (let i = 0; i < 55; i++) {
      const dash = i === 2 || i === 35 || i === 52;
      if (dash ? b[s + i] !== 0x2d : !isHex(b[s + i])) throw NOT_VALID;
    }
  }

  /** Any value the reader accepts (a payload), held to every limit. */
  #skip(depth: number): void {
    this.#need(1);
    const b = this.#b;
    const t = b[this.#p];
    if (t < 0x80 || t >= 0xe0) {
      this.#p++;
      return;
    }
    if ((t >= 0xa0 && t < 0xc0) || t === 0xd9 || t === 0xda || t === 0xdb) {
      this.#string();
      return;
    }
    if ((t >= 0x80 && t < 0x90) || t === 0xde || t === 0xdf) return this.#skipMap(depth);
    if ((t >= 0x90 && t < 0xa0) || t === 0xdc || t === 0xdd) {
      const n = this.#arrayHeader();
      if (depth >= MAX_DEPTH) throw NOT_VALID;
      for (let i = 0; i < n; i++) this.#skip(depth + 1);
      return;
    }
    if (t === 0xc4 || t === 0xc5 || t === 0xc6) return this.#bin();
    if (t === 0xc0 || t === 0xc2 || t === 0xc3) {
      this.#p++;
      return;
    }
    if (t === 0xca || t === 0xcb) { // a float: any value is a value
      const n = t === 0xca ? 5 : 9;
      this.#need(n);
      this.#p += n;
      return;
    }
    this.#number(); // the rest are integers, or not allowed (extensions, 0xc1): #number refuses those
  }

  #skipMap(depth: number): void {
    const n = this.#mapHeader();
    if (depth >= MAX_DEPTH) throw NOT_VALID;
    const b = this.#b;
    // Keys seen so far, to refuse a duplicate: compared as bytes (well-formed UTF-8 is
    // one-to-one with text), kept on a stack shared by the nested maps (no allocation);
    // past 8 keys, through a set of the decoded keys.
    const starts = this.#keyStarts;
    const lengths = this.#keyLengths;
    const base = starts.length;
    let set: Set<string> | undefined;
    try {
      for (let i = 0; i < n; i++) {
        if (!this.#strToken()) throw NOT_VALID;
        const s = this.#s;
        const len = this.#n;
        if (utf16Length(b, s, s + len) < 0) throw NOT_VALID;
        if (len === 9 && PROTO.find(b, s, len) === 0) throw NOT_VALID;
        if (set !== undefined) {
          const key = decodeText(b, s, len, false);
          if (set.has(key)) throw NOT_VALID;
          set.add(key);
        } else {
          for (let j = base; j < starts.length; j++) {
            if (lengths[j] === len && sameBytes(b, starts[j], s, len)) throw NOT_VALID;
          }
          starts.push(s);
          lengths.push(len);
          if (starts.length - base === 8 && n > 8) {
            set = new Set();
            for (let j = base; j < starts.length; j++) set.add(decodeText(b, starts[j], lengths[j], false));
          }
        }
        this.#skip(depth + 1);
      }
    } finally {
      starts.length = base;
      lengths.length = base;
    }
  }
}

const EMPTY = new Uint8Array(0);

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66);
}

function sameBytes(b: Uint8Array, x: number, y: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (b[x + i] !== b[y + i]) return false;
  return true;
}

/** The text of well-formed UTF-8 bytes `b[start, start + n)`. */
function decodeText(b: Uint8Array, start: number, n: number, ascii: boolean): string {
  if (ascii && latin1Slice !== undefined) return latin1Slice.call(b, start, start + n);
  if (ascii && n <= 40) {
    let s = "";
    for (let i = start; i < start + n; i++) s += fromCharCode(b[i]);
    return s;
  }
  if (utf8Slice !== undefined) return utf8Slice.call(b, start, start + n);
  return utf8.decode(b.subarray(start, start + n));
}
