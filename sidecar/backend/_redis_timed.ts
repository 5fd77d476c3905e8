/**
 * The command timeout of `RedisBackend`'s main connection. node-redis v4
 * has none: a Redis that stops answering (SIGSTOP, a stalled host, a long
 * script) without closing the socket holds every command forever. Redis
 * answers the commands of one connection in order, so the oldest command
 * waiting is always the first to time out: one timer, armed for the oldest
 * command's deadline, serves all of them.
 *
 * A timed-out command is not taken back: it was written to the socket and
 * Redis may still run it when it wakes. Callers get `BackendTimeoutError`
 * ("outcome unknown"); an add retried with the same opId is stored once.
 *
 * @module
 */
import { ErrorReply } from "redis";
import { BackendTimeoutError } from "../../sdk/backend/types.ts";
import type { CommandSender, RawReply, RETURN_BUFFERS } from "./_redis_reply.ts";

interface Waiting {
  deadline: number;
  args: readonly (string | Buffer)[];
  reject: (e: Error) => void;
}

/** What `TimedCommands` reports to its backend. */
export interface TimedCommandsEvents {
  /** A command got no answer within the timeout. */
  onTimeout: (message: string) => void;
  /** A command was answered (so Redis answers again after a timeout). */
  onAnswer: () => void;
}

/**
 * `sendCommand` with a timeout, over one node-redis client (or the cluster
 * routing, which sends each command to its key's node).
 *
 * @example
 * ```ts
 * const timed = new TimedCommands(client, { timeoutMs: 5000, onTimeout: (m) => log(m), onAnswer: () => {} });
 * const id = await timed.sendCommand<string>(["XADD", "ampbus:{tasks}", "*", "k", "v"]); // or BackendTimeoutError
 * ```
 */
export class TimedCommands implements CommandSender {
  #client: CommandSender;
  #timeoutMs: number;
  #events: TimedCommandsEvents;
  /** Commands waiting for an answer, oldest first (a Set keeps insertion order). */
  #waiting = new Set<Waiting>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `timeoutMs` 0 turns the timeout off. */
  constructor(client: CommandSender, options: { timeoutMs: number } & TimedCommandsEvents) {
    this.#client = client;
    this.#timeoutMs = options.timeoutMs;
    this.#events = options;
  }

  /** The timeout in ms (0: none). */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  sendCommand<T = RawReply>(args: (string | Buffer)[], options?: typeof RETURN_BUFFERS): Promise<T> {
    const sent = this.#client.sendCommand<T>(args, options);
    if (this.#timeoutMs <= 0) return sent;
    return new Promise<T>((resolve, reject) => {
      const w: Waiting = { deadline: performance.now() + this.#timeoutMs, args, reject };
      this.#waiting.add(w);
      this.#timer ??= setTimeout(() => this.#expire(), this.#timeoutMs);
      sent.then(
        (v) => {
          if (this.#waiting.delete(w)) {
            resolve(v);
            this.#events.onAnswer();
          }
        },
        (e: unknown) => {
          if (!this.#waiting.delete(w)) return;
          reject(e as Error);
          if (e instanceof ErrorReply) this.#events.onAnswer();
        },
      );
    });
  }

  /** Rejects every command past its deadline, then re-arms for the oldest left. */
  #expire(): void {
    this.#timer = undefined;
    const now = performance.now();
    let expired = 0;
    let first: Waiting | undefined;
    for (const w of this.#waiting) {
      if (w.deadline > now) break;
      this.#waiting.delete(w);
      first ??= w;
      expired++;
      w.reject(new BackendTimeoutError(
        `Redis did not answer ${String(w.args[0])} within ${this.#timeoutMs} ms (--command-timeout); ` +
          "it may still run it: retry with the same opId",
      ));
    }
    if (first !== undefined) {
      this.#events.onTimeout(
        `Redis did not answer ${expired} command(s) (first ${String(first.args[0])}) within ${this.#timeoutMs} ms: ` +
          "stalled or overloaded; requests fail with BACKEND_TIMEOUT until it answers",
      );
    }
    for (const w of this.#waiting) {
      this.#timer = setTimeout(() => this.#expire(), Math.max(1, Math.ceil(w.deadline - now)));
      break;
    }
  }

  /** Rejects nothing; stops the timer (the client is closing and rejects the rest itself). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
