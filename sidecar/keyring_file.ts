/**
 * The keyring file of `ampd --keyring`: read at start-up, read again on
 * SIGHUP. A file that does not parse or check is refused with the line and
 * field that are wrong, and the keyring in force stays.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { TIERS, type QualityTier } from "../sdk/envelope/envelope.ts";
import { Keyring } from "../sdk/trust/keyring.ts";
import { type TrustOptions, TrustPolicy } from "../sdk/trust/policy.ts";
import { StreamPattern } from "../sdk/trust/subject.ts";
import { UsageError } from "./cli/args.ts";
import type { Logger } from "./log.ts";
import type { ServerState } from "./server_state.ts";
import type { Session } from "./session.ts";
import { applyPolicy } from "./trust.ts";

/** The trust flags of ampd, as read from the command line. */
export interface TrustFlags {
  keyringPath?: string;
  requireSig: boolean;
  minTier: [string, QualityTier][];
  requireSnapSha: string[];
  /** --spec-syntax: the patterns of PATTERN=reject. */
  checkSpecSyntax: string[];
}

function pattern(flag: string, text: string): string {
  try {
    StreamPattern.parse(text);
  } catch (e) {
    throw new UsageError(`--${flag}: ${(e as Error).message}`);
  }
  return text;
}

/** Reads `--keyring`, `--require-sig`, `--min-tier`, `--require-snap-sha` and `--spec-syntax`; throws `UsageError`. */
export function trustFlags(get: (flag: string) => string | undefined, has: (flag: string) => boolean): TrustFlags {
  const keyringPath = get("keyring");
  if (keyringPath === "") throw new UsageError("--keyring must not be empty");
  const requireSig = has("require-sig");
  if (requireSig && keyringPath === undefined) throw new UsageError("--require-sig needs --keyring: the agents' keys are what signatures are verified with");
  const items = (text: string | undefined) => (text ?? "").split(",").map((x) => x.trim()).filter((x) => x !== "");
  const minTier: [string, QualityTier][] = items(get("min-tier")).map((item) => {
    const at = item.lastIndexOf("=");
    const tier = item.slice(at + 1);
    if (at <= 0 || !(TIERS as readonly string[]).includes(tier)) {
      throw new UsageError(`--min-tier: each item is PATTERN=TIER with TIER one of ${TIERS.join(", ")} (was ${JSON.stringify(item)})`);
    }
    return [pattern("min-tier", item.slice(0, at)), tier as QualityTier];
  });
  const requireSnapSha = items(get("require-snap-sha")).map((p) => pattern("require-snap-sha", p));
  const checkSpecSyntax = items(get("spec-syntax")).map((item) => {
    const at = item.lastIndexOf("=");
    if (at <= 0 || item.slice(at + 1) !== "reject") {
      throw new UsageError(`--spec-syntax: each item is PATTERN=reject, such as 'inbox.*=reject' (was ${JSON.stringify(item)})`);
    }
    return pattern("spec-syntax", item.slice(0, at));
  });
  return { keyringPath, requireSig, minTier, requireSnapSha, checkSpecSyntax };
}

function options(flags: TrustFlags, keyring: Keyring | undefined): TrustOptions {
  return { keyring, requireSig: flags.requireSig ? [">"] : [], minTier: flags.minTier, requireSnapSha: flags.requireSnapSha, checkSpecSyntax: flags.checkSpecSyntax };
}

/** The policy at start-up; throws `KeyringError` (or a file error) when `--keyring` cannot be used. */
export function loadTrust(flags: TrustFlags): TrustPolicy {
  const keyring = flags.keyringPath === undefined ? undefined : Keyring.parse(readFileSync(flags.keyringPath, "utf8"));
  return new TrustPolicy(options(flags, keyring));
}

/** A one-line summary of the policy for the start-up log. */
export function describeTrust(p: TrustPolicy, flags: TrustFlags): string {
  const parts: string[] = [];
  if (p.keyring !== undefined) parts.push(`keyring ${flags.keyringPath}: ${p.keyring.agents.size} agents, every connection authenticates`);
  if (flags.requireSig) parts.push("signatures required");
  if (flags.minTier.length > 0) parts.push(`least tiers ${flags.minTier.map(([s, t]) => `${s}=${t}`).join(",")}`);
  if (flags.requireSnapSha.length > 0) parts.push(`snapSha required on ${flags.requireSnapSha.join(",")}`);
  if (flags.checkSpecSyntax.length > 0) parts.push(`spec syntax checked on ${flags.checkSpecSyntax.join(",")}`);
  return parts.join("; ");
}

/**
 * Reads the keyring again (SIGHUP). On success the new policy applies to
 * every request from now on and connections of agents that were removed or
 * changed are closed; on failure the old keyring stays. Returns whether it loaded.
 */
export function reloadKeyring(state: ServerState, o: { flags: TrustFlags; log: Logger }): boolean {
  const { flags, log } = o;
  if (flags.keyringPath === undefined) {
    log.info("SIGHUP: no --keyring to reload");
    return false;
  }
  let next: TrustPolicy;
  try {
    next = loadTrust(flags);
  } catch (e) {
    log.error(`SIGHUP: keyring ${flags.keyringPath} refused, keeping the one loaded: ${(e as Error).message}`);
    return false;
  }
  const before = state.trust;
  state.trust = next;
  const closed = applyPolicy(state.connections() as Iterable<Session>, { before, after: next });
  log.info(`SIGHUP: keyring ${flags.keyringPath} reloaded: ${next.keyring!.agents.size} agents${closed > 0 ? `; closed ${closed} connections of removed or changed agents` : ""}`);
  return true;
}
