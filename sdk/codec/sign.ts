/**
 * Signatures: Ed25519 (WebCrypto) for agents with their own key pair, and
 * HMAC-SHA256 for a shared secret. A signature covers the canonical encoding
 * of the message without `sig`, with `spec` and `payload` uncompressed, so it
 * survives compression in transit. `kid` names the key that verifies it.
 *
 * @module
 */
import type { AISPMessage, SignatureAlgorithm } from "../envelope/envelope.ts";
import { SignatureError } from "../errors.ts";
import { encodeValid } from "./codec.ts";
import { decompressMessage } from "./compress.ts";
import { assertValid } from "../envelope/schema.ts";
import { fromBase64, toBase64 } from "./_base64.ts";

/** A key that signs: an Ed25519 private key or an HMAC secret, with its key id. */
export interface SigningKey {
  alg: SignatureAlgorithm;
  kid: string;
  key: CryptoKey;
}

/** A key that verifies: an Ed25519 public key or an HMAC secret, with its key id. */
export interface VerifyingKey {
  alg: SignatureAlgorithm;
  kid: string;
  key: CryptoKey;
}

/** Where `verify()` finds the key for a `kid`: a list, a map by kid, or a lookup function. */
export type KeyRing =
  | readonly VerifyingKey[]
  | Readonly<Record<string, VerifyingKey>>
  | ((kid: string) => VerifyingKey | undefined | Promise<VerifyingKey | undefined>);

const ED25519 = { name: "Ed25519" } as const;
const HMAC = { name: "HMAC", hash: "SHA-256" } as const;
// PKCS#8 wrapper of a raw 32-byte Ed25519 seed (RFC 8410).
const PKCS8_ED25519_PREFIX = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

/**
 * Generates an Ed25519 key pair for `kid`.
 *
 * @example
 * ```ts
 * const { signingKey, verifyingKey } = await generateKeyPair("coder-2026");
 * const signed = await sign(msg, signingKey);
 * await verify(signed, [verifyingKey]); // true
 * ```
 */
export async function generateKeyPair(kid: string): Promise<{ signingKey: SigningKey; verifyingKey: VerifyingKey }> {
  const pair = (await crypto.subtle.generateKey(ED25519, true, ["sign", "verify"])) as CryptoKeyPair;
  return {
    signingKey: { alg: "ed25519", kid, key: pair.privateKey },
    verifyingKey: { alg: "ed25519", kid, key: pair.publicKey },
  };
}

/** Generates a random 32-byte HMAC-SHA256 secret for `kid`; it both signs and verifies. */
export async function generateHmacKey(kid: string): Promise<SigningKey & VerifyingKey> {
  const key = await crypto.subtle.generateKey({ ...HMAC, length: 256 }, true, ["sign", "verify"]);
  return { alg: "hmac-sha256", kid, key: key as CryptoKey };
}

/** What `importKey()` takes. */
export interface ImportKeyOptions {
  alg: SignatureAlgorithm;
  kid: string;
  /** `"sign"` for a private key or secret, `"verify"` for a public key or secret. */
  use: "sign" | "verify";
  /** A JSON Web Key (OKP/Ed25519 or oct). */
  jwk?: JsonWebKey;
  /** Raw bytes: a 32-byte Ed25519 public key or seed (private), or an HMAC secret. */
  raw?: Uint8Array;
}

/**
 * Imports a key from a JWK or raw bytes.
 *
 * @example
 * ```ts
 * const k = await importKey({ alg: "hmac-sha256", kid: "team", use: "sign", raw: secret });
 * ```
 */
export async function importKey(o: ImportKeyOptions): Promise<SigningKey> {
  if ((o.jwk === undefined) === (o.raw === undefined)) {
    throw new TypeError("importKey needs exactly one of `jwk` or `raw`");
  }
  let key: CryptoKey;
  if (o.alg === "hmac-sha256") {
    key = o.jwk
      ? await crypto.subtle.importKey("jwk", o.jwk, HMAC, true, ["sign", "verify"])
      : await crypto.subtle.importKey("raw", o.raw as BufferSource, HMAC, true, ["sign", "verify"]);
  } else if (o.alg === "ed25519") {
    if (o.jwk) key = await crypto.subtle.importKey("jwk", o.jwk, ED25519, true, [o.use]);
    else if (o.raw!.length !== 32) {
      throw new TypeError(`a raw Ed25519 key is 32 bytes (was ${o.raw!.length})`);
    } else if (o.use === "verify") key = await crypto.subtle.importKey("raw", o.raw as BufferSource, ED25519, true, ["verify"]);
    else {
      const der = new Uint8Array(48);
      der.set(PKCS8_ED25519_PREFIX);
      der.set(o.raw!, 16);
      key = await crypto.subtle.importKey("pkcs8", der, ED25519, true, ["sign"]);
    }
  } else {
    throw new TypeError(`unknown signature algorithm ${JSON.stringify(o.alg)}: use "ed25519" or "hmac-sha256"`);
  }
  return { alg: o.alg, kid: o.kid, key };
}

