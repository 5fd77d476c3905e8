/**
 * What all of ampd's sessions share: configuration, the backend, counters,
 * and the shutdown flag.
 *
 * @module
 */
import type { StreamBackend, Retention } from "../sdk/backend/types.ts";
import type { AISPMessage } from "../sdk/envelope/envelope.ts";
import type { Logger } from "./log.ts";
import { TrustPolicy } from "../sdk/trust/policy.ts";
import { Metrics } from "./metrics.ts";
import { tapAdds } from "./dead_letter_tap.ts";
import { decodeValue, makeDecoder } from "../sdk/codec/value.ts";

/** A message `add` stored (not a duplicate): what `ServerState.onAdded` and the live mirror get. */
export interface AddedEntry {
  /** The stream it was stored in. */
  stream: string;
  /** Its entry id there. */
  entryId: string;
  /** The decoded message. */
  msg: AISPMessage;
  /** The stored bytes (not a view of a reused buffer). */
  bytes: Uint8Array;
}
import { type DeliveryPolicy, GroupReader } from "../sdk/backend/group_reader.ts";

/** ampd's settings, after flags and environment were read. */
export interface ServerConfig {
  /** Largest frame accepted, in bytes. */
  maxFrame: number;
  /** When set, `hello` must carry this token. */
  token?: string;
  /** ampd's version, reported by `hello` and `info`. */
  version: string;
  /** Consumer-group delivery policy (claim timeout, max deliveries). */
  delivery?: DeliveryPolicy;
  /** A connection that has not sent a good `hello` this long after opening is closed (ms). Defaults to 5000. */
  helloTimeoutMs?: number;
  /** A frame must arrive whole this long after its first byte (ms). Defaults to 10 000. */
  frameTimeoutMs?: number;
  /** Memory all connections together may hold for frames not yet whole, in bytes. Defaults to 256 MiB. */
  partialBudget?: number;
  /** Identities, permissions and stream requirements. Defaults to none: no identities, every spec still graded. */
  trust?: TrustPolicy;
}

/** Default of `ServerConfig.helloTimeoutMs`: 5 s. */
export const DEFAULT_HELLO_TIMEOUT_MS = 5000;
/** Default of `ServerConfig.frameTimeoutMs`: 10 s. */
export const DEFAULT_FRAME_TIMEOUT_MS = 10_000;
/** Default of `ServerConfig.partialBudget`: 256 MiB. */
export const DEFAULT_PARTIAL_BUDGET = 256 * 1024 * 1024;

/** What the deadline sweep asks of a connection. */
export interface Swept {
  /** Closes the connection when one of its deadlines passed. */
  sweep(now: number): void;
  /** Bytes of replies and pushes waiting for the peer (`/metrics`). */
  outboxBytes?(): number;
}

/** Failed `hello`s from one peer within this window are counted together (ms). */
const AUTH_WINDOW_MS = 60_000;
/** From this many failures in the window on, a peer is reported as guessing. */
const AUTH_REPORT_AFTER = 5;

/** Counters reported by `info`. */
export interface Counters {
  connections: number;
  connectionsTotal: number;
  requests: number;
  errors: number;
  badFrames: number;
  badRequests: number;
  added: number;
  duplicates: number;
  pushed: number;
  /** `hello`s and `auth`s refused: a missing or wrong token, an unknown agent or key, a proof that does not verify. */
  authFailures: number;
  /** Requests refused with `FORBIDDEN`. */
  forbidden: number;
  /** Adds refused with `BAD_SIGNATURE`. */
  badSignatures: number;
  /** Adds refused with `TIER_MISMATCH` or `TIER_TOO_LOW`. */
  tierRefusals: number;
  /** Connections closed because `hello` or a frame did not arrive in time. */
  timeouts: number;
  /** Connections closed because partly received frames were over the memory budget. */
  overBudget: number;
}

