/**
 * Consumer groups of `RedisBackend`: Redis stream groups on the stream's own
 * key. Everything runs on the main connection and never blocks there: a
 * blocking `readGroup` runs a non-blocking `XREADGROUP` (when that finds
 * nothing, a script that reads again and else answers the group's
 * position), then waits on the
 * shared `BlockingPool` (multiplexed `XREAD BLOCK`) for any entry after that
 * position, and tries again. So any number of consumers, of any groups,
 * block on at most `maxBlockingConnections` connections, an abort only ends
 * an `XREAD` (no entry is ever handed to a read nobody waits for), and a
 * read blocked across a Redis restart re-arms like `read()` does.
 *
 * @module
 */
import { ErrorReply } from "redis";
import {
  checkClaim,
  checkConsumerRef,
  checkGroupIds,
  checkGroupRef,
  checkGroupStart,
  checkPending,
  checkReadGroup,
  checkStream,
  nackIdleMs,
} from "../../sdk/backend/args.ts";
import { BackendUnavailableError } from "../../sdk/backend/types.ts";
import type {
  ClaimOptions,
  ConsumerRef,
  ConsumerInfo,
  CreateGroupOptions,
  CreateGroupResult,
  GroupEntry,
  GroupInfo,
  GroupRef,
  NackOptions,
  PendingInfo,
  PendingOptions,
  ReadGroupOptions,
} from "../../sdk/backend/types.ts";
import type { BlockingReads } from "./_redis_blocking.ts";
import { isNoGroup, parseGroupEntry, RETURN_BUFFERS, toBackendError } from "./_redis_reply.ts";
import type { CommandSender, RawReply } from "./_redis_reply.ts";
import { CLAIM_SCRIPT, LuaScript, READ_GROUP_SCRIPT, TOUCH_SCRIPT } from "./_redis_scripts.ts";

const READ_GROUP = new LuaScript(READ_GROUP_SCRIPT);
const TOUCH = new LuaScript(TOUCH_SCRIPT);
const CLAIM = new LuaScript(CLAIM_SCRIPT);

/** Entry ids per command (XACK, the touch script): keeps each command short. */
const ID_CHUNK = 1000;

/** What `RedisGroups` needs from its backend. */
export interface RedisGroupsContext {
  /** The main connection, with the command timeout. */
  client: CommandSender;
  pool: BlockingReads;
  /** The Redis key of a stream. */
  key: (stream: string) => string;
  claimTimeoutMs: number;
  /** True once the backend is closing. */
  closed: () => boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The consumer-group methods of `RedisBackend` (see `StreamBackend` for
 * their semantics).
 *
 * @example
 * ```ts
 * const groups = new RedisGroups({ client, pool, key: (s) => `ampbus:{${s}}`, claimTimeoutMs: 30_000, closed: () => false });
 * await groups.create("tasks", "workers");
 * const entries = await groups.read("tasks", "workers", "w1", { block: 5000 });
 * ```
 */
export class RedisGroups {
  #c: RedisGroupsContext;

  constructor(context: RedisGroupsContext) {
    this.#c = context;
  }