/** Exports a key as a JWK or raw bytes (an Ed25519 private key exports as its 32-byte seed). */
export async function exportKey(k: SigningKey | VerifyingKey, format: "jwk"): Promise<JsonWebKey>;
export async function exportKey(k: SigningKey | VerifyingKey, format: "raw"): Promise<Uint8Array>;
export async function exportKey(k: SigningKey | VerifyingKey, format: "jwk" | "raw"): Promise<JsonWebKey | Uint8Array> {
  if (format === "jwk") return await crypto.subtle.exportKey("jwk", k.key);
  if (k.alg === "ed25519" && k.key.type === "private") {
    const der = new Uint8Array(await crypto.subtle.exportKey("pkcs8", k.key));
    return der.slice(der.length - 32);
  }
  return new Uint8Array(await crypto.subtle.exportKey("raw", k.key));
}

/**
 * The bytes a signature covers: the canonical encoding of the uncompressed
 * message without `sig`. Throws `ValidationError` if `msg` is not a valid message.
 *
 * @example
 * ```ts
 * const bytes = await signedBytes(msg); // what sign() signs
 * ```
 */
export async function signedBytes(msg: AISPMessage): Promise<Uint8Array> {
  // Validated before any field is read, so a null or hostile value fails as invalid.
  const valid = assertValid(msg);
  const m = valid.compressed === undefined ? valid : await decompressMessage(valid);
  return encodeValid(m, false);
}

function algorithmOf(alg: SignatureAlgorithm) {
  return alg === "ed25519" ? ED25519 : HMAC;
}

/**
 * Returns a copy of the message with `sig` set. Throws `ValidationError`
 * if the message is invalid.
 *
 * @example
 * ```ts
 * const signed = await sign(msg, signingKey);
 * ```
 */
export async function sign(msg: AISPMessage, key: SigningKey): Promise<AISPMessage> {
  const bytes = await signedBytes(msg);
  const value = new Uint8Array(await crypto.subtle.sign(algorithmOf(key.alg), key.key, bytes as BufferSource));
  return { ...msg, sig: { alg: key.alg, kid: key.kid, value } };
}

async function findKey(keys: KeyRing, kid: string): Promise<VerifyingKey | undefined> {
  if (typeof keys === "function") return await keys(kid);
  if (Array.isArray(keys)) return (keys as readonly VerifyingKey[]).find((k) => k?.kid === kid);
  return Object.hasOwn(keys, kid) ? (keys as Record<string, VerifyingKey>)[kid] : undefined;
}

/**
 * Checks the message's signature and throws a `SignatureError` saying why it
 * does not hold (`UNSIGNED`, `UNKNOWN_KEY` also when the key ring throws,
 * `KEY_MISMATCH` also for a key that cannot verify, such as a private key,
 * `BAD_SIGNATURE`), or a `ValidationError` when `msg` is not a valid message.
 * Returns the key that verified it.
 *
 * @example
 * ```ts
 * const key = await assertSigned(msg, [verifyingKey]);
 * console.log(`signed by ${key.kid}`);
 * ```
 */
export async function assertSigned(msg: AISPMessage, keys: KeyRing): Promise<VerifyingKey> {
  // Validating first means nothing below reads a field the schema has not checked.
  const bytes = await signedBytes(msg);
  const sig = msg.sig;
  if (sig === undefined) throw new SignatureError("UNSIGNED", `message ${msg.id} has no sig`);
  let key: VerifyingKey | undefined;
  try {
    key = await findKey(keys, sig.kid);
  } catch (e) {
    throw new SignatureError("UNKNOWN_KEY", `the key ring threw while looking up kid ${JSON.stringify(sig.kid)} (the error is the cause)`, { cause: e });
  }
  if (key === undefined || key === null) throw new SignatureError("UNKNOWN_KEY", `no key with kid ${JSON.stringify(sig.kid)}`);
  if (key.alg !== sig.alg) {
    throw new SignatureError("KEY_MISMATCH", `key ${JSON.stringify(sig.kid)} is ${key.alg}, but the signature says ${sig.alg}`);
  }
  let ok: boolean;
  try {
    ok = await crypto.subtle.verify(algorithmOf(sig.alg), key.key, sig.value as BufferSource, bytes as BufferSource);
  } catch (e) {
    throw new SignatureError("KEY_MISMATCH", `key ${JSON.stringify(sig.kid)} cannot verify a ${sig.alg} signature (not a ${sig.alg} public key or secret; the error is the cause)`, { cause: e });
  }
  if (!ok) throw new SignatureError("BAD_SIGNATURE", `signature of message ${msg.id} does not match (kid ${JSON.stringify(sig.kid)})`);
  return key;
}

/**
 * True when the message carries a signature that verifies with the key its
 * `kid` names; false otherwise, whatever the input: an unsigned, tampered,
 * invalid or unknown-key message, a value that is not a message at all, a key
 * that cannot verify, or a key ring that throws. Never throws.
 *
 * @example
 * ```ts
 * if (!(await verify(msg, [verifyingKey]))) throw new Error("forged");
 * ```
 */
export async function verify(msg: AISPMessage, keys: KeyRing): Promise<boolean> {
  try {
    await assertSigned(msg, keys);
    return true;
  } catch {
    // A forged message must not be able to turn verification into an exception the
    // caller forgot to catch: anything that stops the check means "not verified".
    return false;
  }
}

/** Base64 helpers for carrying keys and signatures in text. */
export { fromBase64, toBase64 };
