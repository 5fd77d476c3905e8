/**
 * The Lua scripts of `RedisBackend`, run with EVALSHA and, when the server
 * has not cached them yet (first use, or after a restart), EVAL.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { isNoScript } from "./_redis_reply.ts";
import type { RawReply, RedisClient } from "./_redis_reply.ts";

/**
 * Idempotent add. KEYS[1] stream key, KEYS[2] dedupe key; ARGV[1] dedupe
 * window in ms, ARGV[2] maxLen or "" for none, ARGV[3..] the XADD fields.
 * Returns `{entryId, 1}` when the opId was already stored, else `{entryId, 0}`.
 * Atomic: two sidecars racing on one opId store it once.
 */
export const ADD_SCRIPT = `
local first = redis.call('GET', KEYS[2])
if first then return {first, 1} end
local id
if ARGV[2] == '' then
  id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
else
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
end
redis.call('SET', KEYS[2], id, 'PX', ARGV[1])
return {id, 0}
`;

/** Length, first and last entry id of KEYS[1], without sending any message bytes back. */
export const INFO_SCRIPT = `
local n = redis.call('XLEN', KEYS[1])
if n == 0 then return {0} end
local f = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
local l = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
return {n, f[1][1], l[1][1]}
`;

/** Id of the last entry of KEYS[1], or "0-0": what "$" means at the time of the call. */
export const LAST_ID_SCRIPT = `
local l = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if l[1] then return l[1][1] end
return '0-0'
`;

/** A Lua script and its SHA1, run by EVALSHA with an EVAL fallback. */
export class LuaScript {
  readonly source: string;
  readonly sha: string;

  constructor(source: string) {
    this.source = source;
    this.sha = createHash("sha1").update(source).digest("hex");
  }

  /**
   * Runs the script.
   *
   * @example
   * ```ts
   * const last = await new LuaScript(LAST_ID_SCRIPT).run(client, ["ampbus:{tasks}"], []);
   * ```
   */
  async run(client: RedisClient, keys: readonly string[], args: readonly (string | Buffer)[]): Promise<RawReply> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await client.sendCommand<RawReply>(["EVALSHA", this.sha, ...tail]);
    } catch (e) {
      if (!isNoScript(e)) throw e;
      return await client.sendCommand<RawReply>(["EVAL", this.source, ...tail]);
    }
  }
}
