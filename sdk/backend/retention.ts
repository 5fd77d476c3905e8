/**
 * The retention sweep: every so often, each stream of a backend is trimmed
 * by its own retention (`StreamBackend.setRetention`) or else the default
 * one, under its policy: with `interest` (the default) no entry that a
 * consumer group still needs is removed. What it removes is counted as
 * `retention` in `StreamInfo.removed`. ampd runs one over its backend.
 *
 * @module
 */
import { checkRetention } from "./args.ts";
import { DEFAULT_RETENTION, type Retention, type StreamBackend } from "./types.ts";

/**
 * Options of `new RetentionSweeper()`.
 *
 * @example
 * ```ts
 * import type { RetentionSweeperOptions } from "@ampbus/ampbus";
 *
 * const options: RetentionSweeperOptions = { defaults: { policy: "interest", maxAgeMs: 86_400_000 }, intervalMs: 60_000 };
 * if (options.defaults?.maxAgeMs !== 86_400_000) throw new Error("one day");
 * ```
 */
export interface RetentionSweeperOptions {
  /** The retention of streams without their own. Defaults to `DEFAULT_RETENTION` (7 days, interest). */
  defaults?: Retention;
  /** Time between sweeps, in ms. Defaults to a tenth of the default max age, from 1 s to 10 s. */
  intervalMs?: number;
  /** Called with what a sweep could not do (a backend call that failed); the next sweep tries again. */
  onError?: (e: unknown) => void;
}

/**
 * Sweeps a backend's streams by their retention, at start and then every
 * `intervalMs`, until `stop()`.
 *
 * @example
 * ```ts
 * import { MemoryBackend, RetentionSweeper } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * const headers = { id: "m1", opId: "op-1", type: "task", sender: "coder", receiver: "tester" };
 * await backend.add("tasks", { headers, msg: new Uint8Array([1]) });
 * await backend.setRetention("tasks", { policy: "limits", maxLen: 0 });
 * const sweeper = new RetentionSweeper(backend);
 * await sweeper.sweep();
 * sweeper.stop();
 * if ((await backend.info("tasks")).removed?.retention !== 1) throw new Error("expected one entry removed by retention");
 * await backend.close();
 * ```
 */
export class RetentionSweeper {
  #backend: StreamBackend;
  #defaults: Retention;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #running: Promise<number> | undefined;
  #intervalMs: number;
  #onError: (e: unknown) => void;

  /** Starts sweeping `backend` (the first sweep at once). */
  constructor(backend: StreamBackend, options: RetentionSweeperOptions = {}) {
    this.#backend = backend;
    this.#defaults = checkRetention(options.defaults ?? DEFAULT_RETENTION);
    const age = this.#defaults.maxAgeMs;
    this.#intervalMs = options.intervalMs ?? Math.max(1000, Math.min(10_000, age === undefined ? 10_000 : Math.ceil(age / 10)));
    this.#onError = options.onError ?? (() => {});
    this.#schedule(0);
  }

  /** The retention of streams without their own. */
  get defaults(): Retention {
    return { ...this.#defaults };
  }

  /** Sweeps every stream once now; resolves with how many entries went. */
  sweep(): Promise<number> {
    this.#running ??= this.#sweepAll().finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** Stops sweeping (a sweep under way finishes its current stream). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #sweepAll(): Promise<number> {
    let removed = 0;
    let names: string[];
    try {
      names = await this.#backend.streams();
    } catch (e) {
      this.#onError(e);
      return 0;
    }
    for (const stream of names) {
      if (this.#stopped) break;
      try {
        const r = (await this.#backend.info(stream)).retention ?? this.#defaults;
        if (r.maxLen === undefined && r.maxAgeMs === undefined) continue;
        removed += await this.#backend.trim(stream, { maxLen: r.maxLen, maxAgeMs: r.maxAgeMs, policy: r.policy, cause: "retention" });
      } catch (e) {
        this.#onError(e);
      }
    }
    return removed;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.sweep().finally(() => this.#schedule(this.#intervalMs));
    }, ms);
    (this.#timer as { unref?: () => void }).unref?.();
  }
}
