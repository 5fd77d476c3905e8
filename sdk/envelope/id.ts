/**
 * UUIDv7 ids (RFC 9562): 48 bits of Unix milliseconds, then randomness, so ids
 * sort by creation time. Within one millisecond a 12-bit counter keeps ids
 * from one process strictly increasing.
 *
 * @module
 */

// Char codes of the two hex digits of each byte.
const HEX_CODES = new Uint16Array(512);
for (let i = 0; i < 256; i++) {
  const h = i.toString(16).padStart(2, "0");
  HEX_CODES[2 * i] = h.charCodeAt(0);
  HEX_CODES[2 * i + 1] = h.charCodeAt(1);
}
const DASH = 45;
const chars = new Uint16Array(36);
const pool = new Uint8Array(16 * 64);
let poolPos = pool.length;
let lastMs = -1;
let seq = 0;

function randomBytes16(): Uint8Array {
  if (poolPos + 16 > pool.length) {
    crypto.getRandomValues(pool);
    poolPos = 0;
  }
  const b = pool.subarray(poolPos, poolPos + 16);
  poolPos += 16;
  return b;
}

/**
 * Returns a new UUIDv7 string, such as `0192f7e5-3c1a-7b2e-9d4f-1a2b3c4d5e6f`,
 * for the time `now` (milliseconds since the epoch; defaults to `Date.now()`).
 * Ids from one process increase strictly, even within one millisecond or when
 * the clock steps back.
 *
 * @example
 * ```ts
 * import { uuidv7 } from "@ampbus/ampbus";
 *
 * const a = uuidv7();
 * const b = uuidv7();
 * if (!(a < b) || a.length !== 36 || a[14] !== "7") throw new Error(`${a} then ${b}`);
 * ```
 */
export function uuidv7(now: number = Date.now()): string {
  const b = randomBytes16();
  if (now > lastMs) {
    lastMs = now;
    seq = ((b[6] & 0x07) << 8) | b[7]; // random start, leaves room to count up
  } else {
    now = lastMs; // clock went back or same ms: keep order
    seq++;
    if (seq > 0xfff) {
      lastMs++;
      now = lastMs;
      seq = 0;
    }
  }
  b[0] = now / 2 ** 40;
  b[1] = now / 2 ** 32;
  b[2] = now >>> 24;
  b[3] = now >>> 16;
  b[4] = now >>> 8;
  b[5] = now;
  b[6] = 0x70 | (seq >>> 8);
  b[7] = seq & 0xff;
  b[8] = 0x80 | (b[8] & 0x3f);
  // One flat string (concatenation would build a rope, slow to read char by char).
  let c = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) chars[c++] = DASH;
    chars[c++] = HEX_CODES[2 * b[i]];
    chars[c++] = HEX_CODES[2 * b[i] + 1];
  }
  return String.fromCharCode.apply(null, chars as unknown as number[]);
}

/**
 * The millisecond timestamp inside a UUIDv7, or undefined if `id` is not one.
 *
 * @example
 * ```ts
 * import { uuidv7, uuidv7Time } from "@ampbus/ampbus";
 *
 * const later = Date.now() + 60_000;
 * if (uuidv7Time(uuidv7(later)) !== later) throw new Error("wrong time");
 * if (uuidv7Time("not-a-uuid") !== undefined) throw new Error("not a UUIDv7");
 * ```
 */
export function uuidv7Time(id: string): number | undefined {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id)) return undefined;
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