  async create(ref: GroupRef, options?: CreateGroupOptions): Promise<CreateGroupResult> {
    const { stream, group } = ref;
    checkGroupRef(ref);
    const from = checkGroupStart(options?.from);
    try {
      return { created: await this.#create(this.#c.key(stream), { group, from }) };
    } catch (e) {
      throw toBackendError(e, `create group ${JSON.stringify(group)} on stream ${JSON.stringify(stream)}`);
    }
  }

  async read(ref: ConsumerRef, options?: ReadGroupOptions): Promise<GroupEntry[]> {
    const { stream, group, consumer } = ref;
    const checked = checkReadGroup(ref, options);
    const { block, signal, deadline } = checked;
    const count = String(checked.count);
    const key = this.#c.key(stream);
    let reached = false;
    let recreated = false;
    for (;;) {
      if (signal?.aborted || this.#c.closed()) return [];
      try {
        // The common case, entries waiting, is a plain XREADGROUP: the script below costs Redis
        // ~3.5x as much for a full batch (every entry converted to Lua and back).
        const got = await this.#c.client.sendCommand<RawReply>(
          ["XREADGROUP", "GROUP", group, consumer, "COUNT", count, "STREAMS", key, ">"],
          RETURN_BUFFERS,
        );
        const entries = Array.isArray(got) ? ((got[0] as RawReply[] | undefined)?.[1] as RawReply[] | undefined) : undefined;
        if (entries !== undefined && entries.length > 0) {
          reached = true;
          recreated = false;
          return entries.map((raw) => parseGroupEntry(raw, 1));
        }
        // Nothing new: read again and, still nothing, take the group's position, atomically.
        const r = (await READ_GROUP.run(this.#c.client, { keys: [key], args: [group, consumer, count], options: RETURN_BUFFERS })) as [
          number,
          RawReply,
        ];
        reached = true;
        recreated = false;
        if (r[0] === 1) return (r[1] as RawReply[]).map((raw) => parseGroupEntry(raw, 1));
        if (block === undefined) return [];
        const left = deadline - Date.now();
        if (left <= 0) return [];
        await this.#c.pool.wait([{ stream, key, after: String(r[1]) }], { count: 1, block: left, signal });
      } catch (e) {
        if (isNoGroup(e) && !recreated) {
          // The group is gone: never created, or lost with Redis's data. From "0": after a
          // restart the stream restarted too, and everything in it is new to this group.
          recreated = true;
          try {
            await this.#create(key, { group, from: "0" });
            continue;
          } catch (e2) {
            e = e2;
          }
        }
        const err = toBackendError(e, `read group ${JSON.stringify(group)} of stream ${JSON.stringify(stream)}`);
        // Once blocked, an outage is waited out until the deadline, as read() does.
        if (!reached || block === undefined || !(err instanceof BackendUnavailableError)) throw err;
        const left = deadline - Date.now();
        if (left <= 0) return [];
        await sleep(Math.min(50, left));
      }
    }
  }

  async ack(ref: GroupRef, entryIds: readonly string[]): Promise<number> {
    const { stream, group } = ref;
    const ids = checkGroupIds(ref, entryIds);
    const key = this.#c.key(stream);
    try {
      let n = 0;
      for (let i = 0; i < ids.length; i += ID_CHUNK) {
        n += await this.#c.client.sendCommand<number>(["XACK", key, group, ...ids.slice(i, i + ID_CHUNK)]);
      }
      return n;
    } catch (e) {
      throw toBackendError(e, `ack in group ${JSON.stringify(group)} of stream ${JSON.stringify(stream)}`);
    }
  }

  async nack(ref: ConsumerRef, options: NackOptions): Promise<number> {
    const idleMs = nackIdleMs(options, this.#c.claimTimeoutMs);
    return await this.#touch(ref, { entryIds: options.entryIds, idleMs, what: "nack" });
  }

  extend(ref: ConsumerRef, entryIds: readonly string[]): Promise<number> {
    return this.#touch(ref, { entryIds, idleMs: 0, what: "extend" });
  }

  async claim(ref: ConsumerRef, options?: ClaimOptions): Promise<GroupEntry[]> {
    const { stream, group, consumer } = ref;
    const { minIdleMs, count } = checkClaim(ref, { options, claimTimeoutMs: this.#c.claimTimeoutMs });
    const minIdle = String(minIdleMs);
    const key = this.#c.key(stream);
    const out: GroupEntry[] = [];
    let cursor = "0-0";
    try {
      // XAUTOCLAIM scans at most 10 x COUNT PEL slots per call: follow its cursor to the end.
      do {
        const args = [group, consumer, minIdle, cursor, String(count - out.length)];
        const r = (await CLAIM.run(this.#c.client, { keys: [key], args, options: RETURN_BUFFERS })) as [Buffer, RawReply[], number[]];
        r[1].forEach((raw, i) => out.push(parseGroupEntry(raw, r[2][i]!)));
        cursor = r[0].toString("latin1");
      } while (cursor !== "0-0" && out.length < count);
      return out;
    } catch (e) {
      if (isNoGroup(e)) return out;
      throw toBackendError(e, `claim in group ${JSON.stringify(group)} of stream ${JSON.stringify(stream)}`);
    }
  }

  async pending(ref: GroupRef, options?: PendingOptions): Promise<PendingInfo[]> {
    const { stream, group } = ref;
    const { consumer, minIdleMs: minIdle, count } = checkPending(ref, options);
    const args = ["XPENDING", this.#c.key(stream), group];
    if (minIdle > 0) args.push("IDLE", String(minIdle));
    args.push("-", "+", String(count));
    if (consumer !== undefined) args.push(consumer);
    try {
      const rows = await this.#c.client.sendCommand<[string, string, number, number][]>(args);
      return rows.map((r) => ({ entryId: r[0], consumer: r[1], idleMs: Number(r[2]), deliveries: Number(r[3]) }));
    } catch (e) {
      if (isNoGroup(e)) return [];
      throw toBackendError(e, `pending of group ${JSON.stringify(group)} of stream ${JSON.stringify(stream)}`);
    }
  }

  async info(stream: string): Promise<GroupInfo[]> {
    checkStream(stream);
    const key = this.#c.key(stream);
    try {
      let groups: RawReply[][];
      try {
        groups = await this.#c.client.sendCommand<RawReply[][]>(["XINFO", "GROUPS", key]);
      } catch (e) {
        if (e instanceof ErrorReply && /no such key/i.test(e.message)) return [];
        throw e;
      }
      const out = await Promise.all(groups.map(async (raw) => {
        const g = fieldMap(raw);
        const name = String(g.get("name"));
        let consumers: ConsumerInfo[] = [];
        try {
          const rows = await this.#c.client.sendCommand<RawReply[][]>(["XINFO", "CONSUMERS", key, name]);
          consumers = rows.map((row) => {
            const c = fieldMap(row);
            return { name: String(c.get("name")), pending: Number(c.get("pending")), idleMs: Number(c.get("idle")) };
          });
        } catch (e) {
          if (!isNoGroup(e)) throw e; // destroyed meanwhile: no consumers
        }
        return {
          name,
          consumers,
          pending: Number(g.get("pending")),
          lastDeliveredId: String(g.get("last-delivered-id")),
        };
      }));
      return out;
    } catch (e) {
      throw toBackendError(e, `group info of stream ${JSON.stringify(stream)}`);
    }
  }

  async deleteConsumer(ref: ConsumerRef): Promise<number> {
    const { stream, group, consumer } = ref;
    checkConsumerRef(ref);
    try {
      return await this.#c.client.sendCommand<number>(["XGROUP", "DELCONSUMER", this.#c.key(stream), group, consumer]);
    } catch (e) {
      if (isNoGroup(e)) return 0;
      throw toBackendError(e, `delete consumer ${JSON.stringify(consumer)} of group ${JSON.stringify(group)}`);
    }
  }

  /** XGROUP CREATE ... MKSTREAM; false when the group existed. */
  async #create(key: string, start: { group: string; from: string }): Promise<boolean> {
    const { group, from } = start;
    try {
      await this.#c.client.sendCommand(["XGROUP", "CREATE", key, group, from, "MKSTREAM"]);
      return true;
    } catch (e) {
      if (e instanceof ErrorReply && e.message.startsWith("BUSYGROUP")) return false;
      throw e;
    }
  }

  async #touch(ref: ConsumerRef, t: { entryIds: readonly string[]; idleMs: number; what: string }): Promise<number> {
    const { stream, group, consumer } = ref;
    checkConsumerRef(ref);
    const ids = checkGroupIds(ref, t.entryIds);
    const key = this.#c.key(stream);
    try {
      let n = 0;
      for (let i = 0; i < ids.length; i += ID_CHUNK) {
        const args = [group, consumer, String(t.idleMs), ...ids.slice(i, i + ID_CHUNK)];
        n += Number(await TOUCH.run(this.#c.client, { keys: [key], args }));
      }
      return n;
    } catch (e) {
      if (isNoGroup(e)) return 0;
      throw toBackendError(e, `${t.what} in group ${JSON.stringify(group)} of stream ${JSON.stringify(stream)}`);
    }
  }
}

/** A flat `[name, value, ...]` reply (XINFO in RESP2) as a Map. */
function fieldMap(raw: RawReply[]): Map<string, RawReply> {
  const m = new Map<string, RawReply>();
  for (let i = 0; i + 1 < raw.length; i += 2) m.set(String(raw[i]), raw[i + 1]!);
  return m;
}
