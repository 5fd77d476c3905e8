/**
 * The trust policy for a bus in this process (`createLocalBus()`): the same
 * rules and refusals as ampd, with WebCrypto (which is asynchronous) in
 * place of ampd's synchronous `node:crypto`.
 *
 * @module
 */
import type { AISPMessage } from "../envelope/envelope.ts";
import { decompressMessage } from "../codec/compress_message.ts";
import { signedBytes, type SigningKey } from "../codec/sign.ts";
import { BusError } from "../errors.ts";
import { authBytes, proveAuth } from "./auth.ts";
import type { KeyringKey } from "./keyring.ts";
import { type Access, AgentGrant, signatureMismatch, type TrustPolicy } from "./policy.ts";

const imported = new WeakMap<KeyringKey, Promise<CryptoKey>>();

function cryptoKeyOf(key: KeyringKey): Promise<CryptoKey> {
  let k = imported.get(key);
  if (k === undefined) {
    k = key.alg === "ed25519"
      ? crypto.subtle.importKey("raw", key.bytes as BufferSource, { name: "Ed25519" }, false, ["verify"])
      : crypto.subtle.importKey("raw", key.bytes as BufferSource, { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    imported.set(key, k);
  }
  return k;
}

/** True when `sig` is `key`'s signature or MAC of `data` (WebCrypto). */
export async function verifyWithKey(key: KeyringKey, data: Uint8Array, sig: Uint8Array): Promise<boolean> {
  const alg = key.alg === "ed25519" ? { name: "Ed25519" } : { name: "HMAC" };
  try {
    return await crypto.subtle.verify(alg, await cryptoKeyOf(key), sig as BufferSource, data as BufferSource);
  } catch {
    return false;
  }
}

/**
 * One in-process client's view of a trust policy: who it is (proven with
 * its key, as `auth` does on ampd) and the checks of every request.
 *
 * @example
 * ```ts
 * import { generateHmacKey, Keyring, TrustGate, TrustPolicy, exportKey, toBase64 } from "@ampbus/ampbus";
 *
 * const key = await generateHmacKey("tester-1");
 * const secret = toBase64(await exportKey(key, "raw"));
 * const keyring = Keyring.from({ agents: { tester: { keys: [{ kid: "tester-1", alg: "hmac-sha256", secret }] } } });
 * const gate = new TrustGate(new TrustPolicy({ keyring }), { agent: "tester", key });
 * await gate.authorize("read", { access: "subscribe", streams: ["inbox.tester"] }); // its own inbox
 * ```
 */
export class TrustGate {
  /** The policy the checks apply. */
  readonly policy: TrustPolicy;
  readonly #agent: string | undefined;
  readonly #key: SigningKey | undefined;
  #grant: Promise<AgentGrant | undefined> | undefined;

  /** A gate of `policy` for the client `identity.agent`, proven with `identity.key`. */
  constructor(policy: TrustPolicy, identity: { agent?: string; key?: SigningKey } = {}) {
    this.policy = policy;
    this.#agent = identity.agent;
    this.#key = identity.key;
  }

  /** The agent's grant, proven once (`AUTH_REQUIRED` or `AUTH_FAILED` as on ampd); undefined without a keyring. */
  grant(): Promise<AgentGrant | undefined> {
    this.#grant ??= this.#authenticate();
    return this.#grant;
  }

  async #authenticate(): Promise<AgentGrant | undefined> {
    const keyring = this.policy.keyring;
    if (keyring === undefined) return undefined;
    const name = this.#agent;
    const key = this.#key;
    if (name === undefined || key === undefined) {
      throw new BusError("AUTH_REQUIRED", "this bus has a keyring: create it as an agent of it, with its key (createLocalBus({ keyring, agent, key }))");
    }
    const agent = keyring.agents.get(name);
    const entry = keyring.keyOf(key.kid);
    if (agent === undefined) throw new BusError("AUTH_FAILED", `no agent ${JSON.stringify(name)} in the keyring`);
    if (entry === undefined || entry.agent !== name) throw new BusError("AUTH_FAILED", `agent ${name} has no key ${JSON.stringify(key.kid)} in the keyring`);
    const nonce = crypto.getRandomValues(new Uint8Array(32));
    const proof = await proveAuth(key, { agent: name, nonce });
    if (!(await verifyWithKey(entry, authBytes({ agent: name, kid: key.kid, nonce }), proof))) {
      throw new BusError("AUTH_FAILED", `the key given for ${name} is not key ${JSON.stringify(key.kid)} of the keyring`);
    }
    return new AgentGrant(agent, key.kid);
  }

  /** Throws `FORBIDDEN` when the agent may not run `op` on these streams (admin ops name none). */
  async authorize(op: string, need: { access: Access; streams: readonly string[] }): Promise<void> {
    const grant = await this.grant();
    if (grant === undefined) return;
    if (need.streams.length === 0) grant.check(op, need.access, "");
    for (const s of need.streams) grant.check(op, need.access, s);
  }

  /** Every check of an `add`, as ampd makes them (`FORBIDDEN`, `BAD_SIGNATURE`, `TIER_MISMATCH`, `TIER_TOO_LOW`, `INVALID_MESSAGE`). */
  async admitAdd(stream: string, msg: AISPMessage): Promise<void> {
    const a = this.policy.admit(await this.grant(), { stream, msg });
    const view = a.unpack ? await decompressMessage(msg) : msg;
    this.policy.checkSpec(stream, { msg: view, requirements: a.requirements });
    if (a.key !== undefined && !(await verifyWithKey(a.key, await signedBytes(view), msg.sig!.value))) {
      throw signatureMismatch(msg, stream);
    }
  }
}
