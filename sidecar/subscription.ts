/**
 * A subscription: pushes a stream's entries to one session, paced by the
 * credit the client grants, so a slow client cannot make ampd buffer
 * without bound (at most `credit` entries are read ahead, and nothing is read
 * while the client's socket is backed up).
 *
 * @module
 */
import { BackendUnavailableError } from "../sdk/backend/types.ts";
import type { Session } from "./session.ts";

/** Most entries one push carries. */
export const MAX_BATCH = 256;
/** How long one blocked read waits before re-arming (ms). */
export const BLOCK_MS = 5000;

/** One `subscribe` of one session. */
export class Subscription {
  readonly id: number;
  readonly stream: string;
  cursor: string;
  credit: number;
  #session: Session;
  #abort = new AbortController();
  #wake: (() => void) | undefined;
  #stopped = false;

  constructor(session: Session, opts: { id: number; stream: string; cursor: string; credit: number }) {
    this.#session = session;
    this.id = opts.id;
    this.stream = opts.stream;
    this.cursor = opts.cursor;
    this.credit = opts.credit;
  }

  /** Grants `n` more entries. */
  addCredit(n: number): void {
    this.credit += n;
    this.#wakeUp();
  }

  #wakeUp(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  #sleep(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const t = ms === undefined ? undefined : setTimeout(resolve, ms);
      this.#wake = () => {
        if (t !== undefined) clearTimeout(t);
        resolve();
      };
    });
  }

  /** Runs until stopped. */
  async run(): Promise<void> {
    const s = this.#session;
    let backoff = 50;
    while (!this.#stopped) {
      if (this.credit <= 0) {
        await this.#sleep();
        continue;
      }
      if (s.outboxFull()) {
        await s.waitDrain();
        continue;
      }
      let batches;
      try {
        batches = await s.backend.read([{ stream: this.stream, after: this.cursor }], {
          count: Math.min(this.credit, MAX_BATCH),
          block: BLOCK_MS,
          signal: this.#abort.signal,
        });
        backoff = 50;
      } catch (e) {
        if (this.#stopped) return;
        if (!(e instanceof BackendUnavailableError)) s.state.log.warn(`subscription ${this.id} on ${this.stream}: ${(e as Error).message}`);
        // The backend is down or hiccuped: wait and re-arm from the same cursor; nothing is skipped.
        await this.#sleep(backoff);
        backoff = Math.min(backoff * 2, 1000);
        continue;
      }
      if (this.#stopped) return;
      const entries = batches.length > 0 ? batches[0].entries : [];
      if (entries.length === 0) continue;
      this.cursor = entries[entries.length - 1].entryId;
      this.credit -= entries.length;
      s.push(this.id, entries);
    }
  }

  /** Stops the subscription; a blocked read ends at once. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#abort.abort();
    this.#wakeUp();
  }
}
