/**
 * Who may watch the live view on an ampd with a keyring: an admin agent,
 * proven by its key on each `/ws/mirror` connection. ampd's first frame is
 * `{"auth": {"nonce": <base64 of 32 random bytes>}}`; the watcher answers
 * `{"auth": {"agent", "kid", "proof": <base64>}}`, the proof being the
 * Ed25519 signature or HMAC-SHA256 of the same auth bytes as the protocol's
 * `auth` op (sdk/trust/auth.ts) over this connection's nonce. One try per
 * connection. `MirrorRevoker` closes watchers whose agent a keyring reload
 * removed or changed. docs/live-view.md describes the exchange.
 *
 * @module
 */
import { fromBase64 } from "../../sdk/codec/base64.ts";
import { authBytes } from "../../sdk/trust/auth.ts";
import type { TrustPolicy } from "../../sdk/trust/policy.ts";
import { verifyWith } from "../trust.ts";

/** Codes of a refused or ended mirror authentication (the `code` of the error frame). */
export type MirrorAuthCode = "AUTH_REQUIRED" | "AUTH_FAILED" | "FORBIDDEN" | "HELLO_TIMEOUT" | "AUTH_REVOKED";

/** A refusal: sent as `{"error": {code, message}}`, then the socket closes. */
export class MirrorAuthError extends Error {
  readonly code: MirrorAuthCode;
  /** The agent the watcher claimed, when it named one (for logs). */
  readonly agent: string | undefined;
  /** What ampd logs: the reason, where the message the watcher gets does not say it. */
  readonly reason: string;

  constructor(code: MirrorAuthCode, message: string, agent?: string, reason?: string) {
    super(message);
    this.name = "MirrorAuthError";
    this.code = code;
    this.agent = agent;
    this.reason = reason ?? message;
  }
}

/** The agent a watcher proved to be, and what it was checked against. */
export interface MirrorIdentity {
  agent: string;
  kid: string;
  /** `keyring.fingerprintOf(agent)` when it authenticated: a reload that changes it closes the watcher. */
  fingerprint: string;
  /** The policy it was last checked against. */
  policy: TrustPolicy;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const name = (v: unknown): string | undefined => (typeof v === "string" && v.length >= 1 && v.length <= 128 ? v : undefined);

/** What a watcher must send first, for error messages. */
const ANSWER = '{"auth": {"agent": NAME, "kid": KID, "proof": BASE64}}';

/**
 * Checks a watcher's answer to `nonce` against the policy in force. Returns
 * the identity; throws `MirrorAuthError`: `AUTH_REQUIRED` (not an auth
 * answer), `AUTH_FAILED` (malformed, unknown agent or kid, a proof that does
 * not verify), `FORBIDDEN` (a proven agent that is not an admin). The proof
 * is checked before the admin flag, so a refusal tells nothing about an
 * agent to whoever does not hold its key.
 */
export function verifyMirrorAuth(trust: TrustPolicy, o: { nonce: Uint8Array; answer: unknown }): MirrorIdentity {
  const keyring = trust.keyring;
  if (keyring === undefined) throw new MirrorAuthError("AUTH_FAILED", "this ampd has no keyring: the live view needs no auth");
  const a = isMap(o.answer) ? o.answer.auth : undefined;
  if (!isMap(a)) {
    throw new MirrorAuthError("AUTH_REQUIRED", `this ampd has a keyring: the live view is for admin agents; the first message must be ${ANSWER}, signed with the agent's key over this connection's nonce`);
  }
  const agent = name(a.agent);
  const kid = name(a.kid);
  const proof = typeof a.proof === "string" ? fromBase64(a.proof) : undefined;
  if (agent === undefined || kid === undefined || proof === undefined) {
    throw new MirrorAuthError("AUTH_FAILED", `auth needs agent and kid (strings of 1 to 128 characters) and proof (base64): ${ANSWER}`, agent);
  }
  // One answer for an unknown agent, another agent's kid and a bad proof (as the protocol's auth gives),
  // so a guess tells nothing of which agents and kids exist; ampd logs which it was.
  const refuse = (reason: string) =>
    new MirrorAuthError(
      "AUTH_FAILED",
      `cannot authenticate as ${agent} with key ${JSON.stringify(kid)}: the keyring has no such agent or key of it, or the proof is not its signature of this connection's auth bytes`,
      agent,
      reason,
    );
  const entry = keyring.agents.get(agent);
  if (entry === undefined) throw refuse(`no agent ${JSON.stringify(agent)} in the keyring`);
  const key = keyring.keyOf(kid);
  if (key === undefined || key.agent !== agent) throw refuse(`agent ${agent} has no key ${JSON.stringify(kid)} in the keyring`);
  if (!verifyWith(key, authBytes({ agent, kid, nonce: o.nonce }), proof)) throw refuse(`the proof does not verify with key ${JSON.stringify(kid)} of ${agent}`);
  if (!entry.admin) {
    throw new MirrorAuthError("FORBIDDEN", `agent ${agent} is not an admin: only an agent with "admin": true in the keyring may watch the live view`, agent);
  }
  return { agent, kid, fingerprint: keyring.fingerprintOf(agent)!, policy: trust };
}

/**
 * Watchers authenticated under a keyring, re-checked whenever the policy in
 * force is no longer the one they were checked against (a SIGHUP reload
 * replaces `state.trust`): a watcher whose agent was removed or whose entry
 * changed (keys, permissions, admin) is handed to `revoke`, as the protocol
 * closes such connections with `AUTH_REVOKED`. `check()` costs one
 * comparison while nothing was reloaded; the mirror calls it before each
 * message, and a timer calls it so idle watchers close too.
 */
export class MirrorRevoker<W> {
  readonly #watching = new Map<W, MirrorIdentity>();
  readonly #current: () => TrustPolicy;
  readonly #revoke: (w: W, reason: string) => void;
  readonly #intervalMs: number;
  #checked: TrustPolicy | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(o: { current: () => TrustPolicy; revoke: (w: W, reason: string) => void; intervalMs?: number }) {
    this.#current = o.current;
    this.#revoke = o.revoke;
    this.#intervalMs = o.intervalMs ?? 250;
  }

  /** Watchers tracked. */
  get size(): number {
    return this.#watching.size;
  }

  add(w: W, id: MirrorIdentity): void {
    this.#watching.set(w, id);
    if (this.#timer === undefined) {
      const t = setInterval(() => this.check(), this.#intervalMs);
      (t as { unref?: () => void }).unref?.();
      this.#timer = t;
    }
  }

  delete(w: W): void {
    this.#watching.delete(w);
    if (this.#watching.size === 0) this.stop();
  }

  /** Stops the timer (the watchers stay tracked until deleted). */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Revokes the watchers the policy in force no longer admits as they were; returns how many. */
  check(): number {
    const now = this.#current();
    if (now === this.#checked) return 0;
    let revoked = 0;
    for (const [w, id] of this.#watching) {
      if (id.policy === now) continue;
      const fp = now.keyring?.fingerprintOf(id.agent);
      if (fp !== undefined && fp === id.fingerprint) {
        id.policy = now;
        continue;
      }
      this.#watching.delete(w);
      revoked++;
      const why = fp === undefined ? `agent ${id.agent} is no longer in the keyring` : `the keyring entry of agent ${id.agent} changed`;
      this.#revoke(w, `${why}; reconnect to authenticate again`);
    }
    this.#checked = now;
    if (this.#watching.size === 0) this.stop();
    return revoked;
  }
}
