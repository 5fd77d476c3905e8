/**
 * A subscription: pushes a stream's entries to one session, paced by the
 * credit the client grants (a `PacedReader`), so a slow client cannot make
 * ampd buffer without bound: at most `credit` entries are read ahead, and
 * nothing is read while the client's socket is backed up. Messages past
 * `expiresAt` are skipped without using credit; `Session.push` splits a
 * batch into frames of at most `maxFrame` bytes. All subscriptions of one
 * stream share one backend read (`sharedReader`): 100 subscribers cost one
 * XREAD per batch, not 100.
 *
 * @module
 */
import { PacedReader } from "../sdk/backend/paced_reader.ts";
import { sharedReader } from "../sdk/backend/shared_reader.ts";
import type { SubscriptionHandle, SubscriptionHost } from "./protocol.ts";

/** One `subscribe` of one session. */
export class Subscription implements SubscriptionHandle {
  readonly id: number;
  #reader: PacedReader;

  constructor(session: SubscriptionHost, opts: { id: number; stream: string; cursor: string; credit: number }) {
    this.id = opts.id;
    this.#reader = new PacedReader(session.backend, {
      stream: opts.stream,
      cursor: opts.cursor,
      credit: opts.credit,
      // Every subscription of this stream on this ampd is served by one backend read.
      shared: sharedReader(session.backend, opts.stream),
      sink: {
        push: (entries) => session.push(this.id, entries),
        full: () => session.outboxFull(),
        drained: () => session.waitDrain(),
        warn: (m) => session.state.log.warn(`subscription ${this.id}: ${m}`),
      },
    });
  }

  get stream(): string {
    return this.#reader.stream;
  }

  /** The last entry id pushed, or a later one skipped as expired (or the starting point). */
  get cursor(): string {
    return this.#reader.cursor;
  }

  /** Credit left. */
  get credit(): number {
    return this.#reader.credit;
  }

  /** Grants `n` more entries. */
  addCredit(n: number): void {
    this.#reader.addCredit(n);
  }

  /** Runs until stopped. */
  run(): Promise<void> {
    return this.#reader.run();
  }

  /** Stops the subscription; a blocked read ends at once. */
  stop(): void {
    this.#reader.stop();
  }
}
