/**
 * ampd's side of the trust policy: the `auth` op, which op needs which
 * access, the checks of `add` (permission, sender, signature, tier, stream
 * requirements), and the keyring reload. Crypto here is `node:crypto`,
 * synchronous, so that an add that is verified is stored in the order it
 * arrived, with the adds around it. docs/security.md describes the rules.
 *
 * @module
 */
import type { KeyObject } from "node:crypto";
import { encodeValid } from "../sdk/codec/value.ts";
import { unpackInflated } from "../sdk/codec/compress.ts";
import { MessageScanner } from "../sdk/codec/scan.ts";
import type { AISPMessage } from "../sdk/envelope/envelope.ts";
import { CompressionError } from "../sdk/errors.ts";
import { AUTH_NONCE_BYTES, authBytes } from "../sdk/trust/auth.ts";
import type { KeyringKey } from "../sdk/trust/keyring.ts";
import { type Access, AgentGrant, type MessageFacts, signatureMismatch, type TrustPolicy } from "../sdk/trust/policy.ts";
import { binArg, type OpContext, ProtocolError, type Request, strArg } from "./protocol.ts";

const publicKeys = new WeakMap<KeyringKey, KeyObject>();

// node:crypto and node:zlib load when first needed (a signed message, a keyring, a
// compressed message), synchronously, so that start-up pays for neither.
let crypto: typeof import("node:crypto") | undefined;
let zlib: typeof import("node:zlib") | undefined;
const nodeCrypto = () => crypto ??= process.getBuiltinModule("node:crypto");
const nodeZlib = () => zlib ??= process.getBuiltinModule("node:zlib");

/** True when `sig` is `key`'s signature (Ed25519) or MAC (HMAC-SHA256) of `data`. */
export function verifyWith(key: KeyringKey, data: Uint8Array, sig: Uint8Array): boolean {
  if (key.alg === "hmac-sha256") {
    if (sig.length !== 32) return false;
    const { createHmac, timingSafeEqual } = nodeCrypto();
    const mac = createHmac("sha256", key.bytes).update(data).digest();
    return timingSafeEqual(mac, sig);
  }
  if (sig.length !== 64) return false;
  let k = publicKeys.get(key);
  if (k === undefined) {
    k = nodeCrypto().createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(key.bytes).toString("base64url") }, format: "jwk" });
    publicKeys.set(key, k);
  }
  return nodeCrypto().verify(null, data, k, sig);
}

/** The message with `spec` and `payload` back out of `compressed`, inflated synchronously. */
function unpack(msg: AISPMessage, maxSize: number): AISPMessage | Promise<never> {
  const packed = msg.compressed!;
  if (packed.size > maxSize) {
    throw new CompressionError("DECOMPRESSION_LIMIT", `compressed.size ${packed.size} is over the limit of ${maxSize} bytes; refused`);
  }
  let raw: Uint8Array;
  try {
    const opts = { maxOutputLength: Math.max(1, packed.size) };
    const z = nodeZlib();
    raw = packed.alg === "gzip" ? z.gunzipSync(packed.data, opts) : z.inflateRawSync(packed.data, opts);
  } catch (e) {
    throw new CompressionError("CORRUPT_COMPRESSED", `compressed data does not inflate to its ${packed.size} bytes: ${(e as Error).message}`, { cause: e });
  }
  const body = unpackInflated(raw, packed);
  const { compressed: _c, ...rest } = msg;
  const out: AISPMessage = { ...rest };
  if (body.spec !== undefined) out.spec = body.spec;
  if (body.payload !== undefined) out.payload = body.payload;
  // What was inside `compressed` is held to the same schema (the rest was scanned already).
  const valid = bodyScanner.scanBody(raw) !== undefined && (out.spec === undefined || out.tier !== undefined);
  return valid ? out : invalid(out);
}

const bodyScanner = new MessageScanner();

/** The `ValidationError` of an unpacked message that is not valid, every issue named (loads the schema). */
async function invalid(msg: AISPMessage): Promise<never> {
  const { assertValid } = await import("../sdk/envelope/schema.ts");
  assertValid(msg);
  throw new Error("ampd's scan of a compressed body refused what the schema accepts; please report it with the message's bytes");
}

/**
 * Every check of an `add` before the message is stored; throws the refusal
 * (`FORBIDDEN`, `BAD_SIGNATURE`, `TIER_MISMATCH`, `TIER_TOO_LOW`,
 * `INVALID_MESSAGE`). Synchronous, but for a compressed message whose
 * inflated content is invalid: that refusal comes as a rejected promise.
 */
export function admitAdd(s: OpContext, o: { stream: string; msg: AISPMessage }): Promise<never> | undefined {
  const { stream, msg } = o;
  const policy = s.state.trust;
  const a = policy.admit(s.grant, { stream, msg });
  const view = a.unpack ? unpack(msg, s.state.config.maxFrame) : msg;
  if (view instanceof Promise) return view;
  policy.checkSpec(stream, { msg: view, requirements: a.requirements });
  if (a.key !== undefined && !verifyWith(a.key, encodeValid(view, false), msg.sig!.value)) {
    throw signatureMismatch(msg, stream);
  }
  return undefined;
}

