/** Base64 (RFC 4648, standard alphabet, padded) without runtime-specific APIs. */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

/**
 * Encodes bytes as padded standard base64.
 *
 * @example
 * ```ts
 * import { toBase64 } from "@ampbus/ampbus";
 *
 * if (toBase64(new Uint8Array([0xde, 0xad, 0xbe, 0xef])) !== "3q2+7w==") throw new Error("wrong base64");
 * ```
 */
export function toBase64(bytes: Uint8Array): string {
  let out = "";
  const n = bytes.length;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const x = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += ALPHABET[x >> 18] + ALPHABET[(x >> 12) & 63] + ALPHABET[(x >> 6) & 63] + ALPHABET[x & 63];
  }
  if (i < n) {
    const x = (bytes[i] << 16) | (i + 1 < n ? bytes[i + 1] << 8 : 0);
    out += ALPHABET[x >> 18] + ALPHABET[(x >> 12) & 63] + (i + 1 < n ? ALPHABET[(x >> 6) & 63] : "=") + "=";
  }
  return out;
}

/**
 * Decodes padded or unpadded standard base64; returns undefined for anything
 * else (URL-safe base64 included), never throws.
 *
 * @example
 * ```ts
 * import { fromBase64 } from "@ampbus/ampbus";
 *
 * if (fromBase64("3q2+7w")?.join() !== "222,173,190,239") throw new Error("wrong bytes");
 * if (fromBase64("not base64!") !== undefined) throw new Error("should refuse");
 * ```
 */
export function fromBase64(text: string): Uint8Array | undefined {
  let len = text.length;
  while (len > 0 && text.charCodeAt(len - 1) === 61) len--; // '='
  if (len % 4 === 1 || text.length - len > 2) return undefined;
  const out = new Uint8Array(Math.floor((len * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? LOOKUP[c] : -1;
    if (v < 0) return undefined;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}
