/**
 * `RedisBackend`: streams in Redis Streams through node-redis v4. The key
 * layout is documented in `docs/storage.md`, so programs in other languages
 * can read the streams directly.
 *
 * @module
 */
import { backoffDelay } from "../../sdk/backoff.ts";
import { createClient } from "redis";
import { checkHeaders, checkMaxLen, checkMs, checkRead, checkStream } from "../../sdk/backend/args.ts";
import { AddBatcher } from "./_redis_adds.ts";
import { BlockingPool } from "./_redis_blocking.ts";
import type { BlockCursor } from "./_redis_blocking.ts";
import { RedisGroups } from "./_redis_groups.ts";
import { RedisHealth } from "./_redis_health.ts";
import { entryFields, parseXRead, RETURN_BUFFERS, toBackendError } from "./_redis_reply.ts";
import type { RawReply, RedisClient } from "./_redis_reply.ts";
import { INFO_SCRIPT, LAST_ID_SCRIPT, LuaScript } from "./_redis_scripts.ts";
import { TimedCommands } from "./_redis_timed.ts";
import {
  BackendMisconfiguredError,
  BackendUnavailableError,
  DEFAULT_CLAIM_TIMEOUT_MS,
  DEFAULT_DEDUPE_WINDOW_MS,
} from "../../sdk/backend/types.ts";
import type {
  AddOptions,
  AddResult,
  BackendInfo,
  BackendState,
  ClaimOptions,
  ConsumerRef,
  CreateGroupOptions,
  CreateGroupResult,
  GroupEntry,
  GroupInfo,
  GroupRef,
  NackOptions,
  NewEntry,
  PendingInfo,
  PendingOptions,
  ReadGroupOptions,
  ReadCursor,
  ReadOptions,
  StreamBackend,
  StreamBatch,
  StreamInfo,
  TrimOptions,
} from "../../sdk/backend/types.ts";

/** Options of `RedisBackend.connect()`. */
export interface RedisBackendOptions {
  /** `redis://[[user]:password@]host[:port][/db]`. */
  url: string;
  /** Prefix of every key. Defaults to `"ampbus:"`. */
  prefix?: string;
  /** How long an opId is remembered per stream. 0 turns deduplication off. Defaults to 10 minutes. */
  dedupeWindowMs?: number;
  /** How long `connect()` tries before giving up. Defaults to 2000. */
  connectTimeoutMs?: number;
  /**
   * Most connections used for blocking reads, shared by all blocked readers
   * (`read` and `readGroup` alike). Defaults to 4.
   */
  maxBlockingConnections?: number;
  /** The default `minIdleMs` of `claim()`, and what `nack()` counts with. Defaults to 30 000. */
  claimTimeoutMs?: number;
  /**
   * How long a command on the main connection (adds, non-blocking reads,
   * group operations) may wait for Redis before it fails with
   * `BackendTimeoutError`. Blocking reads wait on their own connections and
   * are bounded by their `block` instead. 0 turns it off. Defaults to 5000.
   */
  commandTimeoutMs?: number;
  /**
   * Serve even when Redis's `maxmemory-policy` is not `noeviction` (Redis
   * may then delete stored messages at `maxmemory`). Defaults to false:
   * `connect()` rejects with `BackendMisconfiguredError`, and after a
   * reconnection to such a server adds fail with it until the policy is fixed.
   */
  allowEviction?: boolean;
}

/** Default command timeout of the main connection: 5 seconds. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 5000;

const INFO = new LuaScript(INFO_SCRIPT);
const LAST_ID = new LuaScript(LAST_ID_SCRIPT);

/** Reconnect delay: the SDK's backoff, 50 ms doubling up to 1 s, with jitter. */
function reconnectDelay(retries: number): number {
  return backoffDelay(retries);
}

/**
 * Streams in Redis. Adds go through one connection: those of one event-loop
 * turn as one dedupe script call per stream (`AddBatcher`);
 * blocking reads through at most `maxBlockingConnections` others. While
 * Redis is unreachable every call fails fast with `BackendUnavailableError`
 * and the backend reconnects on its own. A command Redis does not answer
 * within `commandTimeoutMs` fails with `BackendTimeoutError` and the state
 * is `degraded` until Redis answers again. The eviction policy is checked
 * at connect, after every reconnection and every second: while it is not
 * `noeviction` adds fail with `BackendMisconfiguredError` (state `degraded`).
 *
 * @example
 * ```ts
 * const backend = await RedisBackend.connect({ url: "redis://127.0.0.1:6379" });
 * const { entryId, duplicate } = await backend.add("tasks", { headers, msg });
 * const batches = await backend.read([{ stream: "tasks", after: "$" }], { block: 5000 });
 * await backend.close();
 * ```
 */
