/**
 * What all of ampd's sessions share: configuration, the backend, counters,
 * and the shutdown flag.
 *
 * @module
 */
import type { StreamBackend } from "../sdk/backend/types.ts";
import type { AISPMessage } from "../sdk/envelope.ts";
import type { Logger } from "./log.ts";
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
}

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
  };
  /** Delivers group entries under the policy (claims, dead letters, expiry). */
  readonly groups: GroupReader;
  subscriptions = 0;
  shuttingDown = false;
  /** Called after `add` stored a message (not for duplicates), with the stored bytes: the live mirror. */
  onAdded: ((stream: string, entryId: string, msg: AISPMessage, bytes: Uint8Array) => void) | undefined;
  inFlight = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(config: ServerConfig, backend: StreamBackend, log: Logger) {
    this.config = config;
    this.backend = backend;
    this.log = log;
    this.groups = new GroupReader(backend, config.delivery);
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
