/**
 * Blocking reads of `RedisBackend` on a bounded set of dedicated
 * connections. node-redis serialises commands per connection, so an
 * `XREAD BLOCK` on the publishing connection would stall every add; here
 * each blocking connection runs one multiplexed `XREAD BLOCK` over the union
 * of the streams its waiters want and hands the results out. A waiter that
 * arrives while its connection is blocked wakes it with `CLIENT UNBLOCK`
 * (sent from the main connection), and the read is re-armed with the new set.
 *
 * @module
 */
import { ErrorReply } from "redis";
import { parseEntryId } from "../../sdk/backend/args.ts";
import { disarmRead } from "../../sdk/backend/blocked_read.ts";
import { parseXRead, RETURN_BUFFERS, toBackendError } from "./_redis_reply.ts";
import type { RawReply, RedisClient } from "./_redis_reply.ts";
import type { StreamBatch, StreamEntry } from "../../sdk/backend/types.ts";

/** What serves blocked reads: `BlockingPool` on one Redis, `ClusterBlockingPool` on a cluster. */
export interface BlockingReads {
  /** Waits up to `block` ms for entries after the cursors; resolves [] on timeout, abort or close. */
  wait(cursors: readonly BlockCursor[], options: { count: number; block: number; signal?: AbortSignal }): Promise<StreamBatch[]>;
  /** Blocking connections open. */
  readonly connections: number;
  close(): Promise<void>;
}

/** One stream of a blocked read, with a concrete id ("$" already resolved). */
export interface BlockCursor {
  stream: string;
  /** Redis key of the stream. */
  key: string;
  after: string;
}

interface Waiter {
  cursors: { c: BlockCursor; ms: number; seq: number }[];
  count: number;
  deadline: number;
  resolve: (batches: StreamBatch[]) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  conn: BlockingConnection | undefined;
  done: boolean;
}

/**
 * Serves blocked reads with at most `max` connections, duplicated from `main`.
 *
 * @example
 * ```ts
 * const pool = new BlockingPool(client, 4);
 * const batches = await pool.wait([{ stream: "tasks", key: "ampbus:{tasks}", after: "0-0" }], { count: 100, block: 5000 });
 * ```
 */
export class BlockingPool implements BlockingReads {
  #main: RedisClient;
  #max: number;
  #conns: BlockingConnection[] = [];
  #closed = false;

  constructor(main: RedisClient, max: number) {
    this.#main = main;
    this.#max = Math.max(1, max);
  }

  /** Connections opened so far (at most `max`). */
  get connections(): number {
    return this.#conns.length;
  }

