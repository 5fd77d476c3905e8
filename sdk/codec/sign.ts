/**
 * Signatures: Ed25519 (WebCrypto) for agents with their own key pair, and
 * HMAC-SHA256 for a shared secret. A signature covers the canonical encoding
 * of the message without `sig`, with `spec` and `payload` uncompressed, so it
 * survives compression in transit. `kid` names the key that verifies it.
 *
 * @module
 */
import type { AISPMessage } from "../envelope/envelope.ts";
import { SignatureError } from "../errors.ts";
import { encodeValid } from "./codec.ts";
import { decompressMessage } from "./compress_message.ts";
import { assertValid } from "../envelope/schema.ts";
import { fromBase64, toBase64 } from "./base64.ts";
import { algorithmOf, type KeyRing, type SigningKey, type VerifyingKey } from "./keys.ts";

/**
 * The bytes a signature covers: the canonical encoding of the uncompressed
 * message without `sig`. Throws `ValidationError` if `msg` is not a valid message.
 *
 * @example
 * ```ts
 * import { createMessage, encodeValid, signedBytes } from "@ampbus/ampbus";
 *
 * const msg = createMessage({ type: "event", sender: "a", receiver: "b" });
 * const bytes = await signedBytes(msg); // what sign() signs
 * if (bytes.join() !== encodeValid(msg, false).join()) throw new Error("unsigned message: the bytes are its encoding");
 * ```
 */
export async function signedBytes(msg: AISPMessage): Promise<Uint8Array> {
  // Validated before any field is read, so a null or hostile value fails as invalid.
  const valid = assertValid(msg);
  const m = valid.compressed === undefined ? valid : await decompressMessage(valid);
  return encodeValid(m, false);
}

/**
 * Returns a copy of the message with `sig` set. Throws `ValidationError`
 * if the message is invalid.
 *
 * @example
 * ```ts
 * import { createMessage, generateHmacKey, sign } from "@ampbus/ampbus";
 *
 * const msg = createMessage({ type: "event", sender: "a", receiver: "b" });
 * const signed = await sign(msg, await generateHmacKey("team"));
 * if (signed.sig?.alg !== "hmac-sha256" || msg.sig !== undefined) throw new Error("sign must return a copy");
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
 * import { assertSigned, createMessage, generateKeyPair, sign } from "@ampbus/ampbus";
 *
 * const { signingKey, verifyingKey } = await generateKeyPair("coder-2026");
 * const msg = await sign(createMessage({ type: "event", sender: "coder", receiver: "b" }), signingKey);
 * const key = await assertSigned(msg, [verifyingKey]);
 * if (key.kid !== "coder-2026") throw new Error(`signed by ${key.kid}`);
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
 * import { createMessage, generateHmacKey, sign, verify } from "@ampbus/ampbus";
 *
 * const key = await generateHmacKey("team");
 * const signed = await sign(createMessage({ type: "event", sender: "a", receiver: "b", payload: 1 }), key);
 * if (!(await verify(signed, [key]))) throw new Error("should verify");
 * if (await verify({ ...signed, payload: 2 }, [key])) throw new Error("a tampered payload must not verify");
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
export {
  exportKey,
  generateHmacKey,
  generateKeyPair,
  type ImportKeyOptions,
  importKey,
  type KeyRing,
  type SigningKey,
  type VerifyingKey,
} from "./keys.ts";
