/**
 * Signing keys: generating, importing and exporting Ed25519 key pairs and
 * HMAC secrets (WebCrypto). `sign.ts` signs and verifies messages with them.
 *
 * @module
 */
import type { SignatureAlgorithm } from "../envelope/envelope.ts";

/**
 * A key that signs: an Ed25519 private key or an HMAC secret, with its key id.
 *
 * @example
 * ```ts
 * import { generateKeyPair, type SigningKey } from "@ampbus/ampbus";
 *
 * const key: SigningKey = (await generateKeyPair("coder-2026")).signingKey;
 * if (key.key.type !== "private" || key.kid !== "coder-2026") throw new Error("not a private key");
 * ```
 */
export interface SigningKey {
  /** The algorithm the key signs with; written into `sig.alg`. */
  alg: SignatureAlgorithm;
  /** Key id, written into `sig.kid` so the verifier can find its key. */
  kid: string;
  /** The WebCrypto key. */
  key: CryptoKey;
}

/**
 * A key that verifies: an Ed25519 public key or an HMAC secret, with its key id.
 *
 * @example
 * ```ts
 * import { generateKeyPair, type VerifyingKey } from "@ampbus/ampbus";
 *
 * const key: VerifyingKey = (await generateKeyPair("coder-2026")).verifyingKey;
 * if (key.key.type !== "public" || key.alg !== "ed25519") throw new Error("not a public key");
 * ```
 */
export interface VerifyingKey {
  /** The algorithm the key verifies; must match the signature's `alg`. */
  alg: SignatureAlgorithm;
  /** Key id: the `sig.kid` this key answers to. */
  kid: string;
  /** The WebCrypto key. */
  key: CryptoKey;
}

/**
 * Where `verify()` finds the key for a `kid`: a list, a map by kid, or a
 * lookup function (which may be async, to fetch keys from a store).
 *
 * @example
 * ```ts
 * import { createMessage, generateHmacKey, type KeyRing, sign, verify } from "@ampbus/ampbus";
 *
 * const team = await generateHmacKey("team");
 * const byKid: KeyRing = (kid) => (kid === "team" ? team : undefined);
 * const signed = await sign(createMessage({ type: "event", sender: "a", receiver: "b" }), team);
 * if (!(await verify(signed, byKid)) || !(await verify(signed, { team }))) throw new Error("should verify");
 * ```
 */
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
 * import { createMessage, generateKeyPair, sign, verify } from "@ampbus/ampbus";
 *
 * const { signingKey, verifyingKey } = await generateKeyPair("coder-2026");
 * const signed = await sign(createMessage({ type: "event", sender: "coder", receiver: "tester" }), signingKey);
 * if (!(await verify(signed, [verifyingKey]))) throw new Error("should verify");
 * ```
 */
export async function generateKeyPair(kid: string): Promise<{ signingKey: SigningKey; verifyingKey: VerifyingKey }> {
  const pair = (await crypto.subtle.generateKey(ED25519, true, ["sign", "verify"])) as CryptoKeyPair;
  return {
    signingKey: { alg: "ed25519", kid, key: pair.privateKey },
    verifyingKey: { alg: "ed25519", kid, key: pair.publicKey },
  };
}

/**
 * Generates a random 32-byte HMAC-SHA256 secret for `kid`; it both signs and verifies.
 *
 * @example
 * ```ts
 * import { createMessage, generateHmacKey, sign, verify } from "@ampbus/ampbus";
 *
 * const secret = await generateHmacKey("team");
 * const signed = await sign(createMessage({ type: "event", sender: "a", receiver: "b" }), secret);
 * if (!(await verify(signed, [secret]))) throw new Error("should verify");
 * ```
 */
export async function generateHmacKey(kid: string): Promise<SigningKey & VerifyingKey> {
  const key = await crypto.subtle.generateKey({ ...HMAC, length: 256 }, true, ["sign", "verify"]);
  return { alg: "hmac-sha256", kid, key: key as CryptoKey };
}

/**
 * What `importKey()` takes: exactly one of `jwk` or `raw`.
 *
 * @example
 * ```ts
 * import { importKey, type ImportKeyOptions } from "@ampbus/ampbus";
 *
 * const options: ImportKeyOptions = { alg: "hmac-sha256", kid: "team", use: "verify", raw: new Uint8Array(32).fill(7) };
 * if ((await importKey(options)).kid !== "team") throw new Error("kid lost");
 * ```
 */
export interface ImportKeyOptions {
  /** The algorithm the key is for. */
  alg: SignatureAlgorithm;
  /** The key id to give the key. */
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
 * Throws `TypeError` for a raw Ed25519 key that is not 32 bytes, an unknown
 * algorithm, or neither or both of `jwk` and `raw`.
 *
 * @example
 * ```ts
 * import { exportKey, generateKeyPair, importKey } from "@ampbus/ampbus";
 *
 * const { signingKey } = await generateKeyPair("coder");
 * const seed = await exportKey(signingKey, "raw"); // 32 bytes: keep it secret
 * const again = await importKey({ alg: "ed25519", kid: "coder", use: "sign", raw: seed });
 * if (again.key.type !== "private") throw new Error("not a private key");
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

/**
 * Exports a key as a JWK (an Ed25519 private key exports as its 32-byte seed with `"raw"`).
 *
 * @example
 * ```ts
 * import { exportKey, generateKeyPair } from "@ampbus/ampbus";
 *
 * const { verifyingKey } = await generateKeyPair("coder");
 * const jwk = await exportKey(verifyingKey, "jwk");
 * if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519") throw new Error(JSON.stringify(jwk));
 * ```
 */
export async function exportKey(k: SigningKey | VerifyingKey, format: "jwk"): Promise<JsonWebKey>;
/**
 * Exports a key as raw bytes: an Ed25519 public key or private seed (32
 * bytes each), or an HMAC secret.
 *
 * @example
 * ```ts
 * import { exportKey, generateHmacKey } from "@ampbus/ampbus";
 *
 * const secret = await exportKey(await generateHmacKey("team"), "raw");
 * if (secret.length !== 32) throw new Error(`secret is ${secret.length} bytes`);
 * ```
 */
export async function exportKey(k: SigningKey | VerifyingKey, format: "raw"): Promise<Uint8Array>;
export async function exportKey(k: SigningKey | VerifyingKey, format: "jwk" | "raw"): Promise<JsonWebKey | Uint8Array> {
  if (format === "jwk") return await crypto.subtle.exportKey("jwk", k.key);
  if (k.alg === "ed25519" && k.key.type === "private") {
    const der = new Uint8Array(await crypto.subtle.exportKey("pkcs8", k.key));
    return der.slice(der.length - 32);
  }
  return new Uint8Array(await crypto.subtle.exportKey("raw", k.key));
}

/** The WebCrypto algorithm of a signature algorithm. */
export function algorithmOf(alg: SignatureAlgorithm): typeof ED25519 | typeof HMAC {
  return alg === "ed25519" ? ED25519 : HMAC;
}
