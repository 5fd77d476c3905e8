/**
 * Connection authentication: what an agent signs to prove it holds its key
 * (`authBytes`), making that proof (`proveAuth`), and the key file an agent
 * keeps its private key or secret in (`parseKeyFile`, `keyFileOf`).
 * docs/protocol.md (hello, auth) and docs/security.md describe the exchange.
 *
 * @module
 */
import type { SignatureAlgorithm } from "../envelope/envelope.ts";
import { fromBase64, toBase64 } from "../codec/base64.ts";
import { exportKey, generateHmacKey, generateKeyPair, importKey, type SigningKey } from "../codec/keys.ts";

/** The first line of every auth proof: names the protocol and its version, so a proof means nothing elsewhere. */
export const AUTH_CONTEXT = "ampbus-auth-v1";
/** Bytes of the nonce ampd sends in its hello reply. */
export const AUTH_NONCE_BYTES = 32;

const utf8 = new TextEncoder();

/**
 * The bytes an auth proof signs: the UTF-8 of
 * `"ampbus-auth-v1\n" + agent + "\n" + kid + "\n"`, then the 32 nonce bytes.
 *
 * @example
 * ```ts
 * import { authBytes } from "@ampbus/ampbus";
 *
 * const b = authBytes({ agent: "planner", kid: "p1", nonce: new Uint8Array(32) });
 * if (b.length !== "ampbus-auth-v1\nplanner\np1\n".length + 32) throw new Error(`${b.length} bytes`);
 * ```
 */
export function authBytes(o: { agent: string; kid: string; nonce: Uint8Array }): Uint8Array {
  const head = utf8.encode(`${AUTH_CONTEXT}\n${o.agent}\n${o.kid}\n`);
  const out = new Uint8Array(head.length + o.nonce.length);
  out.set(head);
  out.set(o.nonce, head.length);
  return out;
}

/**
 * Signs the proof for `auth`: Ed25519 (64 bytes) or HMAC-SHA256 (32 bytes)
 * over `authBytes()` with the key's kid.
 *
 * @example
 * ```ts
 * import { generateHmacKey, proveAuth } from "@ampbus/ampbus";
 *
 * const key = await generateHmacKey("tester-1");
 * const proof = await proveAuth(key, { agent: "tester", nonce: crypto.getRandomValues(new Uint8Array(32)) });
 * if (proof.length !== 32) throw new Error(`${proof.length} bytes`);
 * ```
 */
export async function proveAuth(key: SigningKey, o: { agent: string; nonce: Uint8Array }): Promise<Uint8Array> {
  const data = authBytes({ agent: o.agent, kid: key.kid, nonce: o.nonce });
  const alg = key.alg === "ed25519" ? { name: "Ed25519" } : { name: "HMAC" };
  return new Uint8Array(await crypto.subtle.sign(alg, key.key, data as BufferSource));
}

/** An agent's identity from its key file: its name and the key it signs with. */
export interface AgentKey {
  /** The agent's name. */
  agent: string;
  /** Its key, with the kid the keyring knows it by. */
  key: SigningKey;
}

/**
 * Reads an agent key file: JSON `{"agent", "kid", "alg": "ed25519",
 * "privateKey": <base64 32-byte seed>}` or `{"agent", "kid", "alg":
 * "hmac-sha256", "secret": <base64>}` (what `ampd keygen` writes). Throws
 * `TypeError` saying which field is wrong.
 *
 * @example
 * ```ts
 * import { parseKeyFile, toBase64 } from "@ampbus/ampbus";
 *
 * const text = JSON.stringify({ agent: "tester", kid: "tester-1", alg: "hmac-sha256", secret: toBase64(new Uint8Array(32).fill(9)) });
 * const { agent, key } = await parseKeyFile(text);
 * if (agent !== "tester" || key.kid !== "tester-1") throw new Error("wrong key file");
 * ```
 */
export async function parseKeyFile(text: string): Promise<AgentKey> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new TypeError(`a key file is JSON: ${(e as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new TypeError('a key file is a JSON object {"agent", "kid", "alg", "privateKey" or "secret"}');
  const f = v as Record<string, unknown>;
  for (const k of ["agent", "kid"]) {
    if (typeof f[k] !== "string" || f[k] === "" || (f[k] as string).length > 128) throw new TypeError(`key file: ${k} must be a string of 1 to 128 characters`);
  }
  const alg = f.alg;
  if (alg !== "ed25519" && alg !== "hmac-sha256") throw new TypeError(`key file: alg must be "ed25519" or "hmac-sha256" (was ${JSON.stringify(alg) ?? "missing"})`);
  const field = alg === "ed25519" ? "privateKey" : "secret";
  const raw = typeof f[field] === "string" ? fromBase64(f[field] as string) : undefined;
  if (raw === undefined) throw new TypeError(`key file: an ${alg} key file has ${field}, in base64`);
  if (alg === "ed25519" && raw.length !== 32) throw new TypeError(`key file: an Ed25519 privateKey is the 32-byte seed (this is ${raw.length} bytes)`);
  if (alg === "hmac-sha256" && (raw.length < 16 || raw.length > 1024)) throw new TypeError(`key file: an HMAC secret is 16 to 1024 bytes (this is ${raw.length})`);
  const key = await importKey({ alg, kid: f.kid as string, use: "sign", raw });
  return { agent: f.agent as string, key };
}

/**
 * Makes a new key for an agent: the key file text (secret: keep it with the
 * agent) and the keyring entry of the key (public for Ed25519; for HMAC it
 * holds the same secret, so the keyring must be kept as secret as the key file).
 *
 * @example
 * ```ts
 * import { Keyring, newAgentKey, parseKeyFile } from "@ampbus/ampbus";
 *
 * const made = await newAgentKey({ agent: "planner", kid: "planner-1" });
 * const { key } = await parseKeyFile(made.keyFile);
 * const ring = Keyring.from({ agents: { planner: { keys: [made.keyringKey] } } });
 * if (ring.keyOf(key.kid)?.agent !== "planner") throw new Error("the entry must name the key");
 * ```
 */
export async function newAgentKey(o: { agent: string; kid: string; alg?: SignatureAlgorithm }): Promise<{ keyFile: string; keyringKey: Record<string, string> }> {
  const alg = o.alg ?? "ed25519";
  if (alg === "hmac-sha256") {
    const secret = toBase64(await exportKey(await generateHmacKey(o.kid), "raw"));
    return {
      keyFile: JSON.stringify({ agent: o.agent, kid: o.kid, alg, secret }, null, 2) + "\n",
      keyringKey: { kid: o.kid, alg, secret },
    };
  }
  const pair = await generateKeyPair(o.kid);
  const privateKey = toBase64(await exportKey(pair.signingKey, "raw"));
  const publicKey = toBase64(await exportKey(pair.verifyingKey, "raw"));
  return {
    keyFile: JSON.stringify({ agent: o.agent, kid: o.kid, alg, privateKey }, null, 2) + "\n",
    keyringKey: { kid: o.kid, alg, publicKey },
  };
}
