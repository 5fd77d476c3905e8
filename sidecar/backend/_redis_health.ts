/**
 * Whether `RedisBackend` may serve, apart from being connected: Redis
 * answers in time (see `_redis_timed.ts`), and its eviction policy cannot
 * delete stored messages (see `_redis_policy.ts`). The policy is checked
 * after every (re)connection, since the server may have been reconfigured
 * or replaced, and every second while connected; the same check notices a
 * stall, and its end, while no client sends anything.
 *
 * @module
 */
import type { BackendMisconfiguredError } from "../../sdk/backend/types.ts";
import { evictionPolicy, policyRefusal } from "./_redis_policy.ts";
import type { CommandSender } from "./_redis_reply.ts";

/** How often the health check runs while connected, in ms. */
export const HEALTH_CHECK_MS = 1000;

/** What a check found: the policy is fine, it is not, or Redis did not answer. */
export type CheckVerdict = "ok" | "refused" | "unknown";

/** Options of `RedisHealth`. */
export interface RedisHealthOptions {
  /** The main connection, with the command timeout. */
  commands: CommandSender;
  /** The Redis URL without credentials, for messages. */
  where: string;
  /** Skip the policy check (only check that Redis answers). */
  allowEviction: boolean;
  /** Called when `problem` may have changed, with a message when there is a new one. */
  onChange: (message?: string) => void;
}

/**
 * The health of one backend's Redis.
 *
 * @example
 * ```ts
 * const health = new RedisHealth({ commands: timed, where: "redis://db:6379", allowEviction: false, onChange: update });
 * health.connected(); // on node-redis "ready"
 * await health.admitAdd(); // throws BackendMisconfiguredError under allkeys-lru
 * ```
 */
export class RedisHealth {
  #o: RedisHealthOptions;
  #up = false;
  /** Set while a command has timed out and none was answered since. */
  #stalled: string | undefined;
  /** Set while the eviction policy is not `noeviction`: what adds fail with. */
  #policyError: BackendMisconfiguredError | undefined;
  #checking: Promise<CheckVerdict> | undefined;
  /** The check after a (re)connection, while in flight: adds wait for its verdict. */
  #verifying: Promise<unknown> | undefined;
  #timer: ReturnType<typeof setInterval>;

  constructor(options: RedisHealthOptions) {
    this.#o = options;
    this.#timer = setInterval(() => {
      if (this.#up && this.#checking === undefined) void this.check();
    }, HEALTH_CHECK_MS);
    this.#timer.unref?.();
  }

  /** The error code requests get while connected but unfit to serve, if any. */
  get problem(): "BACKEND_MISCONFIGURED" | "BACKEND_TIMEOUT" | undefined {
    if (this.#policyError !== undefined) return "BACKEND_MISCONFIGURED";
    return this.#stalled === undefined ? undefined : "BACKEND_TIMEOUT";
  }

  /** The main connection is (again) up: possibly another server, or the same one reconfigured. */
  connected(): void {
    this.#up = true;
    this.#stalled = undefined;
    const verifying = this.check().finally(() => {
      if (this.#verifying === verifying) this.#verifying = undefined;
    });
    this.#verifying = verifying;
    this.#o.onChange();
  }

  /** The main connection is down. */
  disconnected(): void {
    this.#up = false;
  }

  /** A command timed out. */
  timedOut(message: string): void {
    this.#stalled = message;
    this.#o.onChange(message);
  }

  /** A command was answered. */
  answered(): void {
    if (this.#stalled === undefined) return;
    this.#stalled = undefined;
    this.#o.onChange();
  }

  /** True when an add may be served right now (no check after a reconnection in flight, the policy fine). */
  get admitsAdds(): boolean {
    return this.#verifying === undefined && this.#policyError === undefined;
  }

  /** Resolves when an add may be served; rejects with `BackendMisconfiguredError` while the policy evicts. */
  async admitAdd(): Promise<void> {
    if (this.#verifying !== undefined) await this.#verifying;
    if (this.#policyError !== undefined) throw this.#policyError;
  }

  /** The refusal behind a "refused" verdict. */
  get refusal(): BackendMisconfiguredError | undefined {
    return this.#policyError;
  }

  /**
   * Checks the eviction policy (with `allowEviction`, only that Redis
   * answers). A check that gets no answer leaves the last verdict standing.
   */
  check(): Promise<CheckVerdict> {
    this.#checking ??= this.#run().finally(() => (this.#checking = undefined));
    return this.#checking;
  }

  async #run(): Promise<CheckVerdict> {
    try {
      if (this.#o.allowEviction) {
        await this.#o.commands.sendCommand(["PING"]);
        return "ok";
      }
      const policy = await evictionPolicy(this.#o.commands);
      this.#policyError = policy === "noeviction" ? undefined : policyRefusal(this.#o.where, policy);
      this.#o.onChange(this.#policyError?.message);
      return this.#policyError === undefined ? "ok" : "refused";
    } catch {
      return "unknown";
    }
  }

  /** Stops the periodic check. */
  close(): void {
    clearInterval(this.#timer);
  }
}
