/**
 * `RedisBackend`: streams in Redis Streams through node-redis v4. The key
 * layout is documented in `docs/storage.md`, so programs in other languages
 * can read the streams directly.
 *
 * @module
 */
import { checkHeaders, checkMaxLen, checkMs, checkStream } from "../../sdk/backend/args.ts";
import { AddBatcher } from "./_redis_adds.ts";
import type { BlockingReads } from "./_redis_blocking.ts";
import type { ClusterBlockingPool } from "./_redis_cluster.ts";
import { clusterEnabled, RedisConnection, unreachableError } from "./_redis_connect.ts";
import { type BackendGroups, DelegatedGroups } from "./_delegated_groups.ts";
import { RedisAdmin } from "./_redis_admin.ts";
import { RedisGroups } from "./_redis_groups.ts";
import { RedisHealth } from "./_redis_health.ts";
import { RedisReads } from "./_redis_reads.ts";
import { entryFields, toBackendError } from "./_redis_reply.ts";
import { COUNTED_ADD_SCRIPT, LuaScript } from "./_redis_scripts.ts";
import { TimedCommands } from "./_redis_timed.ts";
import {
  BackendTimeoutError,
  BackendUnavailableError,
  DEFAULT_CLAIM_TIMEOUT_MS,
  DEFAULT_DEDUPE_WINDOW_MS,
} from "../../sdk/backend/types.ts";
import type {
  AddOptions,
  AddResult,
  BackendInfo,
  BackendState,
  GroupInfo,
  NewEntry,
  ReadCursor,
  ReadOptions,
  Retention,
  StreamBackend,
  StreamBatch,
  StreamInfo,
  TrimOptions,
} from "../../sdk/backend/types.ts";

/** Options of `RedisBackend.connect()`. */
export interface RedisBackendOptions {
  /**
   * `redis://[[user]:password@]host[:port][/db]`. A Redis Cluster node is
   * detected (`INFO cluster`) and used as the cluster's seed.
   */
  url: string;
  /**
   * Seed nodes of a Redis Cluster (`redis://host:port` each; `url` is one
   * more seed): the backend speaks the cluster protocol from the start.
   */
  clusterNodes?: readonly string[];
  /**
   * Replicas that must have an add before it is acknowledged (`WAIT`).
   * 0 (the default) acknowledges once the master has it: a master that dies
   * before replicating loses it. See docs/storage.md.
   */
  waitReplicas?: number;
  /** How long an add waits for `waitReplicas` replicas before it fails with `BackendTimeoutError`. Defaults to 1000. */
  waitTimeoutMs?: number;
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

/** Default of `waitTimeoutMs`: 1 second. */
export const DEFAULT_WAIT_TIMEOUT_MS = 1000;

/** Default command timeout of the main connection: 5 seconds. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 5000;

const COUNTED_ADD = new LuaScript(COUNTED_ADD_SCRIPT);

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
export class RedisBackend extends DelegatedGroups implements StreamBackend {
  readonly kind = "redis" as const;
  /** The client to Redis, standalone or cluster. */
  #conn: RedisConnection;
  /** The main connection with the command timeout: every command but blocking reads goes through it. */
  #timed: TimedCommands;
  #pool: BlockingReads;
  #reads: RedisReads;
  #admin: RedisAdmin;
  #groups: RedisGroups;
  #prefix: string;
  #windowMs: number;
  #state: BackendState = "reconnecting";
  #closing = false;
  #dedupeHits = 0;
  #lastError: string | undefined;
  #listeners = new Set<(state: BackendState) => void>();
  #health: RedisHealth;
  #adds: AddBatcher;
  #waitReplicas: number;
  #waitTimeoutMs: number;