export class RedisBackend implements StreamBackend {
  readonly kind = "redis" as const;
  #client: RedisClient;
  /** The main connection with the command timeout: every command but blocking reads goes through it. */
  #timed: TimedCommands;
  #pool: BlockingPool;
  #groups: RedisGroups;
  #prefix: string;
  #windowMs: number;
  #state: BackendState = "reconnecting";
  #everReady = false;
  #closing = false;
  #dedupeHits = 0;
  #reconnects = 0;
  #lastError: string | undefined;
  #listeners = new Set<(state: BackendState) => void>();
  /** The main connection is up. */
  #connected = false;
  #health: RedisHealth;
  #adds: AddBatcher;

  private constructor(options: RedisBackendOptions) {
    this.#prefix = options.prefix ?? "ampbus:";
    this.#windowMs = options.dedupeWindowMs ?? DEFAULT_DEDUPE_WINDOW_MS;
    this.#client = createClient({
      url: options.url,
      name: "ampd",
      disableOfflineQueue: true,
      // Per attempt: a long connectTimeoutMs means more attempts, not a longer wait on a dead address.
      socket: { connectTimeout: Math.min(options.connectTimeoutMs ?? 2000, 5000), reconnectStrategy: reconnectDelay },
    });
    this.#timed = new TimedCommands(this.#client, {
      timeoutMs: checkMs("commandTimeoutMs", options.commandTimeoutMs) ?? DEFAULT_COMMAND_TIMEOUT_MS,
      onTimeout: (message) => this.#health.timedOut(message),
      onAnswer: () => this.#health.answered(),
    });
    this.#health = new RedisHealth({
      commands: this.#timed,
      where: redactUrl(options.url),
      allowEviction: options.allowEviction ?? false,
      onChange: (message) => {
        if (message !== undefined) this.#lastError = message;
        this.#updateState();
      },
    });
    // Without an "error" listener node-redis would throw an unhandled error event.
    this.#client.on("error", (e: Error) => {
      this.#lastError = e.message;
      this.#connected = this.#client.isReady;
      if (!this.#connected) this.#health.disconnected();
      this.#updateState();
    });
    this.#client.on("reconnecting", () => {
      this.#connected = false;
      this.#health.disconnected();
      this.#updateState();
    });
    this.#client.on("ready", () => {
      if (this.#everReady) this.#reconnects++;
      this.#everReady = true;
      this.#connected = true;
      this.#health.connected();
    });
    this.#adds = new AddBatcher({
      commands: this.#timed,
      windowMs: this.#windowMs,
      onDuplicate: () => this.#dedupeHits++,
    });
    this.#pool = new BlockingPool(this.#client, options.maxBlockingConnections ?? 4);
    this.#groups = new RedisGroups({
      client: this.#timed,
      pool: this.#pool,
      key: (stream) => this.#key(stream),
      claimTimeoutMs: checkMs("claimTimeoutMs", options.claimTimeoutMs) ?? DEFAULT_CLAIM_TIMEOUT_MS,
      closed: () => this.#closing,
    });
  }

  /**
   * Connects, or rejects with `BackendUnavailableError` when Redis does not
   * answer within `connectTimeoutMs` (node-redis retries meanwhile), or with
   * `BackendMisconfiguredError` when its `maxmemory-policy` is not
   * `noeviction` and `allowEviction` is not set.
   */
  static async connect(options: RedisBackendOptions): Promise<RedisBackend> {
    const b = new RedisBackend(options);
    const timeoutMs = options.connectTimeoutMs ?? 2000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), timeoutMs)));
    const connected = b.#client.connect().then(() => "ok" as const, (e: unknown) => e as Error);
    const outcome = await Promise.race([connected, timedOut]);
    clearTimeout(timer);
    if (outcome === "ok" && b.#client.isReady) {
      const cluster = await clusterRefusal(b.#timed, redactUrl(options.url)).catch(() => undefined);
      if (cluster !== undefined) {
        await b.close();
        throw cluster;
      }
      const checked = await b.#health.check();
      if (checked === "ok") return b;
      await b.close();
      if (checked === "refused") throw b.#health.refusal!;
      throw new BackendUnavailableError(`Redis at ${redactUrl(options.url)} did not answer its first health check: ${b.#lastError ?? "no answer"}`);
    }
    await b.close();
    const why = outcome instanceof Error ? outcome.message : (b.#lastError ?? "no answer");
    throw new BackendUnavailableError(
      `Redis at ${redactUrl(options.url)} is not reachable within ${timeoutMs} ms (${why})`,
      { cause: outcome instanceof Error ? outcome : undefined },
    );
  }

  async add(stream: string, entry: NewEntry, options?: AddOptions): Promise<AddResult> {
    this.#checkOpen();
    checkStream(stream);
    checkHeaders(entry.headers);
    const maxLen = options?.maxLen;
    if (maxLen !== undefined) checkMaxLen(maxLen);
    const key = this.#key(stream);
    if (!this.#health.admitsAdds) await this.#health.admitAdd();
    if (this.#windowMs > 0) return await this.#adds.add({ stream, key }, { entry, maxLen });
    try {
      const trim = maxLen === undefined ? [] : ["MAXLEN", "~", String(maxLen)];
      const id = await this.#timed.sendCommand<string>(["XADD", key, ...trim, "*", ...entryFields(entry.headers, entry.msg)]);
      return { entryId: id, duplicate: false };
    } catch (e) {
      throw toBackendError(e, `add to stream ${JSON.stringify(stream)}`);
    }
  }

  async read(cursors: readonly ReadCursor[], options?: ReadOptions): Promise<StreamBatch[]> {
    this.#checkOpen();
    const { count, block } = checkRead(cursors, options);
    try {
      if (block === undefined) {
        const concrete = cursors.filter((c) => c.after !== "$");
        if (concrete.length === 0) return [];
        return await this.#xread(concrete.map((c) => ({ stream: c.stream, key: this.#key(c.stream), after: c.after })), count);
      }
      // "$" becomes the last id now, so nothing added from here on is missed while re-arming.
      const resolved: BlockCursor[] = await Promise.all(cursors.map(async (c) => {
        const key = this.#key(c.stream);
        const after = c.after === "$" ? String(await LAST_ID.run(this.#timed, { keys: [key], args: [] })) : c.after;
        return { stream: c.stream, key, after };
      }));
      const now = await this.#xread(resolved, count);
      if (now.length > 0) return now;
      return await this.#pool.wait(resolved, { count, block, signal: options?.signal });
    } catch (e) {
      throw toBackendError(e, "read");
    }
  }

  async trim(stream: string, options: TrimOptions): Promise<number> {
    this.#checkOpen();
    checkStream(stream);
    checkMaxLen(options.maxLen);
    const how = options.approximate ? ["~"] : [];
    try {
      return await this.#timed.sendCommand<number>(["XTRIM", this.#key(stream), "MAXLEN", ...how, String(options.maxLen)]);
    } catch (e) {
      throw toBackendError(e, `trim stream ${JSON.stringify(stream)}`);
    }
  }

  async info(stream: string): Promise<StreamInfo> {
    this.#checkOpen();
    checkStream(stream);
    try {
      const r = (await INFO.run(this.#timed, { keys: [this.#key(stream)], args: [] })) as [number, string?, string?];
      if (r[0] === 0) return { stream, length: 0, firstEntryId: null, lastEntryId: null };
      return { stream, length: r[0], firstEntryId: String(r[1]), lastEntryId: String(r[2]) };
    } catch (e) {
      throw toBackendError(e, `info of stream ${JSON.stringify(stream)}`);
    }
  }

  async streams(options: { limit?: number } = {}): Promise<string[]> {
    this.#checkOpen();
    const limit = options.limit ?? 10_000;
    // Stream keys are <prefix>{<stream>}; dedupe keys <prefix>{<stream>}:op:<opId> do not end in "}".
    const match = `${this.#prefix.replace(/[*?[\]\\]/g, "\\$&")}{*}`;
    const names = new Set<string>();
    let cursor = "0";
    try {
      do {
        const [next, keys] = await this.#timed.sendCommand<[string, string[]]>(["SCAN", cursor, "MATCH", match, "COUNT", "1000", "TYPE", "stream"]);
        cursor = next;
        for (const k of keys) if (k.endsWith("}")) names.add(k.slice(this.#prefix.length + 1, -1));
      } while (cursor !== "0" && names.size < limit);
    } catch (e) {
      throw toBackendError(e, "list streams");
    }
    return [...names].sort().slice(0, limit);
  }

  createGroup(ref: GroupRef, options?: CreateGroupOptions): Promise<CreateGroupResult> {
    return this.#open(() => this.#groups.create(ref, options));
  }

  readGroup(ref: ConsumerRef, options?: ReadGroupOptions): Promise<GroupEntry[]> {
    return this.#open(() => this.#groups.read(ref, options));
  }

  ack(ref: GroupRef, entryIds: readonly string[]): Promise<number> {
    return this.#open(() => this.#groups.ack(ref, entryIds));
  }

  nack(ref: ConsumerRef, options: NackOptions): Promise<number> {
    return this.#open(() => this.#groups.nack(ref, options));
  }

  extend(ref: ConsumerRef, entryIds: readonly string[]): Promise<number> {
    return this.#open(() => this.#groups.extend(ref, entryIds));
  }

  claim(ref: ConsumerRef, options?: ClaimOptions): Promise<GroupEntry[]> {
    return this.#open(() => this.#groups.claim(ref, options));
  }

  pending(ref: GroupRef, options?: PendingOptions): Promise<PendingInfo[]> {
    return this.#open(() => this.#groups.pending(ref, options));
  }

  groupInfo(stream: string): Promise<GroupInfo[]> {
    return this.#open(() => this.#groups.info(stream));
  }

  deleteConsumer(ref: ConsumerRef): Promise<number> {
    return this.#open(() => this.#groups.deleteConsumer(ref));
  }

  backendInfo(): BackendInfo {
    const info: BackendInfo = {
      kind: "redis",
      state: this.#state,
      dedupeHits: this.#dedupeHits,
      reconnects: this.#reconnects,
    };
    if (this.#lastError !== undefined) info.lastError = this.#lastError;
    const problem = this.#health.problem;
    if (this.#state === "degraded" && problem !== undefined) info.degraded = problem;
    return info;
  }

  onStateChange(listener: (state: BackendState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#health.close();
    this.#timed.stop();
    this.#setState("closed");
    await this.#pool.close();
    try {
      await this.#client.disconnect();
    } catch {
      // never connected, or already closed
    }
  }

  /** The Redis key of a stream: the name in a hash tag, so its dedupe keys share its cluster slot. */
  #key(stream: string): string {
    return `${this.#prefix}{${stream}}`;
  }

  async #xread(cursors: readonly BlockCursor[], count: number): Promise<StreamBatch[]> {
    const args = ["XREAD", "COUNT", String(count), "STREAMS"];
    for (const c of cursors) args.push(c.key);
    for (const c of cursors) args.push(c.after);
    const reply = await this.#timed.sendCommand<RawReply>(args, RETURN_BUFFERS);
    const byKey = parseXRead(reply);
    const out: StreamBatch[] = [];
    for (const c of cursors) {
      const entries = byKey.get(c.key);
      if (entries !== undefined && entries.length > 0) out.push({ stream: c.stream, entries });
    }
    return out;
  }

  #open<T>(run: () => Promise<T>): Promise<T> {
    if (this.#closing) return Promise.reject(new BackendUnavailableError("Redis backend is closed"));
    return run();
  }

  #checkOpen(): void {
    if (this.#closing) throw new BackendUnavailableError("Redis backend is closed");
  }

  #updateState(): void {
    if (!this.#connected) this.#setState(this.#everReady ? "reconnecting" : this.#state);
    else if (this.#health.problem !== undefined) this.#setState("degraded");
    else this.#setState("ready");
  }

  #setState(state: BackendState): void {
    if (this.#state === state || (this.#closing && state !== "closed")) return;
    this.#state = state;
    for (const l of this.#listeners) {
      try {
        l(state);
      } catch {
        // a listener's failure is its own
      }
    }
  }
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, "//***@");
}

/**
 * The refusal of a Redis Cluster node (`INFO cluster` says `cluster_enabled:1`):
 * this backend speaks to one Redis, so on a cluster every stream whose slot
 * another node serves would fail with MOVED. Undefined for a standalone Redis.
 */
async function clusterRefusal(commands: { sendCommand<T>(args: string[]): Promise<T> }, where: string): Promise<BackendMisconfiguredError | undefined> {
  const info = String(await commands.sendCommand<string>(["INFO", "cluster"]));
  if (!/^cluster_enabled:1/m.test(info)) return undefined;
  return new BackendMisconfiguredError(
    `Redis at ${where} is a Redis Cluster node; ampd serves a standalone Redis (or a primary with replicas) only, ` +
      "and on a cluster every stream whose slot another node serves would be refused with MOVED. Point --redis at a standalone Redis",
  );
}