/** State shared by every session of one ampd. */
export class ServerState {
  readonly config: ServerConfig;
  readonly backend: StreamBackend;
  readonly log: Logger;
  readonly startedAt = Date.now();
  readonly counters: Counters = {
    connections: 0,
    connectionsTotal: 0,
    requests: 0,
    errors: 0,
    badFrames: 0,
    badRequests: 0,
    added: 0,
    duplicates: 0,
    pushed: 0,
    authFailures: 0,
    forbidden: 0,
    badSignatures: 0,
    tierRefusals: 0,
    timeouts: 0,
    overBudget: 0,
  };
  /** Deliveries, acks, nacks and backend round trips, for `/metrics`. */
  readonly metrics = new Metrics();
  /** Bytes held by all connections for frames not yet whole (and frames waiting behind back-pressure). */
  partialBytes = 0;
  /** Delivers group entries under the policy (claims, dead letters, expiry). */
  readonly groups: GroupReader;
  subscriptions = 0;
  shuttingDown = false;
  /** Called after `add` stored a message (not for duplicates), with the stored bytes: the live mirror. */
  onAdded: ((added: AddedEntry) => void) | undefined;
  inFlight = 0;
  /** The trust policy in force; `ampd` replaces it when the keyring is reloaded. */
  trust: TrustPolicy;
  /** The retention of streams without their own, which ampd's retention sweep trims by (`--retain`, `--retention-policy`). */
  retention: Retention | undefined;
  #idleWaiters: (() => void)[] = [];
  #swept = new Set<Swept>();
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #authFailures = new Map<string, { since: number; count: number }>();

  constructor(config: ServerConfig, backend: StreamBackend, log: Logger) {
    this.config = config;
    this.backend = backend;
    this.log = log;
    // Dead letters the reader writes reach onAdded (the live mirror) as client adds do.
    let decoder: ReturnType<typeof makeDecoder> | undefined;
    const tapped = tapAdds(backend, (stream, entry, r) => {
      const onAdded = this.onAdded;
      if (onAdded === undefined) return;
      decoder ??= makeDecoder({ maxBytes: config.maxFrame });
      onAdded({ stream, entryId: r.entryId, msg: decodeValue(entry.msg, decoder) as AISPMessage, bytes: entry.msg });
    });
    this.groups = new GroupReader(tapped, config.delivery);
    this.trust = config.trust ?? new TrustPolicy();
  }

  /** Every open connection (each one's deadlines are watched). */
  connections(): Iterable<Swept> {
    return this.#swept;
  }

  /** `config.helloTimeoutMs` with its default. */
  get helloTimeoutMs(): number {
    return this.config.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS;
  }

  /** `config.frameTimeoutMs` with its default. */
  get frameTimeoutMs(): number {
    return this.config.frameTimeoutMs ?? DEFAULT_FRAME_TIMEOUT_MS;
  }

  /** `config.partialBudget` with its default. */
  get partialBudget(): number {
    return this.config.partialBudget ?? DEFAULT_PARTIAL_BUDGET;
  }

  /**
   * Watches a connection's deadlines (hello, frame) until `unwatch()`. One
   * timer, four times a second, serves every connection, so a deadline costs
   * nothing on the data path.
   */
  watch(s: Swept): void {
    this.#swept.add(s);
    if (this.#sweeper === undefined) {
      const t = setInterval(() => {
        const now = Date.now();
        for (const c of this.#swept) c.sweep(now);
      }, 250);
      (t as { unref?: () => void }).unref?.();
      this.#sweeper = t;
    }
  }

  unwatch(s: Swept): void {
    this.#swept.delete(s);
    if (this.#swept.size === 0 && this.#sweeper !== undefined) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  /**
   * Counts a refused `hello` from `peer` and logs, at most every tenth time,
   * when one peer keeps failing (someone guessing the token).
   */
  noteAuthFailure(peer: string, client: string, what = "bad or missing token"): void {
    this.counters.authFailures++;
    const now = Date.now();
    let f = this.#authFailures.get(peer);
    if (f === undefined || now - f.since > AUTH_WINDOW_MS) {
      if (this.#authFailures.size >= 1024) this.#authFailures.clear(); // a bound, not a history
      f = { since: now, count: 0 };
      this.#authFailures.set(peer, f);
    }
    f.count++;
    if (f.count === 1) this.log.warn(`${peer} (${client}): ${what}; closing`);
    else if (f.count >= AUTH_REPORT_AFTER && (f.count - AUTH_REPORT_AFTER) % 10 === 0) {
      this.log.warn(`${peer}: ${f.count} refused hellos or auths in ${Math.round((now - f.since) / 1000)} s (the last: ${what}); each one closes its connection`);
    }
  }

  /** Called by sessions when the last in-flight request settles. */
  onIdle(): void {
    const w = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const f of w) f();
  }

  /** Resolves when no request is in flight. */
  waitIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }
}
