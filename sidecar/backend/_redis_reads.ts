/**
 * The reads of `RedisBackend` that go to Redis as plain commands: `read()`
 * (an `XREAD`, per hash slot on a cluster and merged in cursor order; with
 * `block`, "$" resolved first and the wait on the shared `BlockingPool`),
 * a stream's length and ends, and the list of streams (a SCAN of every
 * master).
 *
 * @module
 */
import { checkRead, checkStream } from "../../sdk/backend/args.ts";
import type { ReadCursor, ReadOptions, StreamBatch, StreamInfo } from "../../sdk/backend/types.ts";
import type { BlockCursor, BlockingReads } from "./_redis_blocking.ts";
import { bySlot, mergeInOrder } from "./_redis_cluster.ts";
import type { ClusterCommands } from "./_redis_cluster.ts";
import { parseXRead, RETURN_BUFFERS, toBackendError } from "./_redis_reply.ts";
import type { CommandSender, RawReply } from "./_redis_reply.ts";
import { INFO_SCRIPT, LAST_ID_SCRIPT, LuaScript } from "./_redis_scripts.ts";

const INFO = new LuaScript(INFO_SCRIPT);
const LAST_ID = new LuaScript(LAST_ID_SCRIPT);

/** What `RedisReads` needs from its backend. */
export interface RedisReadsContext {
  /** The main connection, with the command timeout. */
  commands: CommandSender;
  pool: BlockingReads;
  /** The Redis key of a stream. */
  key: (stream: string) => string;
  /** Prefix of every key. */
  prefix: string;
  /** On a cluster: its routing (for the masters); undefined on a standalone Redis. */
  cluster: ClusterCommands | undefined;
}

/**
 * The plain reads of one `RedisBackend`.
 *
 * @example
 * ```ts
 * const reads = new RedisReads({ commands, pool, key: (s) => `ampbus:{${s}}`, prefix: "ampbus:", cluster: undefined });
 * const batches = await reads.read([{ stream: "tasks", after: "0" }], { count: 10 });
 * ```
 */
export class RedisReads {
  #c: RedisReadsContext;

  constructor(context: RedisReadsContext) {
    this.#c = context;
  }

  /** `read()` (see `StreamBackend`), once the backend is open. */
  async read(cursors: readonly ReadCursor[], options?: ReadOptions): Promise<StreamBatch[]> {
    const { count, block } = checkRead(cursors, options);
    try {
      if (block === undefined) {
        const concrete = cursors.filter((c) => c.after !== "$");
        if (concrete.length === 0) return [];
        return await this.#xread(concrete.map((c) => ({ stream: c.stream, key: this.#c.key(c.stream), after: c.after })), count);
      }
      // "$" becomes the last id now, so nothing added from here on is missed while re-arming.
      const resolved: BlockCursor[] = await Promise.all(cursors.map(async (c) => {
        const key = this.#c.key(c.stream);
        const after = c.after === "$" ? String(await LAST_ID.run(this.#c.commands, { keys: [key], args: [] })) : c.after;
        return { stream: c.stream, key, after };
      }));
      const now = await this.#xread(resolved, count);
      if (now.length > 0) return now;
      return await this.#c.pool.wait(resolved, { count, block, signal: options?.signal });
    } catch (e) {
      throw toBackendError(e, "read");
    }
  }

  /** Length and first/last entry id of `stream`, without the counts (`RedisAdmin.withStats` adds them). */
  async info(stream: string): Promise<StreamInfo> {
    checkStream(stream);
    try {
      const r = (await INFO.run(this.#c.commands, { keys: [this.#c.key(stream)], args: [] })) as [number, string?, string?];
      if (r[0] === 0) return { stream, length: 0, firstEntryId: null, lastEntryId: null };
      return { stream, length: r[0], firstEntryId: String(r[1]), lastEntryId: String(r[2]) };
    } catch (e) {
      throw toBackendError(e, `info of stream ${JSON.stringify(stream)}`);
    }
  }

  /** The names of at most `limit` streams, sorted: a SCAN of every master. */
  async streams(limit: number): Promise<string[]> {
    // Stream keys are <prefix>{<stream>}; dedupe keys <prefix>{<stream>}:op:<opId> do not end in "}".
    const match = `${this.#c.prefix.replace(/[*?[\]\\]/g, "\\$&")}{*}`;
    const names = new Set<string>();
    // On a cluster each master scans its own keys.
    const nodes: CommandSender[] = this.#c.cluster === undefined ? [this.#c.commands] : await this.#c.cluster.masters();
    try {
      for (const node of nodes) {
        let cursor = "0";
        do {
          const [next, keys] = await node.sendCommand<[string, string[]]>(["SCAN", cursor, "MATCH", match, "COUNT", "1000", "TYPE", "stream"]);
          cursor = next;
          for (const k of keys) if (k.endsWith("}")) names.add(k.slice(this.#c.prefix.length + 1, -1));
        } while (cursor !== "0" && names.size < limit);
      }
    } catch (e) {
      throw toBackendError(e, "list streams");
    }
    return [...names].sort().slice(0, limit);
  }

  async #xread(cursors: readonly BlockCursor[], count: number): Promise<StreamBatch[]> {
    if (this.#c.cluster !== undefined && cursors.length > 1) {
      // One XREAD may only name keys of one slot: one per slot, in parallel, merged in cursor order.
      const groups = bySlot(cursors);
      if (groups.size > 1) {
        const parts = await Promise.all([...groups.values()].map((g) => this.#xreadOne(g, count)));
        return mergeInOrder(cursors, parts);
      }
    }
    return await this.#xreadOne(cursors, count);
  }

  async #xreadOne(cursors: readonly BlockCursor[], count: number): Promise<StreamBatch[]> {
    const args = ["XREAD", "COUNT", String(count), "STREAMS"];
    for (const c of cursors) args.push(c.key);
    for (const c of cursors) args.push(c.after);
    const reply = await this.#c.commands.sendCommand<RawReply>(args, RETURN_BUFFERS);
    const byKey = parseXRead(reply);
    const out: StreamBatch[] = [];
    for (const c of cursors) {
      const entries = byKey.get(c.key);
      if (entries !== undefined && entries.length > 0) out.push({ stream: c.stream, entries });
    }
    return out;
  }
}