/** The checks of an `add` of an unsigned, uncompressed message, on the fields ampd's scan yields (its spec decoded). */
export function admitScanned(s: OpContext, o: { stream: string; msg: MessageFacts }): void {
  const { stream, msg } = o;
  const policy = s.state.trust;
  const a = policy.admit(s.grant, { stream, msg });
  policy.checkSpec(stream, { msg, requirements: a.requirements });
}

/** What each op needs of an authenticated agent, and the streams it names. `undefined`: nothing beyond authentication. */
const OP_ACCESS: Record<string, Access | undefined> = {
  add: "publish",
  read: "subscribe",
  subscribe: "subscribe",
  "group.create": "subscribe",
  "group.read": "subscribe",
  ack: "subscribe",
  nack: "subscribe",
  extend: "subscribe",
  pending: "subscribe",
  claim: "subscribe",
  "group.info": "subscribe",
  info: "subscribe", // with a stream; without one it is ampd's own counters
  trim: "admin",
  "dlq.replay": "admin",
  "stream.info": "subscribe",
  "stream.purge": "admin",
  "stream.delete": "admin",
  "stream.retention": "admin",
};

/** Throws `FORBIDDEN` when the session's agent may not run `op` on the streams it names. */
export function authorizeOp(s: OpContext, op: string, req: Request): void {
  const grant = s.grant;
  const access = OP_ACCESS[op];
  if (grant === undefined || access === undefined) return;
  if (op === "read") {
    const streams = req.streams;
    if (typeof streams !== "object" || streams === null) return; // the op says what is wrong
    for (const stream of Object.keys(streams)) grant.check(op, access, stream);
    return;
  }
  const stream = req.stream;
  if (typeof stream === "string") grant.check(op, access, stream);
  else if (access === "admin") grant.check(op, access, "");
}

/** `auth`: proves the agent named in `hello` holds the key `kid`, by its signature over the nonce. */
export function auth(s: OpContext, req: Request) {
  const keyring = s.state.trust.keyring;
  const kid = strArg(req, { field: "kid", maxLen: 128 })!;
  const proof = binArg(req, "proof", "the signature of the auth bytes");
  if (keyring === undefined) throw new ProtocolError("BAD_REQUEST", "this ampd has no keyring: hello alone opens the connection");
  if (s.grant !== undefined) throw new ProtocolError("BAD_REQUEST", `this connection is already authenticated as ${s.grant.agent.name}`);
  const pending = s.pendingAuth;
  if (pending === undefined) throw new ProtocolError("BAD_REQUEST", "send hello before auth");
  s.pendingAuth = undefined; // one nonce, one try: the session closes after a refusal
  const key = keyring.keyOf(kid);
  const agent = keyring.agents.get(pending.agent);
  // One answer for every failure, so that a guess tells nothing of which agents and kids exist;
  // the reason is logged by ampd (the cause).
  const refuse = (why: string) =>
    new ProtocolError(
      "AUTH_FAILED",
      `cannot authenticate as ${pending.agent} with key ${JSON.stringify(kid)}: the keyring has no such agent or key of it, or the proof is not its signature of this connection's auth bytes`,
      { cause: new Error(why) },
    );
  if (agent === undefined) throw refuse(`no agent ${JSON.stringify(pending.agent)} in the keyring`);
  if (key === undefined || key.agent !== pending.agent) throw refuse(`agent ${pending.agent} has no key ${JSON.stringify(kid)} in the keyring`);
  if (!verifyWith(key, authBytes({ agent: pending.agent, kid, nonce: pending.nonce }), proof)) {
    throw refuse(`the proof does not verify with key ${JSON.stringify(kid)} of ${pending.agent}`);
  }
  s.grant = new AgentGrant(agent, kid);
  s.state.log.debug(`client ${s.id} is agent ${agent.name} (key ${kid})`);
  return {
    agent: agent.name,
    kid,
    admin: agent.admin,
    publish: agent.publish.allow.map(String),
    subscribe: agent.subscribe.allow.map(String),
  };
}

/** A fresh nonce for a hello on an ampd with a keyring. */
export function newNonce(): Uint8Array {
  return new Uint8Array(nodeCrypto().randomBytes(AUTH_NONCE_BYTES));
}

/**
 * Applies a new policy to the open connections: a connection whose agent
 * was removed, or whose agent's keys or permissions changed, is closed
 * (`AUTH_REVOKED`), so that nothing it started under the old rules goes on;
 * every other connection keeps going under the new policy. Returns how many
 * were closed.
 */
export function applyPolicy(sessions: Iterable<OpContext & { revoke(reason: string): void }>, policies: { before: TrustPolicy; after: TrustPolicy }): number {
  const { before, after } = policies;
  let closed = 0;
  for (const s of sessions) {
    const grant = s.grant;
    if (grant === undefined) continue;
    const name = grant.agent.name;
    const was = before.keyring?.fingerprintOf(name);
    const now = after.keyring?.fingerprintOf(name);
    if (now !== undefined && now === was) {
      s.grant = new AgentGrant(after.keyring!.agents.get(name)!, grant.kid);
      continue;
    }
    const why = now === undefined ? `agent ${name} is no longer in the keyring` : `the keyring entry of agent ${name} changed`;
    s.revoke(`${why}; reconnect to authenticate again`);
    closed++;
  }
  return closed;
}