  /** Waits up to `block` ms for entries after the cursors; resolves [] on timeout, abort or close. */
  wait(
    cursors: readonly BlockCursor[],
    options: { count: number; block: number; signal?: AbortSignal },
  ): Promise<StreamBatch[]> {
    if (this.#closed || options.signal?.aborted) return Promise.resolve([]);
    return new Promise<StreamBatch[]>((resolve, reject) => {
      const w: Waiter = {
        cursors: cursors.map((c) => ({ c, ...parseEntryId(c.after) })),
        count: options.count,
        deadline: Date.now() + options.block,
        resolve,
        reject,
        timer: undefined,
        signal: options.signal,
        onAbort: undefined,
        conn: undefined,
        done: false,
      };
      w.timer = setTimeout(() => finish(w, []), options.block);
      if (w.signal !== undefined) {
        w.onAbort = () => finish(w, []);
        w.signal.addEventListener("abort", w.onAbort, { once: true });
      }
      this.#pick().add(w);
    });
  }

  /** Resolves every waiter with [] and closes the connections. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#conns.map((c) => c.close()));
  }

  #pick(): BlockingConnection {
    let best: BlockingConnection | undefined;
    for (const c of this.#conns) {
      if (c.waiters.size === 0) return c;
      if (best === undefined || c.waiters.size < best.waiters.size) best = c;
    }
    if (best === undefined || this.#conns.length < this.#max) {
      const c = new BlockingConnection(this.#main);
      this.#conns.push(c);
      return c;
    }
    return best;
  }
}

function finish(w: Waiter, batches: StreamBatch[], error?: Error): void {
  if (w.done) return;
  w.done = true;
  disarmRead(w);
  w.conn?.waiters.delete(w);
  if (error !== undefined) w.reject(error);
  else w.resolve(batches);
}

/** One dedicated connection and the waiters it serves. */
class BlockingConnection {
  readonly waiters = new Set<Waiter>();
  #main: RedisClient;
  #client: RedisClient;
  #clientId: string | null = null;
  #running = false;
  #inFlight = false;
  /** Bumped for every XREAD sent, so a kick knows which read it meant to end. */
  #gen = 0;
  #kickedGen = -1;
  #readyWait: (() => void) | null = null;
  #closed = false;

  constructor(main: RedisClient) {
    this.#main = main;
    this.#client = main.duplicate({ name: "ampd-block" });
    // The id changes with every (re)connection; it is fetched again before the next XREAD.
    this.#client.on("error", () => (this.#clientId = null));
    this.#client.on("connect", () => (this.#clientId = null));
    this.#client.on("ready", () => this.#readyWait?.());
    this.#client.connect().catch(() => {});
  }

  add(w: Waiter): void {
    w.conn = this;
    this.waiters.add(w);
    if (!this.#running) void this.#run();
    else this.#kick();
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const w of [...this.waiters]) finish(w, []);
    this.#readyWait?.();
    try {
      await this.#client.disconnect();
    } catch {
      // already closed
    }
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (this.waiters.size > 0 && !this.#closed) {
        if (!this.#client.isReady) {
          await this.#untilReady();
          continue;
        }
        try {
          if (this.#clientId === null) {
            this.#clientId = String(await this.#client.sendCommand<number>(["CLIENT", "ID"]));
            continue;
          }
          const args = this.#xreadArgs();
          this.#gen++;
          this.#inFlight = true;
          let reply: RawReply;
          try {
            reply = await this.#client.sendCommand<RawReply>(args, RETURN_BUFFERS);
          } finally {
            this.#inFlight = false;
          }
          if (reply != null) this.#dispatch(parseXRead(reply));
        } catch (e) {
          if (this.#closed) break;
          if (e instanceof ErrorReply) {
            const err = toBackendError(e, "blocking read");
            for (const w of [...this.waiters]) finish(w, [], err);
          } else if (this.#client.isReady) {
            await new Promise((r) => setTimeout(r, 20));
          }
          // Otherwise the connection is down: the loop waits for "ready" and re-arms.
        }
      }
    } finally {
      this.#running = false;
    }
  }

  #untilReady(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#readyWait = null;
        resolve();
      };
      // Polling as well as the event: a missed "ready" must not strand the waiters.
      const timer = setTimeout(done, 250);
      this.#readyWait = done;
    });
  }

  #xreadArgs(): string[] {
    let count = 1;
    let deadline = Infinity;
    const union = new Map<string, { c: BlockCursor; ms: number; seq: number }>();
    for (const w of this.waiters) {
      if (w.count > count) count = w.count;
      if (w.deadline < deadline) deadline = w.deadline;
      for (const cur of w.cursors) {
        const have = union.get(cur.c.key);
        if (have === undefined || cur.ms < have.ms || (cur.ms === have.ms && cur.seq < have.seq)) {
          union.set(cur.c.key, cur);
        }
      }
    }
    const block = Math.max(1, Math.ceil(deadline - Date.now()));
    const keys: string[] = [];
    const ids: string[] = [];
    for (const [key, cur] of union) {
      keys.push(key);
      ids.push(`${cur.ms}-${cur.seq}`);
    }
    return ["XREAD", "COUNT", String(count), "BLOCK", String(block), "STREAMS", ...keys, ...ids];
  }

  #dispatch(byKey: Map<string, StreamEntry[]>): void {
    for (const w of [...this.waiters]) {
      const batches: StreamBatch[] = [];
      for (const cur of w.cursors) {
        const list = byKey.get(cur.c.key);
        if (list === undefined) continue;
        let i = 0;
        while (i < list.length) {
          const p = parseEntryId(list[i]!.entryId);
          if (p.ms > cur.ms || (p.ms === cur.ms && p.seq > cur.seq)) break;
          i++;
        }
        if (i < list.length) batches.push({ stream: cur.c.stream, entries: list.slice(i, i + w.count) });
      }
      if (batches.length > 0) finish(w, batches);
    }
  }

  /** Ends the XREAD in flight so the next one includes the new waiter. */
  #kick(): void {
    const gen = this.#gen;
    if (!this.#inFlight || this.#kickedGen === gen || this.#clientId === null || this.#closed) return;
    this.#kickedGen = gen;
    this.#main.sendCommand<number>(["CLIENT", "UNBLOCK", this.#clientId]).then(
      (n) => {
        // 0: the XREAD has not reached the server yet (or just ended). Retry while it is the same read.
        if (n === 0 && this.#inFlight && this.#gen === gen && !this.#closed) {
          setTimeout(() => {
            if (this.#kickedGen === gen) this.#kickedGen = -1;
            this.#kick();
          }, 2);
        }
      },
      () => {
        // Main connection down: the read ends by its own timeout or with the connection.
      },
    );
  }
}