  private constructor(options: RedisBackendOptions, seeds?: readonly string[]) {
    super();
    this.#prefix = options.prefix ?? "ampbus:";
    this.#windowMs = options.dedupeWindowMs ?? DEFAULT_DEDUPE_WINDOW_MS;
    this.#waitReplicas = checkCountOption("waitReplicas", options.waitReplicas) ?? 0;
    this.#waitTimeoutMs = checkMs("waitTimeoutMs", options.waitTimeoutMs) ?? DEFAULT_WAIT_TIMEOUT_MS;
    this.#conn = new RedisConnection({ url: options.url, connectTimeoutMs: options.connectTimeoutMs, seeds }, {
      error: (message, down) => {
        this.#lastError = message;
        if (down) this.#health.disconnected();
        this.#updateState();
      },
      down: () => {
        this.#health.disconnected();
        this.#updateState();
      },
      up: () => this.#health.connected(),
      topologyChanged: () => {
        (this.#pool as ClusterBlockingPool).retarget();
        const problem = this.#clusterProblem;
        if (problem !== undefined) this.#lastError = problem;
        this.#updateState();
      },
    });
    this.#timed = new TimedCommands(this.#conn.sender, {
      timeoutMs: checkMs("commandTimeoutMs", options.commandTimeoutMs) ?? DEFAULT_COMMAND_TIMEOUT_MS,
      onTimeout: (message) => this.#health.timedOut(message),
      onAnswer: () => this.#health.answered(),
    });
    this.#health = new RedisHealth({
      commands: this.#timed,
      where: this.#conn.where,
      allowEviction: options.allowEviction ?? false,
      onChange: (message) => {
        if (message !== undefined) this.#lastError = message;
        this.#updateState();
      },
    });
    this.#pool = this.#conn.blockingReads(options.maxBlockingConnections ?? 4);
    this.#reads = new RedisReads({
      commands: this.#timed,
      pool: this.#pool,
      key: (stream) => this.#key(stream),
      prefix: this.#prefix,
      cluster: this.#conn.cluster?.commands,
    });
    this.#adds = new AddBatcher({
      commands: this.#timed,
      windowMs: this.#windowMs,
      onDuplicate: () => this.#dedupeHits++,
      onTrimmed: (n) => this.#admin.countTrimmed(n),
      replicated: this.#waitReplicas > 0 ? (key) => this.#replicated(key) : undefined,
    });
    this.#admin = new RedisAdmin({ commands: this.#timed, key: (stream) => this.#key(stream) });
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
   * `noeviction` and `allowEviction` is not set. With `clusterNodes`, or
   * when `url` turns out to be a Redis Cluster node, it connects to the
   * cluster.
   */
  static async connect(options: RedisBackendOptions): Promise<RedisBackend> {
    const seeds = options.clusterNodes !== undefined && options.clusterNodes.length > 0 ? [...options.clusterNodes] : undefined;
    return await RedisBackend.#connectTo(options, seeds);
  }

  /** Connects to a standalone Redis (switching to the cluster when it is a cluster node) or, with `seeds`, to a cluster. */
  static async #connectTo(options: RedisBackendOptions, seeds: string[] | undefined): Promise<RedisBackend> {
    if (seeds !== undefined && options.url !== undefined && options.url !== "" && !seeds.includes(options.url)) seeds.push(options.url);
    const b = new RedisBackend(options, seeds);
    const timeoutMs = options.connectTimeoutMs ?? 2000;
    const outcome = await b.#conn.connect(timeoutMs);
    if (outcome === "ok" && b.#conn.ready) {
      if (seeds === undefined && (await clusterEnabled(b.#timed).catch(() => false))) {
        await b.close();
        return await RedisBackend.#connectTo(options, [options.url]);
      }
      return await b.#firstCheck();
    }
    await b.close();
    const what = seeds === undefined ? `Redis at ${b.#conn.where}` : b.#conn.where;
    throw unreachableError(what, { timeoutMs, outcome, lastError: b.#lastError });
  }

  /** The health check before the backend is handed out. */
  async #firstCheck(): Promise<RedisBackend> {
    const checked = await this.#health.check();
    if (checked === "ok") return this;
    await this.close();
    if (checked === "refused") throw this.#health.refusal!;
    throw new BackendUnavailableError(`Redis at ${this.#conn.where} did not answer its first health check: ${this.#lastError ?? "no answer"}`);
  }

  /** On a cluster: the masters and how many slots each serves. */
  get clusterNodes(): { address: string; slots: number }[] | undefined {
    return this.#conn.clusterNodes();
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
      let id: string;
      if (maxLen === undefined) id = await this.#timed.sendCommand<string>(["XADD", key, "*", ...entryFields(entry.headers, entry.msg)]);
      else {
        // The trim counted in the stream's meta hash, as the dedupe script does.
        const [added, trimmed] = (await COUNTED_ADD.run(this.#timed, { keys: [key, `${key}:meta`], args: [String(maxLen), ...entryFields(entry.headers, entry.msg)] })) as [string, number];
        id = String(added);
        if (trimmed > 0) this.#admin.countTrimmed(trimmed);
      }
      if (this.#waitReplicas > 0) await this.#replicated(key);
      return { entryId: id, duplicate: false };
    } catch (e) {
      throw toBackendError(e, `add to stream ${JSON.stringify(stream)}`);
    }
  }

  async read(cursors: readonly ReadCursor[], options?: ReadOptions): Promise<StreamBatch[]> {
    this.#checkOpen();
    return await this.#reads.read(cursors, options);
  }

  trim(stream: string, options: TrimOptions): Promise<number> {
    return this.#open(() => this.#admin.trim(stream, options)); // _redis_admin.ts: retention policy, counts
  }

  purge(stream: string): Promise<number> {
    return this.#open(() => this.#admin.purge(stream));
  }

  deleteStream(stream: string): Promise<boolean> {
    return this.#open(() => this.#admin.deleteStream(stream));
  }

  setRetention(stream: string, retention: Retention | undefined): Promise<void> {
    return this.#open(() => this.#admin.setRetention(stream, retention));
  }

  info(stream: string): Promise<StreamInfo> {
    return this.#open(() => this.#admin.withStats(stream, this.#info(stream)));
  }

  async #info(stream: string): Promise<StreamInfo> {
    this.#checkOpen();
    return await this.#reads.info(stream);
  }

  async streams(options: { limit?: number } = {}): Promise<string[]> {
    this.#checkOpen();
    return await this.#reads.streams(options.limit ?? 10_000);
  }

  override groupInfo(stream: string): Promise<GroupInfo[]> {
    return this.#open(() => this.#admin.withLag(stream, this.#groups.info(stream)));
  }

  protected groupCall<T>(call: (groups: BackendGroups) => Promise<T> | T): Promise<T> {
    return this.#open(() => Promise.resolve(call(this.#groups)));
  }

  backendInfo(): BackendInfo {
    const info: BackendInfo = {
      kind: "redis",
      state: this.#state,
      dedupeHits: this.#dedupeHits,
      reconnects: this.#conn.reconnects,
      removed: this.#admin.removed,
    };
    if (this.#lastError !== undefined) info.lastError = this.#lastError;
    const problem = this.#health.problem ?? (this.#clusterProblem === undefined ? undefined : "BACKEND_UNAVAILABLE");
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
    this.#conn.stopWatching();
    this.#timed.stop();
    this.#setState("closed");
    await this.#pool.close();
    await this.#conn.disconnect();
  }

  /** The Redis key of a stream: the name in a hash tag, so its dedupe keys share its cluster slot. */
  #key(stream: string): string {
    return `${this.#prefix}{${stream}}`;
  }

  /**
   * Waits until `waitReplicas` replicas have every write this connection
   * made to `key`'s node, or fails with `BackendTimeoutError` (the add is
   * stored on the master; a retry with the same opId is answered duplicate).
   */
  async #replicated(key: string): Promise<void> {
    const args = ["WAIT", String(this.#waitReplicas), String(this.#waitTimeoutMs)];
    let acked: number;
    try {
      acked = Number(this.#conn.cluster !== undefined
        ? await this.#conn.cluster.commands.sendTo<number>(key, args)
        : await this.#conn.client!.sendCommand<number>(args));
    } catch (e) {
      throw toBackendError(e, "wait for replicas");
    }
    if (acked < this.#waitReplicas) {
      throw new BackendTimeoutError(
        `the add is stored on the master but only ${acked} of ${this.#waitReplicas} replica(s) confirmed it within ` +
          `${this.#waitTimeoutMs} ms (--redis-wait): a failover now could lose it; retry with the same opId`,
      );
    }
  }

  /** On a cluster with a master down: what to report. */
  get #clusterProblem(): string | undefined {
    const down = this.#conn.cluster?.topology.unreachable;
    if (down === undefined || down.length === 0) return undefined;
    return `Redis Cluster master(s) ${down.join(", ")} not reachable: streams in their slots fail until they are back or a replica takes over`;
  }

  #open<T>(run: () => Promise<T>): Promise<T> {
    if (this.#closing) return Promise.reject(new BackendUnavailableError("Redis backend is closed"));
    return run();
  }

  #checkOpen(): void {
    if (this.#closing) throw new BackendUnavailableError("Redis backend is closed");
  }

  #updateState(): void {
    if (!this.#conn.connected) this.#setState(this.#conn.everReady ? "reconnecting" : this.#state);
    else if (this.#health.problem !== undefined || this.#clusterProblem !== undefined) this.#setState("degraded");
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

function checkCountOption(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0 || value > 64) {
    throw new RangeError(`${name} must be an integer from 0 to 64 (was ${value})`);
  }
  return value;
}
